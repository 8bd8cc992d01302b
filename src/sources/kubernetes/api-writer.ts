// Writes through berth's HTTP API under `--source kubernetes` go to the
// apiserver as real custom resources (what kubectl would create), not into the
// controller's own store: the informer brings them back like any other
// change, so `kubectl get` shows what `berth apply` and `berth claim` made,
// and every replica (and the next leader) sees them. Before, they lived only
// inside the controller that took the request (issue 14, item 7).
import { ApiException, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { API_VERSION, GROUP, KINDS, VERSION, type ResourceKey } from '../../spec/schema.js';
import { callOptions, MERGE_PATCH } from './kube-api.js';
import type { KubeObject } from './list-watch.js';
import { ANNOTATION_REQUESTED_AT } from '../../reconcile/claim/requested-at.js';
import { ApiServerRefusal } from './api-server-refusal.js';

export interface ResourceWriter {
  /** Creates the object, or updates spec, labels and annotations of an existing one (as `kubectl apply` would). */
  apply(body: Record<string, unknown>, key: ResourceKey): Promise<{ object: KubeObject; change: 'created' | 'configured' | 'unchanged' }>;
  /** false when there was nothing to delete. */
  delete(key: ResourceKey): Promise<boolean>;
}

export class KubernetesResourceWriter implements ResourceWriter {
  private readonly api: CustomObjectsApi;

  constructor(kc: KubeConfig) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  async apply(body: Record<string, unknown>, key: ResourceKey): Promise<{ object: KubeObject; change: 'created' | 'configured' | 'unchanged' }> {
    const at = { group: GROUP, version: VERSION, plural: KINDS[key.kind].plural, namespace: key.namespace };
    const metadata = (body['metadata'] ?? {}) as Record<string, unknown>;
    // A claim's creationTimestamp has whole seconds: the request's time to the ms goes along (waitDurationMs).
    const annotations = key.kind === 'InstanceClaim' ? { ...((metadata['annotations'] as Record<string, string> | undefined) ?? {}), [ANNOTATION_REQUESTED_AT]: String(Date.now()) } : metadata['annotations'];
    const sent: Record<string, unknown> = { ...body, apiVersion: API_VERSION, kind: key.kind, metadata: { ...metadata, ...(annotations ? { annotations } : {}), namespace: key.namespace, name: key.name } };
    delete sent['status'];
    try {
      return { object: (await this.api.createNamespacedCustomObject({ ...at, body: sent })) as KubeObject, change: 'created' };
    } catch (e) {
      if (!(e instanceof ApiException) || e.code !== 409) throw wrap(e, `create ${key.kind} ${key.namespace}/${key.name}`);
    }
    const patch: Record<string, unknown> = { spec: sent['spec'] ?? {}, metadata: {} };
    for (const field of ['labels', 'annotations'] as const) if (metadata[field] !== undefined) (patch['metadata'] as Record<string, unknown>)[field] = metadata[field];
    const before = (await this.api.getNamespacedCustomObject({ ...at, name: key.name })) as KubeObject;
    const after = (await this.api
      .patchNamespacedCustomObject({ ...at, name: key.name, body: patch }, callOptions({ contentType: MERGE_PATCH }))
      .catch((e: unknown) => Promise.reject(wrap(e, `update ${key.kind} ${key.namespace}/${key.name}`)))) as KubeObject;
    return { object: after, change: after.metadata.generation === before.metadata.generation ? 'unchanged' : 'configured' };
  }

  async delete(key: ResourceKey): Promise<boolean> {
    try {
      await this.api.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: KINDS[key.kind].plural, namespace: key.namespace, name: key.name });
      return true;
    } catch (e) {
      if (e instanceof ApiException && e.code === 404) return false;
      throw wrap(e, `delete ${key.kind} ${key.namespace}/${key.name}`);
    }
  }
}

function wrap(e: unknown, what: string): Error {
  if (e instanceof ApiException) {
    let message = `the apiserver refused to ${what} (${e.code})`;
    try {
      const status = JSON.parse(String(e.body)) as { message?: string };
      if (status.message) message = `${message}: ${status.message}`;
    } catch {
      // not a Status body
    }
    return new ApiServerRefusal(e.code, message, { cause: e });
  }
  return new Error(`${what}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}
