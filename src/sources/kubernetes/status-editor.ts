// Who last set a claim's binding in the apiserver. A claim's status is the
// record of which member it holds, and berth is its only rightful writer: a
// change another manager made (`kubectl patch --subresource=status`, a
// script) is not a binding, and berth writes its record back. A change under
// berth's own manager name that berth did not make here is another replica's
// (an old leader's late write), which the binder adopts. managedFields tell
// the two apart: the apiserver gives each changed status field to the manager
// of the request that changed it.
import type { KubeObject } from './list-watch.js';

/** The field manager of every status write berth makes. */
export const FIELD_MANAGER = 'berth';

/** A claim's status fields that make its binding. */
const BINDING_FIELDS = ['f:phase', 'f:instance', 'f:containerId'];

interface ManagedFieldsEntry {
  manager?: unknown;
  subresource?: unknown;
  fieldsV1?: { 'f:status'?: Record<string, unknown> };
}

/** The manager other than berth that owns a binding field of the claim's status, if any. */
export function bindingEditedBy(obj: KubeObject): string | undefined {
  const entries = (obj.metadata as { managedFields?: unknown }).managedFields;
  if (!Array.isArray(entries)) return undefined;
  for (const e of entries as ManagedFieldsEntry[]) {
    if (e.subresource !== 'status' || e.manager === FIELD_MANAGER) continue;
    const status = e.fieldsV1?.['f:status'];
    if (status && BINDING_FIELDS.some((f) => f in status)) return typeof e.manager === 'string' && e.manager ? e.manager : 'an unnamed manager';
  }
  return undefined;
}
