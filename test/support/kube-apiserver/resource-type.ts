// What the test API server knows about one served resource (one group/version/plural).
import type { FieldError } from './errors.js';
import type { JsonObject } from './json.js';
import type { MergeKeys } from './patch.js';
import type { TableConvertor } from './table.js';

export type Operation = 'create' | 'update';

export interface AdmitResult {
  /** Field paths dropped by structural pruning (for fieldValidation). */
  pruned: string[];
}

export interface ResourceType {
  group: string;
  version: string;
  /** Plural, as in the URL. */
  resource: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Storage shared by every version (and by core/v1 and events.k8s.io/v1 events). */
  storeKey: string;
  /** Subresources served: 'status', 'log', 'exec', 'finalize'. */
  subresources: string[];
  /** Status only through /status; main-resource writes keep the old status. */
  statusSubresource: boolean;
  /** A custom resource: apiVersion and kind required in bodies, no strategic merge patch. */
  custom: boolean;
  allowCreateOnUpdate: boolean;
  /** metadata.generation is maintained. */
  hasGeneration: boolean;
  /** Set when strategic merge patch is accepted. */
  mergeKeys?: MergeKeys;
  /** Field selector labels served (besides metadata.name / metadata.namespace). */
  fieldLabels: readonly string[];
  fieldsOf(stored: JsonObject): Record<string, string>;
  /** Stored form -> this version (apiVersion/kind are added by the server). */
  toExternal?(stored: JsonObject): JsonObject;
  /** Request body in this version (apiVersion/kind stripped) -> stored form; may throw 400. */
  toInternal?(external: JsonObject): JsonObject;
  /** Pruning and defaulting on the external form, with apiVersion/kind present. */
  admit?(external: JsonObject): AdmitResult;
  /** Server-side defaults and status reset on create (stored form). */
  prepareForCreate?(obj: JsonObject): void;
  validate?(obj: JsonObject, old: JsonObject | undefined, requestVersion: string): FieldError[];
  /** Extra update rules beyond the generic metadata ones (e.g. pod spec immutability). */
  validateUpdate?(obj: JsonObject, old: JsonObject): FieldError[];
  /** Seconds of graceful deletion for this object, 0 for immediate (pods only). */
  gracePeriod?(obj: JsonObject, requested: number | undefined): number;
  /** Server-side printing (Accept: ...;as=Table;g=meta.k8s.io); absent: the default convertor (Name, Created At). */
  table?: TableConvertor;
  /** A custom resource version's openAPIV3Schema, published under /openapi/v3. */
  openAPISchema?: JsonObject;
}

export const gv = (rt: Pick<ResourceType, 'group' | 'version'>): string => (rt.group ? `${rt.group}/${rt.version}` : rt.version);

export const STANDARD_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
