// The controller's view of desired state: resources from every source (spec
// files, the API, Kubernetes), with Kubernetes-style metadata and the status
// berth writes. Watchers see ADDED/MODIFIED/DELETED like a Kubernetes watch.
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { API_VERSION, keyOf, keyString, type Kind, type Resource, type ResourceKey } from '../spec/schema.js';

export type Origin = { source: 'file'; file: string; line: number } | { source: 'api' } | { source: 'kubernetes' };

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  generation: number;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A resource as the API shows it. */
export interface StoredObject {
  apiVersion: typeof API_VERSION;
  kind: Kind;
  metadata: ObjectMeta;
  spec: Resource['spec'];
  status?: object;
}

export interface StoredEntry {
  object: StoredObject;
  /** The parsed resource with defaults, as the planner wants it. */
  resource: Resource;
  origin: Origin;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface StoreEvent {
  type: WatchEventType;
  key: ResourceKey;
  object: StoredObject;
  /** False for status-only updates: the controller's predicate ignores those. */
  specChanged: boolean;
}

export class OwnershipConflict extends Error {
  override readonly name = 'OwnershipConflict';
  constructor(readonly key: ResourceKey, readonly owner: Origin) {
    super(
      owner.source === 'file'
        ? `${keyString(key)} is owned by spec file ${owner.file}:${owner.line}; edit that file instead`
        : `${keyString(key)} is owned by the ${owner.source} source`,
    );
  }
}

const originLabel = (o: Origin): string => (o.source === 'file' ? `file:${o.file}` : o.source);

export class ResourceStore {
  private readonly entries = new Map<string, StoredEntry>();
  private readonly listeners = new Set<(e: StoreEvent) => void>();
  private version = 0;

  constructor(private readonly clock: { now(): number } = Date) {}

  get(key: ResourceKey): StoredEntry | undefined {
    return this.entries.get(keyString(key));
  }

  /** get() by keyString, for a pass over many ids (no parse and re-join per id). */
  getById(id: string): StoredEntry | undefined {
    return this.entries.get(id);
  }

  /** The entries of one kind, unsorted (for a pass over all of them that needs no order). */
  *each(kind: Kind): Iterable<StoredEntry> {
    for (const e of this.entries.values()) if (e.object.kind === kind) yield e;
  }

  list(kind?: Kind, namespace?: string): StoredEntry[] {
    const out: Array<[string, StoredEntry]> = [];
    for (const [id, e] of this.entries) {
      if ((kind === undefined || e.object.kind === kind) && (namespace === undefined || e.object.metadata.namespace === namespace)) out.push([id, e]);
    }
    // By keyString (the map's own key: no key is rebuilt per comparison).
    return out.sort((a, b) => a[0].localeCompare(b[0])).map(([, e]) => e);
  }

  get resourceVersion(): string {
    return String(this.version);
  }

  /**
   * Adds or updates a resource from a source. A resource belongs to one source:
   * another source writing it gets OwnershipConflict (the API turns that into 409).
   * Files may move a resource between files (a rename in a GitOps repo).
   */
  apply(resource: Resource, origin: Origin): { entry: StoredEntry; change: 'created' | 'updated' | 'unchanged' } {
    const key = keyOf(resource);
    const id = keyString(key);
    const prev = this.entries.get(id);
    if (prev && prev.origin.source !== origin.source) throw new OwnershipConflict(key, prev.origin);
    const specChanged = !prev || !isDeepStrictEqual(prev.resource.spec, resource.spec);
    const metaChanged =
      !prev ||
      !isDeepStrictEqual(prev.resource.metadata.labels ?? {}, resource.metadata.labels ?? {}) ||
      !isDeepStrictEqual(prev.resource.metadata.annotations ?? {}, resource.metadata.annotations ?? {});
    if (prev && !specChanged && !metaChanged) {
      if (!isDeepStrictEqual(prev.origin, origin)) prev.origin = origin;
      return { entry: prev, change: 'unchanged' };
    }
    const metadata: ObjectMeta = {
      name: key.name,
      namespace: key.namespace,
      uid: prev?.object.metadata.uid ?? resource.metadata.uid ?? randomUUID(),
      resourceVersion: String(++this.version),
      // generation follows spec changes only, as in Kubernetes.
      generation: prev ? prev.object.metadata.generation + (specChanged ? 1 : 0) : (resource.metadata.generation ?? 1),
      creationTimestamp: prev?.object.metadata.creationTimestamp ?? resource.metadata.creationTimestamp ?? new Date(this.clock.now()).toISOString(),
      ...(resource.metadata.labels ? { labels: resource.metadata.labels } : {}),
      ...(resource.metadata.annotations ? { annotations: resource.metadata.annotations } : {}),
    };
    const entry: StoredEntry = {
      object: { apiVersion: API_VERSION, kind: resource.kind, metadata, spec: resource.spec, ...(prev?.object.status ? { status: prev.object.status } : {}) },
      resource: { ...resource, metadata: { ...resource.metadata, generation: metadata.generation } } as Resource,
      origin,
    };
    this.entries.set(id, entry);
    this.emit({ type: prev ? 'MODIFIED' : 'ADDED', key, object: entry.object, specChanged: true });
    return { entry, change: prev ? 'updated' : 'created' };
  }

  /** Removes a resource; a source may only remove what it owns. */
  delete(key: ResourceKey, origin?: Origin): StoredEntry | undefined {
    const id = keyString(key);
    const prev = this.entries.get(id);
    if (!prev) return undefined;
    if (origin && prev.origin.source !== origin.source) throw new OwnershipConflict(key, prev.origin);
    this.entries.delete(id);
    this.version++;
    this.emit({ type: 'DELETED', key, object: { ...prev.object, metadata: { ...prev.object.metadata, resourceVersion: String(this.version) } }, specChanged: true });
    return prev;
  }

  /** Writes status; a no-op (no event, no new resourceVersion) when nothing changed. */
  setStatus(key: ResourceKey, status: object): boolean {
    const entry = this.entries.get(keyString(key));
    if (!entry || isDeepStrictEqual(entry.object.status, status)) return false;
    entry.object = { ...entry.object, status, metadata: { ...entry.object.metadata, resourceVersion: String(++this.version) } };
    this.emit({ type: 'MODIFIED', key, object: entry.object, specChanged: false });
    return true;
  }

  /** Keys a source currently owns, e.g. to drop what vanished from a spec directory. */
  keysFrom(predicate: (origin: Origin) => boolean): ResourceKey[] {
    return [...this.entries.values()].filter((e) => predicate(e.origin)).map((e) => keyOf(e.resource));
  }

  subscribe(listener: (e: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  describeOrigin(key: ResourceKey): string | undefined {
    const e = this.get(key);
    return e ? originLabel(e.origin) : undefined;
  }

  private emit(e: StoreEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // A faulty watcher must not break the store or the other watchers.
      }
    }
  }
}
