// client-go's rate-limiting, delaying work queue for a level-based controller.
// A key is only a name; the queue guarantees:
//  - repeated adds of a waiting key merge into one (the "dirty" set);
//  - a key is never handed to two workers at once: a key added while it is
//    being processed is queued again once, when done(key) is called;
//  - addAfter keeps one pending deadline per key, the earliest;
//  - addRateLimited delays by the rate limiter (per-key backoff, overall rate).
// Keys are handed out in FIFO order of becoming ready.
import { systemClock, type Cancel, type Clock } from '../time/clock.js';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiter.js';

/**
 * Hooks for instrumentation (see workqueue-metrics.ts for the Prometheus
 * adapter); every hook is optional and called synchronously.
 */
export interface WorkQueueMetrics<K extends string = string> {
  /** A key became waiting (adds merged into an already waiting key are not counted). */
  added?(key: K): void;
  /** Number of waiting keys (including those that wait for their own processing to end), after each change. */
  depth?(depth: number): void;
  /** A key was handed to a worker, queuedMs after it became waiting. */
  started?(key: K, queuedMs: number): void;
  /** done(key) was called, workMs after the key was handed out. */
  finished?(key: K, workMs: number): void;
  /** addAfter / addRateLimited was called (client-go counts every delayed add as a retry). */
  retried?(key: K): void;
}

export interface WorkQueueOptions<K extends string = string> {
  /** Used by metrics adapters and messages. */
  name?: string;
  clock?: Clock;
  /** Default: defaultControllerRateLimiter on the same clock. */
  rateLimiter?: RateLimiter<K>;
  metrics?: WorkQueueMetrics<K>;
}

/** FIFO of keys with O(1) push and shift. */
class KeyFifo<K> {
  private items: K[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(k: K): void {
    this.items.push(k);
  }

  shift(): K | undefined {
    if (this.head >= this.items.length) return undefined;
    const k = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return k;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

export class WorkQueue<K extends string = string> {
  readonly name: string;
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter<K>;
  private readonly metrics: WorkQueueMetrics<K>;

  /** Ready keys, in order; each is also in dirty and not in processing. */
  private readonly ready = new KeyFifo<K>();
  /** Keys that need processing, with the time they became waiting. */
  private readonly dirty = new Map<K, number>();
  /** Keys handed to a worker and not yet done, with the time they were handed out. */
  private readonly processing = new Map<K, number>();
  /** Delayed adds: one timer per key, the earliest deadline. */
  private readonly waiting = new Map<K, { at: number; cancel: Cancel }>();
  /** get() calls waiting for a key. */
  private readonly getters: ((key: K | undefined) => void)[] = [];
  /** shutDownWithDrain() calls waiting for processing to end. */
  private drainWaiters: (() => void)[] = [];
  private shutdown = false;

  constructor(options: WorkQueueOptions<K> = {}) {
    this.name = options.name ?? '';
    this.clock = options.clock ?? systemClock;
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter<K>({ clock: this.clock });
    this.metrics = guarded(options.metrics ?? {});
  }

  /** Marks key as needing processing. Ignored after shutdown. */
  add(key: K): void {
    if (this.shutdown || this.dirty.has(key)) return;
    this.dirty.set(key, this.clock.now());
    if (!this.processing.has(key)) this.ready.push(key); // else queued again by done(key)
    this.metrics.added?.(key);
    this.metrics.depth?.(this.dirty.size);
    this.dispatch();
  }

  /**
   * The next key to process; the caller must call done(key) when finished.
   * Resolves once a key is ready, or with undefined once the queue is shut
   * down (keys still waiting then are dropped: the next start lists everything).
   */
  get(): Promise<K | undefined> {
    if (this.shutdown) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.getters.push(resolve);
      this.dispatch();
    });
  }

  /** Ends the processing of key; if it was added meanwhile, it is ready again. Unknown keys are ignored. */
  done(key: K): void {
    const startedAt = this.processing.get(key);
    if (startedAt === undefined) return;
    this.processing.delete(key);
    if (this.dirty.has(key)) this.ready.push(key);
    this.metrics.finished?.(key, Math.max(0, this.clock.now() - startedAt));
    this.dispatch();
    if (this.processing.size === 0) this.resolveDrain();
  }

  /**
   * Adds key after ms (at once if ms <= 0). While a delayed add of key is
   * pending, another one replaces it only if it is due earlier.
   */
  addAfter(key: K, ms: number): void {
    if (this.shutdown) return;
    this.metrics.retried?.(key);
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    if (ms === Infinity) return;
    const at = this.clock.now() + ms;
    const pending = this.waiting.get(key);
    if (pending) {
      if (pending.at <= at) return;
      pending.cancel();
    }
    const cancel = this.clock.setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    this.waiting.set(key, { at, cancel });
  }

  /** Adds key after the rate limiter's delay for it (at least minDelayMs, e.g. a Retry-After). */
  addRateLimited(key: K, minDelayMs = 0): void {
    if (this.shutdown) return;
    const delay = this.rateLimiter.when(key);
    this.addAfter(key, Number.isFinite(minDelayMs) && minDelayMs > delay ? minDelayMs : delay);
  }

  /** Resets key's failure backoff (after a success). Does not remove key from the queue. */
  forget(key: K): void {
    this.rateLimiter.forget(key);
  }

  /** Rate-limited requeues of key since it was last forgotten. */
  numRequeues(key: K): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** Keys ready to be handed out now (not counting delayed keys or keys waiting for their own processing). */
  len(): number {
    return this.ready.length;
  }

  /** Keys handed out and not yet done. */
  get processingCount(): number {
    return this.processing.size;
  }

  get shuttingDown(): boolean {
    return this.shutdown;
  }

  /**
   * Stops the queue: adds are ignored, delayed adds and waiting keys are
   * dropped, pending and future get() calls resolve undefined. Keys being
   * processed may still be done(). Stops any shutDownWithDrain() waiting.
   */
  shutDown(): void {
    this.stop();
    this.resolveDrain();
  }

  /** shutDown(), then resolves once every key handed out has been done(). */
  shutDownWithDrain(): Promise<void> {
    this.stop();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private stop(): void {
    if (this.shutdown) return;
    this.shutdown = true;
    for (const { cancel } of this.waiting.values()) cancel();
    this.waiting.clear();
    this.ready.clear();
    this.dirty.clear();
    this.metrics.depth?.(0);
    for (const resolve of this.getters.splice(0)) resolve(undefined);
  }

  private resolveDrain(): void {
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  /** Hands ready keys to waiting getters; a key is processing from this moment. */
  private dispatch(): void {
    while (this.getters.length > 0 && this.ready.length > 0) {
      const key = this.ready.shift() as K;
      const resolve = this.getters.shift() as (key: K | undefined) => void;
      const now = this.clock.now();
      const addedAt = this.dirty.get(key) ?? now;
      this.dirty.delete(key);
      this.processing.set(key, now);
      resolve(key);
      this.metrics.depth?.(this.dirty.size);
      this.metrics.started?.(key, Math.max(0, now - addedAt));
    }
  }
}

/** Metrics hooks that can never break the queue's bookkeeping: a throwing hook is ignored. */
function guarded<K extends string>(m: WorkQueueMetrics<K>): WorkQueueMetrics<K> {
  const safe =
    <A extends unknown[]>(f: ((...args: A) => void) | undefined) =>
    (...args: A): void => {
      try {
        f?.apply(m, args);
      } catch {
        // instrumentation must not stop work
      }
    };
  return {
    added: safe(m.added),
    depth: safe(m.depth),
    started: safe(m.started),
    finished: safe(m.finished),
    retried: safe(m.retried),
  };
}
