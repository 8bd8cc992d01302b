// Kubernetes custom resources (instances, instancepools, instanceclaims of
// berth.dev/v1alpha1) as a source of desired state, and the way back: status
// through the status subresource, Events, and a finalizer so that deleting a
// resource removes its containers (or Pods) before the resource disappears.
//
// Per object, level-based (the informers may deliver an object again at any
// time; every step below is idempotent):
// 1. Being deleted (deletionTimestamp): drop it from the store, so the
//    controller prunes its containers; the Manager's onPruned says when they are
//    gone, and the finalizer is removed then.
// 2. Our finalizer missing: add it (merge patch with a resourceVersion precondition).
// 3. Predicate: only a change of generation, spec, labels or annotations goes
//    on; status-only updates (our own writes included) stop here.
// 4. Validate with the kind's schema and the controller policy. Invalid: a
//    Warning Event and an InvalidSpec condition with the field path; the last
//    valid spec (if any) stays in the store, so a bad edit never kills a
//    running container; other resources are not affected.
// 5. Apply to the store with origin kubernetes; the controller does the rest.
//
// Status: every status the controller writes to the store for one of our
// resources is written to the API server (StatusWriter). A claim's status is
// the record of its binding, so every write of it carries a resourceVersion
// precondition: the version berth last saw of that claim (when it first saw
// it, or in the answer to its own last write or read), never a newer one the
// informer brought without berth acting on it. A bind is written at once
// (writeClaimStatus) and reported only when the apiserver took it; any 409 is
// followed by a read, and the binder (onClaimConflict) takes over a binding
// or outcome another berth writer, such as an old leader, left there. Every
// status write carries the field manager `berth`: a claim's binding changed
// by any other manager (a user's `kubectl patch --subresource=status`) is not
// a binding, and berth writes its record back over it (status-editor.ts). The store counts its
// own generations (it bumps on each spec change it sees); observedGeneration is
// translated back to the object's metadata.generation, so it matches what
// `kubectl` shows even when the watch collapsed several edits into one.
import { isDeepStrictEqual } from 'node:util';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { EventRecorder } from '../../controller/event-recorder.js';
import { OwnershipConflict, type ResourceStore } from '../../controller/resource-store.js';
import type { StoredClaim } from '../../state/claim-state.js';
import type { ClaimWriteOutcome, ServerClaimStatus } from '../../reconcile/claim/server-binding.js';
import { validateResource } from '../../spec/load.js';
import { DEFAULT_POLICY, type ControllerPolicy } from '../../spec/policy.js';
import { GROUP, KIND_NAMES, KINDS, keyString, VERSION, type Kind, type ResourceKey } from '../../spec/schema.js';
import { setCondition, type Condition } from '../../spec/status.js';
import { EventSink } from './event-sink.js';
import { Informer, type InformerStats } from './informer.js';
import { Backoff, callOptions, isKubeError, isRefusal, kubeError, MERGE_PATCH, sleep } from './kube-api.js';
import { customResourceListWatch, type KubeObject, type ListWatch } from './list-watch.js';
import { StatusWriter } from './status-writer.js';
import { mergePatchBetween } from './merge-patch.js';
import { bindingEditedBy, FIELD_MANAGER } from './status-editor.js';

export const FINALIZER = 'berth.dev/cleanup';
/** Reads of one claim racing berth's own writes of it before a read gives up (read()). */
const MAX_CLAIM_READS = 5;
const ORIGIN = { source: 'kubernetes' } as const;

type Logger = { debug(o: object, msg?: string): void; info(o: object, msg?: string): void; warn(o: object, msg?: string): void };

export interface CustomResourceSourceOptions {
  kubeConfig: KubeConfig;
  store: ResourceStore;
  recorder: EventRecorder;
  /** Wakes the controller for a key (Manager.enqueue): a deleted resource with nothing in the store. */
  enqueue(key: ResourceKey): void;
  /** Watch one namespace; undefined: all namespaces. */
  namespace?: string | undefined;
  policy?: ControllerPolicy;
  logger?: Logger;
  /** Mirror events to Kubernetes Events (default true). */
  events?: boolean;
  /** This replica, as Events' reportingInstance. */
  identity?: string;
  informer?: { stallTimeoutMs?: number; watchTimeoutSeconds?: () => number; backoff?: { initialMs: number; maxMs: number } };
  statusCoalesceMs?: number;
  /** Every object of the caches is looked at again this often (a level-based safety net; default 5 min). */
  resyncMs?: number;
  /** Tests: replaces the list/watch of a kind. */
  listWatch?: (kind: Kind) => ListWatch<KubeObject>;
  /**
   * A claim's status write met 409: the claim's status as the apiserver holds
   * it now (the binder reconciles its record), and who set its binding if not berth.
   */
  onClaimConflict?(key: ResourceKey, status: ServerClaimStatus | undefined, editedBy: string | undefined): void;
}

/** A claim as berth last saw it: the version its writes are conditional on, and the status at that version. */
interface SeenClaim {
  resourceVersion: string | undefined;
  status: object | undefined;
}

interface ObjectState {
  /** Store generation -> the object's metadata.generation it was applied from. */
  generations: Map<number, number>;
  invalid?: { generation: number; message: string };
  /** What was last reported as a Warning, so a repeat is not an event storm. */
  warned?: string;
}

export class CustomResourceSource {
  private readonly api: CustomObjectsApi;
  private readonly informers = new Map<Kind, Informer<KubeObject>>();
  private readonly objects = new Map<string, ObjectState>();
  private readonly finalizerOps = new Map<string, Promise<void>>();
  private readonly pendingOps = new Set<string>();
  private readonly seenClaims = new Map<string, SeenClaim>();
  /** Each claim's status writes the apiserver took: a read that spans one may answer from before it (read()). */
  private readonly claimWrites = new Map<string, number>();
  private readonly abort = new AbortController();
  private unsubscribe: (() => void) | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  readonly status: StatusWriter<ResourceKey>;
  readonly events: EventSink | undefined;

  constructor(private readonly o: CustomResourceSourceOptions) {
    this.api = o.kubeConfig.makeApiClient(CustomObjectsApi);
    for (const kind of KIND_NAMES) {
      const listWatch = o.listWatch?.(kind) ?? customResourceListWatch<KubeObject>(o.kubeConfig, { group: GROUP, version: VERSION, plural: KINDS[kind].plural, namespace: o.namespace });
      this.informers.set(
        kind,
        new Informer<KubeObject>({
          listWatch,
          handlers: {
            onAdd: (obj) => this.upsert(kind, obj, undefined),
            onUpdate: (old, obj) => this.upsert(kind, obj, old),
            onDelete: (obj) => this.removed(kind, obj),
          },
          ...(o.informer?.stallTimeoutMs !== undefined ? { stallTimeoutMs: o.informer.stallTimeoutMs } : {}),
          ...(o.informer?.watchTimeoutSeconds ? { watchTimeoutSeconds: o.informer.watchTimeoutSeconds } : {}),
          ...(o.informer?.backoff ? { backoff: o.informer.backoff } : {}),
          ...(o.logger ? { logger: o.logger } : {}),
        }),
      );
    }
    this.status = new StatusWriter<ResourceKey>({
      id: keyString,
      desired: (key) => this.desiredStatus(key),
      observed: (key) => (this.seenClaims.get(keyString(key)) ?? { status: this.object(key)?.['status'] as object | undefined }).status,
      patch: (key, patch, signal) => this.patchStatus(key, patch, signal),
      read: (key, signal) => this.read(key, signal),
      onConflict: (key, fresh) => {
        if (key.kind === 'InstanceClaim') this.o.onClaimConflict?.(key, fresh['status'] as ServerClaimStatus | undefined, bindingEditedBy(fresh as KubeObject));
      },
      ...(o.statusCoalesceMs !== undefined ? { coalesceMs: o.statusCoalesceMs } : {}),
      ...(o.logger ? { logger: o.logger } : {}),
    });
    this.events =
      o.events === false
        ? undefined
        : new EventSink({
            kubeConfig: o.kubeConfig,
            recorder: o.recorder,
            lookup: (kind, namespace, name) => {
              const obj = this.object({ kind, namespace, name });
              return obj?.metadata.uid ? { uid: obj.metadata.uid, ...(obj.metadata.resourceVersion ? { resourceVersion: obj.metadata.resourceVersion } : {}) } : undefined;
            },
            ...(o.identity ? { instance: o.identity } : {}),
            ...(o.logger ? { logger: o.logger } : {}),
          });
  }

  /** Starts the informers; resolves once every kind is listed into the store (start the Manager after this). */
  async start(): Promise<void> {
    this.unsubscribe = this.o.store.subscribe((e) => {
      if (e.specChanged || e.type === 'DELETED') return;
      if (this.o.store.get(e.key)?.origin.source === 'kubernetes') this.status.request(e.key);
    });
    this.events?.start();
    await Promise.all([...this.informers.values()].map((i) => i.start(this.abort.signal)));
    this.scheduleResync();
  }

  /** Stops at once: no more watches, status writes, finalizer patches or events. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    this.abort.abort(new Error('source stopped'));
    this.status.stop();
    this.events?.stop();
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }

  get hasSynced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced);
  }

  informerStats(): Record<Kind, InformerStats> {
    return Object.fromEntries([...this.informers].map(([k, i]) => [k, { ...i.stats }])) as Record<Kind, InformerStats>;
  }

  /**
   * Every claim as the apiserver holds it, those being deleted included: the
   * record of which member each claim holds, for a new leader to rebuild its
   * bindings from before it binds anything.
   */
  storedClaims(): StoredClaim[] {
    return (this.informers.get('InstanceClaim')?.list() ?? []).flatMap((obj): StoredClaim[] => {
      const pool = (obj['spec'] as { poolRef?: { name?: unknown } } | undefined)?.poolRef?.name;
      if (typeof pool !== 'string') return [];
      const namespace = obj.metadata.namespace ?? '';
      const editedBy = obj['status'] ? bindingEditedBy(obj) : undefined;
      return [
        {
          id: keyString({ kind: 'InstanceClaim', namespace, name: obj.metadata.name }),
          pool: keyString({ kind: 'InstancePool', namespace, name: pool }),
          createdAt: Date.parse(String(obj.metadata.creationTimestamp ?? '')) || Date.now(),
          ...(obj['status'] ? { status: obj['status'] as StoredClaim['status'] } : {}),
          ...(editedBy !== undefined ? { editedBy } : {}),
        },
      ];
    });
  }

  /** The object as the informer last saw it. */
  object(key: ResourceKey): KubeObject | undefined {
    return this.informers.get(key.kind)?.get(key.namespace, key.name);
  }

  /**
   * ManagerOptions.onPruned: the key's containers are gone (or pruning is off).
   * A resource being deleted loses our finalizer now, and disappears.
   */
  onPruned(key: ResourceKey): void {
    const obj = this.object(key);
    if (!obj?.metadata.deletionTimestamp || !hasFinalizer(obj)) return;
    if (this.o.store.get(key)?.origin.source === 'kubernetes') return;
    this.o.logger?.debug({ key: keyString(key) }, 'containers gone; removing the finalizer');
    this.finalizer(key, 'remove');
  }

  // -------------------------------------------------------------------------

  private upsert(kind: Kind, obj: KubeObject, old: KubeObject | undefined): void {
    const key: ResourceKey = { kind, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name };
    if (obj.metadata.deletionTimestamp) {
      this.deleting(key, obj);
      return;
    }
    if (!hasFinalizer(obj)) this.finalizer(key, 'add');
    if (old && !desiredChanged(old, obj)) {
      // Status-only (or finalizer-only) update: nothing to apply, but a claim's binding may have been edited.
      if (kind === 'InstanceClaim') this.claimStatusSeen(key, obj);
      return;
    }
    this.applySpec(key, obj);
  }

  /**
   * A claim's status changed in the apiserver. Changed by another manager
   * than berth: berth's record is written back over it, conditional on this
   * version (a later edit meets 409 and is overwritten in turn). Changed
   * under berth's name: berth's own write (its answer may come after the
   * watch) or another replica's, which the next conditional write meets.
   */
  private claimStatusSeen(key: ResourceKey, obj: KubeObject): void {
    const id = keyString(key);
    const seen = this.seenClaims.get(id);
    if (!seen || seen.resourceVersion === obj.metadata.resourceVersion || isDeepStrictEqual(seen.status ?? null, obj['status'] ?? null)) return;
    const editor = bindingEditedBy(obj);
    if (editor === undefined || this.o.store.get(key)?.origin.source !== 'kubernetes') return;
    this.o.logger?.warn({ key: id, manager: editor }, "a claim's binding was changed outside berth; writing berth's record back");
    this.o.recorder.record({
      type: 'Warning',
      reason: 'StatusOverwritten',
      message: `status.phase/instance/containerId were changed by ${editor}, not berth; a claim's binding is berth's record, written back`,
      involvedObject: { kind: key.kind, namespace: key.namespace, name: key.name },
    });
    this.seeClaim(key, obj);
    this.status.noteKnown(key, obj['status'] as object | undefined);
    this.status.request(key);
  }

  private applySpec(key: ResourceKey, obj: KubeObject): void {
    const st = this.state(key);
    const generation = obj.metadata.generation ?? 1;
    const candidate = {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      metadata: {
        name: obj.metadata.name,
        namespace: key.namespace,
        ...(obj.metadata.labels ? { labels: obj.metadata.labels } : {}),
        ...(obj.metadata.annotations ? { annotations: obj.metadata.annotations } : {}),
        generation,
        ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
        ...(obj.metadata.creationTimestamp ? { creationTimestamp: String(obj.metadata.creationTimestamp) } : {}),
      },
      spec: obj['spec'],
    };
    const { resource, errors } = validateResource(candidate, `${key.kind} ${key.namespace}/${key.name}`, { policy: this.o.policy ?? DEFAULT_POLICY });
    if (!resource) {
      const message = errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ');
      st.invalid = { generation, message };
      this.warnOnce(key, st, `${generation}\u0000${message}`, 'InvalidSpec', `invalid spec (generation ${generation}): ${message}`);
      this.status.request(key);
      return;
    }
    const wasInvalid = st.invalid !== undefined;
    delete st.invalid;
    let applied;
    try {
      applied = this.o.store.apply(resource, ORIGIN);
    } catch (e) {
      if (!(e instanceof OwnershipConflict)) throw e;
      this.warnOnce(key, st, `conflict\u0000${generation}`, 'OwnershipConflict', `${e.message}; this resource is ignored until that one is deleted`);
      return;
    }
    // A claim's status is its binding's record: the store starts from the server's copy, so nothing rewrites it from scratch.
    if (key.kind === 'InstanceClaim' && !this.seenClaims.has(keyString(key))) this.seeClaim(key, obj);
    if (applied.change === 'created' && key.kind === 'InstanceClaim' && obj['status'] && !applied.entry.object.status) this.o.store.setStatus(key, obj['status'] as object);
    const storeGeneration = applied.entry.object.metadata.generation;
    const before = st.generations.get(storeGeneration);
    st.generations.set(storeGeneration, Math.max(generation, before ?? 0));
    if (st.generations.size > 32) st.generations.delete(st.generations.keys().next().value!);
    // Same store state under a newer generation, or an InvalidSpec to clear: rewrite the status.
    if (wasInvalid || (applied.change === 'unchanged' && before !== generation)) this.status.request(key);
  }

  private deleting(key: ResourceKey, obj: KubeObject): void {
    const st = this.state(key);
    delete st.invalid;
    const entry = this.o.store.get(key);
    if (entry && entry.origin.source === 'kubernetes') {
      if (!entry.object.metadata.uid || entry.object.metadata.uid === obj.metadata.uid) {
        this.o.logger?.info({ key: keyString(key) }, 'resource deleted; removing its containers');
        this.o.store.delete(key, ORIGIN); // the controller prunes, then onPruned
      }
      return;
    }
    if (!hasFinalizer(obj)) return;
    // Another source owns this key: nothing of ours to clean up.
    if (entry) this.finalizer(key, 'remove');
    // Nothing in the store (invalid, or deleted while we were down): let the controller look for leftovers; it calls onPruned.
    else this.o.enqueue(key);
  }

  private removed(kind: Kind, obj: KubeObject): void {
    const key: ResourceKey = { kind, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name };
    const entry = this.o.store.get(key);
    if (entry?.origin.source === 'kubernetes' && (!entry.object.metadata.uid || entry.object.metadata.uid === obj.metadata.uid)) {
      // Gone without us removing the finalizer (force-deleted, or it never had one): prune all the same.
      this.o.store.delete(key, ORIGIN);
    }
    this.objects.delete(keyString(key));
    this.seenClaims.delete(keyString(key));
    this.claimWrites.delete(keyString(key));
    this.status.forget(key);
  }

  private state(key: ResourceKey): ObjectState {
    const id = keyString(key);
    let st = this.objects.get(id);
    if (!st) {
      st = { generations: new Map() };
      this.objects.set(id, st);
    }
    return st;
  }

  private warnOnce(key: ResourceKey, st: ObjectState, fingerprint: string, reason: string, message: string): void {
    if (st.warned === fingerprint) return;
    st.warned = fingerprint;
    this.o.recorder.record({ type: 'Warning', reason, message, involvedObject: { kind: key.kind, namespace: key.namespace, name: key.name } });
  }

  /** The status the API server should show: the store's, in the object's generations, with InvalidSpec on top. */
  private desiredStatus(key: ResourceKey): object | undefined {
    const entry = this.o.store.get(key);
    return this.serverStatus(key, entry?.origin.source === 'kubernetes' ? (entry.object.status as Record<string, unknown> | undefined) : undefined);
  }

  /** A status as the store holds it, as the API server should show it. */
  private serverStatus(key: ResourceKey, stored: Record<string, unknown> | undefined): object | undefined {
    const obj = this.object(key);
    if (!obj || obj.metadata.deletionTimestamp) return undefined;
    const st = this.objects.get(keyString(key));
    const gen = (g: unknown): unknown => (typeof g === 'number' ? (st?.generations.get(g) ?? g) : g);
    let status: Record<string, unknown> | undefined;
    if (stored) {
      status = structuredClone(stored);
      if ('observedGeneration' in status) status['observedGeneration'] = gen(status['observedGeneration']);
      if (Array.isArray(status['conditions'])) {
        status['conditions'] = (status['conditions'] as Condition[]).map((c) => (c.observedGeneration !== undefined ? { ...c, observedGeneration: gen(c.observedGeneration) as number } : c));
      }
    }
    if (st?.invalid) {
      status ??= key.kind === 'Instance' ? { phase: 'Failed', restartCount: 0, conditions: [] } : key.kind === 'InstanceClaim' ? { phase: 'Failed', conditions: [] } : { conditions: [] };
      const type = key.kind === 'InstanceClaim' ? 'Bound' : 'Ready';
      status['conditions'] = setCondition(
        (status['conditions'] as Condition[] | undefined) ?? [],
        { type, status: 'False', reason: 'InvalidSpec', message: st.invalid.message, observedGeneration: st.invalid.generation },
        new Date().toISOString(),
      );
      status['observedGeneration'] = st.invalid.generation;
    }
    if (!status) return undefined;
    // metav1 semantics across restarts: lastTransitionTime moves only when a condition's status does.
    const server = (obj['status'] as { conditions?: Condition[] } | undefined)?.conditions;
    if (server && Array.isArray(status['conditions'])) {
      status['conditions'] = (status['conditions'] as Condition[]).map((c) => {
        const prev = server.find((p) => p.type === c.type);
        return prev && prev.status === c.status && prev.lastTransitionTime ? { ...c, lastTransitionTime: prev.lastTransitionTime } : c;
      });
    }
    return status;
  }

  /**
   * A claim's status (as the store would hold it) written now, conditional on
   * the version berth last saw: 'written' once the apiserver took it;
   * 'conflict' with the status the apiserver holds (read again) when another
   * write came first; 'gone' when the claim is.
   */
  async writeClaimStatus(key: ResourceKey, stored: object, signal: AbortSignal = this.abort.signal): Promise<ClaimWriteOutcome> {
    const desired = this.serverStatus(key, stored as Record<string, unknown>);
    if (!desired) return { type: 'gone' };
    const id = keyString(key);
    const base = (this.seenClaims.get(id) ?? { status: this.object(key)?.['status'] as object | undefined }).status;
    try {
      const res = await this.patchStatus(key, mergePatchBetween(base ?? {}, desired) ?? {}, signal);
      this.status.noteKnown(key, res?.['status'] as object | undefined);
      return { type: 'written' };
    } catch (e) {
      if (isKubeError(e, 404)) return { type: 'gone' };
      if (isRefusal(e)) return { type: 'refused', message: (e as Error).message };
      if (!isKubeError(e, 409)) throw e;
    }
    const fresh = await this.read(key, signal);
    if (!fresh) return { type: 'gone' };
    this.status.noteKnown(key, fresh['status'] as object | undefined);
    const editedBy = bindingEditedBy(fresh);
    return { type: 'conflict', status: fresh['status'] as ServerClaimStatus | undefined, ...(editedBy !== undefined ? { editedBy } : {}) };
  }

  /** PATCH .../status; a claim's with the resourceVersion berth last saw as a precondition. */
  private async patchStatus(key: ResourceKey, patch: unknown, signal: AbortSignal): Promise<KubeObject> {
    const resourceVersion = key.kind === 'InstanceClaim' ? this.seenClaims.get(keyString(key))?.resourceVersion : undefined;
    const body = { ...(resourceVersion ? { metadata: { resourceVersion } } : {}), status: patch };
    try {
      const res = (await this.api.patchNamespacedCustomObjectStatus(
        { group: GROUP, version: VERSION, namespace: key.namespace, plural: KINDS[key.kind].plural, name: key.name, body, fieldManager: FIELD_MANAGER },
        callOptions({ signal, contentType: MERGE_PATCH }),
      )) as KubeObject;
      if (key.kind === 'InstanceClaim') {
        this.seeClaim(key, res);
        this.claimWrites.set(keyString(key), (this.claimWrites.get(keyString(key)) ?? 0) + 1);
      }
      return res;
    } catch (e) {
      throw kubeError(e, `patch ${keyString(key)}/status`);
    }
  }

  private seeClaim(key: ResourceKey, obj: KubeObject): void {
    this.seenClaims.set(keyString(key), { resourceVersion: obj.metadata.resourceVersion, status: obj['status'] as object | undefined });
  }

  /**
   * GET the object. A claim is read again when one of berth's own status
   * writes of it was taken while the GET was out: the apiserver may have
   * served the GET first, and that older copy, taken as the claim's current
   * state, would undo a bind berth has just made (its member released and
   * removed while the client was answered Bound to it) and move the version
   * berth's writes are conditional on backwards.
   */
  private async read(key: ResourceKey, signal: AbortSignal): Promise<KubeObject | undefined> {
    const id = keyString(key);
    for (let attempt = 1; ; attempt++) {
      const writesBefore = this.claimWrites.get(id) ?? 0;
      let obj: KubeObject;
      try {
        obj = (await this.api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: key.namespace, plural: KINDS[key.kind].plural, name: key.name }, callOptions({ signal }))) as KubeObject;
      } catch (e) {
        const err = kubeError(e, `get ${id}`);
        if (err.code === 404) return undefined;
        throw err;
      }
      if (key.kind !== 'InstanceClaim') return obj;
      if ((this.claimWrites.get(id) ?? 0) !== writesBefore) {
        if (attempt < MAX_CLAIM_READS) continue;
        throw new Error(`get ${id}: berth's own status writes kept landing during ${attempt} reads; trying again later`);
      }
      this.seeClaim(key, obj);
      return obj;
    }
  }

  /**
   * Adds or removes our finalizer: a merge patch of metadata.finalizers with a
   * resourceVersion precondition, so a concurrent change of the list is never
   * lost; 409 -> read again and retry on the fresh object; 404 -> done.
   * One operation per key at a time; a repeat while one is queued is dropped.
   */
  private finalizer(key: ResourceKey, op: 'add' | 'remove'): void {
    const id = keyString(key);
    const opId = `${op}\u0000${id}`;
    if (this.pendingOps.has(opId) || this.abort.signal.aborted) return;
    this.pendingOps.add(opId);
    const run = async (): Promise<void> => {
      this.pendingOps.delete(opId);
      const signal = this.abort.signal;
      const backoff = new Backoff({ initialMs: 200, maxMs: 10_000 });
      let obj = this.object(key);
      for (let attempt = 0; !signal.aborted; attempt++) {
        if (!obj) return;
        const has = hasFinalizer(obj);
        if (op === 'add' ? has || obj.metadata.deletionTimestamp : !has) return;
        const current = obj.metadata.finalizers ?? [];
        const finalizers = op === 'add' ? [...current, FINALIZER] : current.filter((f) => f !== FINALIZER);
        try {
          const res = (await this.api.patchNamespacedCustomObject(
            { group: GROUP, version: VERSION, namespace: key.namespace, plural: KINDS[key.kind].plural, name: key.name, body: { metadata: { finalizers, resourceVersion: obj.metadata.resourceVersion } } },
            callOptions({ signal, contentType: MERGE_PATCH }),
          )) as KubeObject;
          // Our finalizer patch moved the claim's version but not its status: berth's writes may go on from it.
          const seen = this.seenClaims.get(id);
          if (key.kind === 'InstanceClaim' && seen && isDeepStrictEqual(seen.status ?? null, res['status'] ?? null)) this.seeClaim(key, res);
          this.o.logger?.debug({ key: id, op }, 'finalizer patched');
          return;
        } catch (e) {
          const err = kubeError(e, `${op} finalizer of ${id}`);
          if (signal.aborted || err.code === 404) return;
          if (err.code === 422 && op === 'add') return; // being deleted: no new finalizers
          if (err.code !== 409) {
            this.o.logger?.warn({ key: id, err: err.message }, 'finalizer patch failed; retrying');
            await sleep(Math.max(backoff.next(), err.retryAfterMs ?? 0), signal).catch(() => undefined);
          } else if (attempt > 3) {
            await sleep(backoff.next(), signal).catch(() => undefined);
          }
          obj = await this.read(key, signal).catch((re: unknown) => (isKubeError(re, 404) ? undefined : obj));
        }
      }
    };
    const prev = this.finalizerOps.get(id) ?? Promise.resolve();
    const next = prev.then(run, run).finally(() => {
      if (this.finalizerOps.get(id) === next) this.finalizerOps.delete(id);
    });
    this.finalizerOps.set(id, next);
  }

  /** Looks at every cached object again: missed finalizers, stuck deletions, conflicts resolved since. */
  private scheduleResync(): void {
    const every = this.o.resyncMs ?? 300_000;
    this.resyncTimer = setTimeout(() => {
      if (this.abort.signal.aborted) return;
      for (const [kind, informer] of this.informers) for (const obj of informer.list()) this.upsert(kind, obj, undefined);
      this.scheduleResync();
    }, every);
    this.resyncTimer.unref();
  }
}

const hasFinalizer = (o: KubeObject): boolean => o.metadata.finalizers?.includes(FINALIZER) ?? false;

/** The predicate: what the controller acts on changed (not just status, finalizers or managedFields). */
export function desiredChanged(old: KubeObject, obj: KubeObject): boolean {
  return (
    old.metadata.generation !== obj.metadata.generation ||
    !isDeepStrictEqual(old.metadata.labels ?? {}, obj.metadata.labels ?? {}) ||
    !isDeepStrictEqual(old.metadata.annotations ?? {}, obj.metadata.annotations ?? {}) ||
    !isDeepStrictEqual(old['spec'], obj['spec']) ||
    old.metadata.deletionTimestamp !== obj.metadata.deletionTimestamp
  );
}
