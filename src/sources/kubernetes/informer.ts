// A list+watch cache of one resource, as client-go's reflector and informer:
// LIST (with its resourceVersion), then WATCH from it with bookmarks and a
// server-side timeout, resuming from the last resourceVersion seen.
// - The watch ends (timeoutSeconds): watch again at once from the last RV.
// - The connection breaks, or the server answers 5xx/429: back off (exponential,
//   with jitter, Retry-After honoured) and watch again from the last RV.
// - 410 Gone / Expired (the RV was compacted): LIST again and diff the new list
//   against the cache, emitting adds, updates and deletes for what changed
//   while we were not watching.
// - Watchdog: no event and no bookmark within stallTimeoutMs means the stream
//   is silently stalled (a half-open TCP connection, a wedged proxy: the most
//   common complaint about Node.js Kubernetes clients). The watch is aborted
//   and resumed from the last RV.
// Handlers see each resourceVersion of an object at most once: a replayed
// event whose RV the cache already holds is dropped, so resuming never
// duplicates work.
import type { KubeObject, ListWatch, WatchEvent } from './list-watch.js';
import { Backoff, KubeApiError, sleep } from './kube-api.js';
import { idleWatchSeconds } from '../../runtime/kubernetes/watch-timeout.js';

export interface InformerHandlers<T> {
  onAdd(obj: T): void;
  onUpdate(old: T, obj: T): void;
  onDelete(obj: T): void;
}

export interface InformerOptions<T extends KubeObject> {
  listWatch: ListWatch<T>;
  handlers: InformerHandlers<T>;
  /** No event or bookmark for this long: the watch is stalled (default 90 s; the apiserver bookmarks about once a minute). */
  stallTimeoutMs?: number;
  /** Server-side watch timeout; default random in [300, 600) s, as client-go, so reconnects spread out. */
  watchTimeoutSeconds?: () => number;
  backoff?: { initialMs: number; maxMs: number };
  logger?: { debug(o: object, msg?: string): void; info(o: object, msg?: string): void; warn(o: object, msg?: string): void };
  random?: () => number;
}

export interface InformerStats {
  lists: number;
  /** Re-lists because the server answered 410 Gone / Expired. */
  relists: number;
  watches: number;
  /** Watches aborted by the watchdog. */
  stalls: number;
  /** Watches that failed (connection broken, refused) and were retried after a backoff. */
  errors: number;
}

class StallError extends Error {
  override readonly name = 'StallError';
}

class GoneError extends Error {
  override readonly name = 'GoneError';
}

export const objectKey = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private rv = '';
  private synced = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  readonly stats: InformerStats = { lists: 0, relists: 0, watches: 0, stalls: 0, errors: 0 };
  private readonly backoff: Backoff;

  constructor(private readonly o: InformerOptions<T>) {
    this.backoff = new Backoff({ initialMs: o.backoff?.initialMs ?? 800, maxMs: o.backoff?.maxMs ?? 30_000, jitter: 0.5 }, o.random);
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** The last resourceVersion seen (list, event or bookmark). */
  get resourceVersion(): string {
    return this.rv;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(`${namespace ?? ''}/${name}`);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  /** Starts the loop; resolves once the first LIST is in the cache and its handlers ran. */
  start(signal?: AbortSignal): Promise<void> {
    if (this.loop) throw new Error('informer already started');
    signal?.addEventListener('abort', () => this.stop(), { once: true });
    let resolveSynced!: () => void;
    let rejectSynced!: (e: unknown) => void;
    const synced = new Promise<void>((res, rej) => {
      resolveSynced = res;
      rejectSynced = rej;
    });
    this.loop = this.run(resolveSynced).then(
      () => rejectSynced(new Error('informer stopped before its first list')),
      (e: unknown) => rejectSynced(e),
    );
    return synced;
  }

  stop(): Promise<void> {
    this.abort.abort(new Error('informer stopped'));
    return this.loop ?? Promise.resolve();
  }

  private async run(onSynced: () => void): Promise<void> {
    const signal = this.abort.signal;
    const log = this.o.logger;
    let needList = true;
    while (!signal.aborted) {
      if (needList) {
        try {
          const list = await this.o.listWatch.list(signal);
          this.stats.lists++;
          this.replace(list.items);
          this.rv = list.resourceVersion;
          needList = false;
          this.backoff.reset();
          if (!this.synced) {
            this.synced = true;
            onSynced();
          }
        } catch (e) {
          if (signal.aborted) return;
          const delay = this.delayFor(e);
          log?.warn({ err: (e as Error).message, retryInMs: delay, resource: this.o.listWatch.description }, 'list failed; retrying');
          await sleep(delay, signal).catch(() => undefined);
        }
        continue;
      }
      const outcome = await this.watchOnce(signal);
      if (signal.aborted) return;
      if (outcome === 'gone') {
        this.stats.relists++;
        log?.info({ resource: this.o.listWatch.description, resourceVersion: this.rv }, 'watch expired (410); re-listing');
        needList = true;
      } else if (outcome === 'stalled') {
        this.stats.stalls++;
        log?.warn({ resource: this.o.listWatch.description, resourceVersion: this.rv, stallTimeoutMs: this.stallTimeoutMs }, 'watch stalled (no event or bookmark); resuming');
      } else if (outcome instanceof Error) {
        this.stats.errors++;
        const delay = this.delayFor(outcome);
        log?.warn({ err: outcome.message, retryInMs: delay, resource: this.o.listWatch.description }, 'watch failed; resuming after a backoff');
        await sleep(delay, signal).catch(() => undefined);
      }
    }
  }

  private get stallTimeoutMs(): number {
    return this.o.stallTimeoutMs ?? 90_000;
  }

  /** One WATCH from this.rv: 'ended' (server timeout), 'gone' (410), 'stalled' (watchdog) or the error. */
  private async watchOnce(parent: AbortSignal): Promise<'ended' | 'gone' | 'stalled' | Error> {
    const ctl = new AbortController();
    const onParentAbort = (): void => ctl.abort(parent.reason);
    parent.addEventListener('abort', onParentAbort, { once: true });
    let watchdog: NodeJS.Timeout | undefined;
    const arm = (): void => {
      if (watchdog) clearTimeout(watchdog);
      watchdog = setTimeout(() => ctl.abort(new StallError('stalled')), this.stallTimeoutMs);
    };
    let events = 0;
    let failure: Error | undefined;
    const started = Date.now();
    this.stats.watches++;
    arm();
    try {
      const timeoutSeconds = this.o.watchTimeoutSeconds?.() ?? idleWatchSeconds(this.stallTimeoutMs, this.o.random ?? Math.random);
      await this.o.listWatch.watch(
        this.rv,
        (e) => {
          if (ctl.signal.aborted) return;
          arm();
          events++;
          try {
            this.handle(e);
          } catch (err) {
            failure = err as Error;
            ctl.abort(failure);
          }
        },
        ctl.signal,
        timeoutSeconds,
      );
      if (failure) throw failure;
      // A server that ends watches at once, again and again, must not make us spin.
      if (events === 0 && Date.now() - started < 1000) return new Error('watch ended immediately');
      return 'ended';
    } catch (thrown) {
      const e = failure ?? thrown;
      if (ctl.signal.reason instanceof StallError && !parent.aborted) return 'stalled';
      if (e instanceof GoneError || (e instanceof KubeApiError && e.code === 410)) return 'gone';
      return e instanceof Error ? e : new Error(String(e));
    } finally {
      if (watchdog) clearTimeout(watchdog);
      parent.removeEventListener('abort', onParentAbort);
      if (events > 0) this.backoff.reset();
    }
  }

  private handle(e: WatchEvent<T>): void {
    const obj = e.object;
    switch (e.type) {
      case 'BOOKMARK':
        if (obj?.metadata?.resourceVersion) this.rv = obj.metadata.resourceVersion;
        return;
      case 'ERROR': {
        const status = obj as unknown as { code?: number; reason?: string; message?: string };
        if (status.code === 410 || status.reason === 'Expired' || status.reason === 'Gone') throw new GoneError(status.message ?? 'resource version expired');
        throw new KubeApiError(status.code ?? 500, status.reason ?? 'Unknown', `watch error event: ${status.message ?? ''}`);
      }
      case 'ADDED':
      case 'MODIFIED': {
        const key = objectKey(obj);
        const old = this.cache.get(key);
        if (obj.metadata.resourceVersion) this.rv = obj.metadata.resourceVersion;
        if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) return; // a replay: seen already
        this.cache.set(key, obj);
        this.call(() => (old ? this.o.handlers.onUpdate(old, obj) : this.o.handlers.onAdd(obj)));
        return;
      }
      case 'DELETED': {
        const key = objectKey(obj);
        const old = this.cache.get(key);
        if (obj.metadata.resourceVersion) this.rv = obj.metadata.resourceVersion;
        if (!old) return;
        this.cache.delete(key);
        this.call(() => this.o.handlers.onDelete(obj));
        return;
      }
    }
  }

  /** A fresh LIST replaces the cache; handlers see what changed since the cache was last right. */
  private replace(items: T[]): void {
    const next = new Map(items.map((o) => [objectKey(o), o] as const));
    for (const [key, old] of this.cache) {
      if (!next.has(key)) {
        this.cache.delete(key);
        this.call(() => this.o.handlers.onDelete(old));
      }
    }
    for (const [key, obj] of next) {
      const old = this.cache.get(key);
      this.cache.set(key, obj);
      if (!old) this.call(() => this.o.handlers.onAdd(obj));
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.call(() => this.o.handlers.onUpdate(old, obj));
    }
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.o.logger?.warn({ err: (e as Error).message, resource: this.o.listWatch.description }, 'informer handler failed');
    }
  }

  private delayFor(e: unknown): number {
    const backoff = this.backoff.next();
    const retryAfter = e instanceof KubeApiError ? e.retryAfterMs : undefined;
    return retryAfter !== undefined ? Math.max(backoff, retryAfter) : backoff;
  }
}
