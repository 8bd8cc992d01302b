// Storage with etcd-like resource versions: one global counter bumped on every
// write, a history of events (with the previous object, so a list can be
// served as of an older revision), compaction, and watchers fed in commit order.
import { clone, type JsonObject } from './json.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface HistoryEntry {
  rv: number;
  storeKey: string;
  key: string;
  type: EventType;
  /** The object after the write (for DELETED: the last state, carrying the deletion's RV). */
  object: JsonObject;
  /** The object before the write (undefined for ADDED). */
  prev: JsonObject | undefined;
}

export interface StoreWatcher {
  storeKey: string;
  onEvent(entry: HistoryEntry): void;
}

export const objectKey = (namespace: string | undefined, name: string): string => `${namespace ?? ''}/${name}`;

export class Store {
  private rv: number;
  private readonly data = new Map<string, Map<string, JsonObject>>();
  private history: HistoryEntry[] = [];
  /** Watches and exact lists from an RV older than this get 410 Expired. */
  compactRev = 0;
  readonly watchers = new Set<StoreWatcher>();

  constructor(
    startRv = 100,
    private readonly historyLimit = Number.POSITIVE_INFINITY,
  ) {
    this.rv = startRv;
  }

  get currentRV(): number {
    return this.rv;
  }

  private bucket(storeKey: string): Map<string, JsonObject> {
    let b = this.data.get(storeKey);
    if (!b) {
      b = new Map();
      this.data.set(storeKey, b);
    }
    return b;
  }

  get(storeKey: string, namespace: string | undefined, name: string): JsonObject | undefined {
    return this.data.get(storeKey)?.get(objectKey(namespace, name));
  }

  /** Current objects, sorted by key (etcd order). Do not mutate them. */
  list(storeKey: string): [string, JsonObject][] {
    return [...(this.data.get(storeKey)?.entries() ?? [])].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** The objects as of revision rv (requires rv >= compactRev). */
  snapshot(storeKey: string, rv: number): [string, JsonObject][] {
    const state = new Map(this.data.get(storeKey) ?? []);
    for (let i = this.history.length - 1; i >= 0; i--) {
      const e = this.history[i]!;
      if (e.rv <= rv) break;
      if (e.storeKey !== storeKey) continue;
      if (e.prev === undefined) state.delete(e.key);
      else state.set(e.key, e.prev);
    }
    return [...state.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** History entries of a store after rv, in order. */
  since(storeKey: string, rv: number): HistoryEntry[] {
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.history[mid]!.rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    return this.history.slice(lo).filter((e) => e.storeKey === storeKey);
  }

  /**
   * Writes (or deletes, for DELETED) an object under a new resource version and
   * notifies the watchers. Returns the stored object (a copy with the new RV).
   */
  commit(storeKey: string, namespace: string | undefined, name: string, type: EventType, object: JsonObject): JsonObject {
    const key = objectKey(namespace, name);
    const bucket = this.bucket(storeKey);
    const prev = bucket.get(key);
    this.rv += 1;
    const stored = clone(object);
    stored['metadata'] = withResourceVersion(stored['metadata'] as JsonObject, String(this.rv));
    if (type === 'DELETED') bucket.delete(key);
    else bucket.set(key, stored);
    const entry: HistoryEntry = { rv: this.rv, storeKey, key, type, object: stored, prev };
    this.history.push(entry);
    if (this.history.length > this.historyLimit) {
      const drop = this.history.length - this.historyLimit;
      this.compactRev = Math.max(this.compactRev, this.history[drop]!.rv - 1);
      this.history = this.history.slice(drop);
    }
    for (const w of [...this.watchers]) if (w.storeKey === storeKey) w.onEvent(entry);
    return stored;
  }

  /** Drops history before rv: later watches and exact lists from an older RV get 410. */
  compactBefore(rv: number): void {
    this.compactRev = Math.max(this.compactRev, rv);
    this.history = this.history.filter((e) => e.rv > this.compactRev);
  }
}

/** metadata with resourceVersion set, placed where the server prints it (after uid). */
function withResourceVersion(meta: JsonObject, rv: string): JsonObject {
  const out: JsonObject = {};
  let placed = false;
  for (const [k, v] of Object.entries(meta)) {
    if (k === 'resourceVersion') continue;
    if (!placed && ['generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields'].includes(k)) {
      out['resourceVersion'] = rv;
      placed = true;
    }
    out[k] = v;
  }
  if (!placed) out['resourceVersion'] = rv;
  return out;
}
