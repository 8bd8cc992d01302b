// client-go's workqueue rate limiters: how long a key waits before it is
// retried. DefaultControllerRateLimiter is the max of a per-key exponential
// failure backoff (5 ms doubling to 1000 s) and an overall token bucket
// (10 qps, burst 100) that reserves future slots the way golang.org/x/time/rate
// does, so a burst of failures is spread out instead of hammering the engine.
import { systemClock, type Clock } from '../time/clock.js';

export interface RateLimiter<K extends string = string> {
  /** Delay in ms before key may be retried; counts as one more failure of key. */
  when(key: K): number;
  /** Stops tracking key: its next failure starts the backoff again. */
  forget(key: K): void;
  /** Failures of key since it was last forgotten. */
  numRequeues(key: K): number;
}

/** baseMs * 2^failures, capped at maxMs (client-go ItemExponentialFailureRateLimiter). */
export class ItemExponentialFailureRateLimiter<K extends string = string> implements RateLimiter<K> {
  private readonly failures = new Map<K, number>();

  constructor(
    readonly baseMs = 5,
    readonly maxMs = 1_000_000,
  ) {
    if (!(baseMs >= 0) || !(maxMs >= 0)) throw new RangeError('ItemExponentialFailureRateLimiter: delays must be >= 0');
  }

  when(key: K): number {
    const exp = this.failures.get(key) ?? 0;
    this.failures.set(key, exp + 1);
    const backoff = this.baseMs * 2 ** exp; // Infinity once exp is large: capped below
    return backoff > this.maxMs ? this.maxMs : backoff;
  }

  forget(key: K): void {
    this.failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }
}

/**
 * One token bucket for all keys (client-go BucketRateLimiter over
 * rate.Limiter.Reserve): the bucket starts full; each when() takes a token,
 * going into debt when none is left, and returns how long until the token it
 * reserved exists. Reservations are never cancelled.
 */
export class BucketRateLimiter<K extends string = string> implements RateLimiter<K> {
  private tokens: number;
  private last: number | undefined;

  constructor(
    readonly qps = 10,
    readonly burst = 100,
    private readonly clock: Pick<Clock, 'now'> = systemClock,
  ) {
    if (!(qps > 0)) throw new RangeError('BucketRateLimiter: qps must be > 0');
    if (!(burst >= 1)) throw new RangeError('BucketRateLimiter: burst must be >= 1');
    this.tokens = burst;
  }

  when(_key: K): number {
    const now = this.clock.now();
    // advance: refill for the time since the last reservation (never backwards).
    const last = this.last === undefined || now < this.last ? now : this.last;
    this.tokens = Math.min(this.burst, this.tokens + ((now - last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens < 0 ? (-this.tokens / this.qps) * 1000 : 0;
  }

  forget(_key: K): void {}

  numRequeues(_key: K): number {
    return 0;
  }
}

/** The longest delay of several limiters; every limiter sees every call (client-go MaxOfRateLimiter). */
export class MaxOfRateLimiter<K extends string = string> implements RateLimiter<K> {
  private readonly limiters: readonly RateLimiter<K>[];

  constructor(...limiters: RateLimiter<K>[]) {
    if (limiters.length === 0) throw new RangeError('MaxOfRateLimiter: needs at least one limiter');
    this.limiters = limiters;
  }

  when(key: K): number {
    let delay = 0;
    for (const l of this.limiters) delay = Math.max(delay, l.when(key));
    return delay;
  }

  forget(key: K): void {
    for (const l of this.limiters) l.forget(key);
  }

  numRequeues(key: K): number {
    let n = 0;
    for (const l of this.limiters) n = Math.max(n, l.numRequeues(key));
    return n;
  }
}

export interface ControllerRateLimiterOptions {
  clock?: Pick<Clock, 'now'>;
  /** Per-key backoff: first retry delay (default 5 ms), doubled per failure. */
  baseDelayMs?: number;
  /** Per-key backoff cap (default 1000 s). */
  maxDelayMs?: number;
  /** Overall retry rate (default 10 per second). */
  qps?: number;
  /** Overall burst (default 100). */
  burst?: number;
}

/** client-go DefaultControllerRateLimiter: max(per-key exponential backoff, overall token bucket). */
export function defaultControllerRateLimiter<K extends string = string>(options: ControllerRateLimiterOptions = {}): RateLimiter<K> {
  return new MaxOfRateLimiter<K>(
    new ItemExponentialFailureRateLimiter<K>(options.baseDelayMs ?? 5, options.maxDelayMs ?? 1_000_000),
    new BucketRateLimiter<K>(options.qps ?? 10, options.burst ?? 100, options.clock ?? systemClock),
  );
}
