// Writes berth's status of custom resources through the status subresource
// (PATCH .../status, JSON merge patch), one key at a time:
// - Bursts coalesce: a key asked for again while a write is waiting or in
//   flight gets one more write, of the status as it is when that write starts.
// - Only the difference is sent (mergePatchBetween), against what the server
//   holds as far as we know (the answer to our last write, else the informer's
//   copy); nothing to send means no request.
// - 409 Conflict: read the object again (onConflict sees it: a claim's record
//   may have to take what another writer wrote) and retry on the fresh copy.
// - 404: the object is gone; the write is dropped.
// - Anything else: retried with backoff while the key still wants a status.
import { Semaphore } from '../../controller/semaphore.js';
import { mergePatchBetween } from './merge-patch.js';
import { Backoff, isKubeError, KubeApiError, sleep } from './kube-api.js';

export interface StatusWriterOptions<K> {
  /** The status the server should hold now, or undefined when there is none to write. */
  desired(key: K): object | undefined;
  /** The status the informer last saw on the server. */
  observed(key: K): object | undefined;
  /** PATCH /status with {status: patch}; resolves to the object the server returns. */
  patch(key: K, statusPatch: unknown, signal: AbortSignal): Promise<{ [field: string]: unknown } | undefined>;
  /** GET the object (undefined when 404). */
  read(key: K, signal: AbortSignal): Promise<{ [field: string]: unknown } | undefined>;
  id(key: K): string;
  /** A write met 409: this is the object as the server holds it now, before the write is retried. */
  onConflict?(key: K, fresh: { [field: string]: unknown }): void;
  coalesceMs?: number;
  concurrency?: number;
  backoff?: { initialMs: number; maxMs: number };
  logger?: { debug(o: object, msg?: string): void; warn(o: object, msg?: string): void };
}

interface KeyState {
  dirty: boolean;
  running: boolean;
  /** The server's status after our last write (or a fresh read), fresher than the informer's copy. */
  known: object | undefined;
  knownValid: boolean;
  /** The object is gone: drop this state once idle. */
  forgotten: boolean;
}

export class StatusWriter<K> {
  private readonly keys = new Map<string, KeyState>();
  private readonly limit: Semaphore;
  private readonly abort = new AbortController();
  readonly stats = { writes: 0, conflicts: 0, notFound: 0, errors: 0 };

  constructor(private readonly o: StatusWriterOptions<K>) {
    this.limit = new Semaphore(o.concurrency ?? 8);
  }

  /** Schedules a write of key's current status. */
  request(key: K): void {
    if (this.abort.signal.aborted) return;
    const id = this.o.id(key);
    let s = this.keys.get(id);
    if (!s) {
      s = { dirty: false, running: false, known: undefined, knownValid: false, forgotten: false };
      this.keys.set(id, s);
    }
    s.dirty = true;
    s.forgotten = false;
    if (!s.running) {
      s.running = true;
      void this.drain(key, id, s);
    }
  }

  /** Another path wrote (or read) the key's status: later diffs start from it. */
  noteKnown(key: K, status: object | undefined): void {
    const id = this.o.id(key);
    const s = this.keys.get(id) ?? { dirty: false, running: false, known: undefined, knownValid: false, forgotten: false };
    s.known = status;
    s.knownValid = true;
    this.keys.set(id, s);
  }

  /** The object is gone: forget what we knew of it. */
  forget(key: K): void {
    const id = this.o.id(key);
    const s = this.keys.get(id);
    if (!s) return;
    s.knownValid = false;
    s.forgotten = true;
    if (!s.running) this.keys.delete(id);
  }

  /** Resolves when no write is pending or in flight (for tests and shutdown). */
  async idle(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ([...this.keys.values()].some((s) => s.running || s.dirty) && Date.now() < deadline) await sleep(20);
  }

  stop(): void {
    this.abort.abort(new Error('status writer stopped'));
  }

  private async drain(key: K, id: string, s: KeyState): Promise<void> {
    const signal = this.abort.signal;
    const backoff = new Backoff({ initialMs: this.o.backoff?.initialMs ?? 200, maxMs: this.o.backoff?.maxMs ?? 30_000 });
    try {
      await sleep(this.o.coalesceMs ?? 50, signal);
      while (s.dirty && !signal.aborted) {
        s.dirty = false;
        try {
          await this.limit.run(() => this.writeOnce(key, s, signal), signal);
          backoff.reset();
        } catch (e) {
          if (signal.aborted) return;
          if (isKubeError(e, 404)) {
            this.stats.notFound++;
            s.knownValid = false;
            break;
          }
          s.dirty = true;
          if (isKubeError(e, 409)) {
            this.stats.conflicts++;
            const fresh = await this.o.read(key, signal).catch(() => undefined);
            if (fresh === undefined) {
              await sleep(backoff.next(), signal);
              continue;
            }
            s.known = fresh['status'] as object | undefined;
            s.knownValid = true;
            this.o.onConflict?.(key, fresh);
            continue;
          }
          this.stats.errors++;
          const delay = Math.max(backoff.next(), e instanceof KubeApiError ? (e.retryAfterMs ?? 0) : 0);
          this.o.logger?.warn({ key: id, err: (e as Error).message, retryInMs: delay }, 'status write failed; retrying');
          await sleep(delay, signal);
        }
      }
    } catch {
      // stopped
    } finally {
      s.running = false;
      if (s.dirty && !signal.aborted) {
        s.running = true;
        void this.drain(key, id, s);
      } else if (s.forgotten && this.keys.get(id) === s) {
        this.keys.delete(id);
      }
    }
  }

  private async writeOnce(key: K, s: KeyState, signal: AbortSignal): Promise<void> {
    const desired = this.o.desired(key);
    if (desired === undefined) return;
    const base = s.knownValid ? s.known : this.o.observed(key);
    const patch = mergePatchBetween(base ?? {}, desired);
    if (patch === undefined) return;
    const res = await this.o.patch(key, patch, signal);
    this.stats.writes++;
    s.known = res?.['status'] as object | undefined;
    s.knownValid = true;
    this.o.logger?.debug({ key: this.o.id(key), patch }, 'status written');
  }
}
