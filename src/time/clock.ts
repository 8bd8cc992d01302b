// Time as a dependency: the queue, the rate limiter, the worker loop, the
// supervisor and the manager (its resync and engine watchdog)
// read the clock and schedule timers only through this interface, so tests
// drive them with a FakeClock instead of waiting.

/** Cancels a timer; calling it after the timer fired (or twice) does nothing. */
export type Cancel = () => void;

export interface TimerOptions {
  /**
   * false: the timer alone does not keep the process running (Node's unref),
   * for background housekeeping such as a periodic resync, which must not hold
   * a finished CLI command or test run open. Default true.
   */
  keepAlive?: boolean;
}

export interface Clock {
  /** Epoch milliseconds (the same scale as Date.now()). */
  now(): number;
  /** Runs fn once, ms milliseconds from now (ms <= 0 means "as soon as possible"). */
  setTimeout(fn: () => void, ms: number, options?: TimerOptions): Cancel;
}

/** Options of a background timer: it does not keep the process alive. */
export const BACKGROUND: TimerOptions = { keepAlive: false };

// Node clamps longer delays to 1 ms, so long deadlines (a max age of weeks) are chained.
const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms, options) {
    let cancelled = false;
    let handle: ReturnType<typeof setTimeout>;
    const deadline = Date.now() + Math.max(0, ms);
    const arm = (delay: number): void => {
      handle = setTimeout(() => {
        if (cancelled) return;
        const left = deadline - Date.now();
        if (left > 0 && delay === MAX_TIMER_MS) arm(Math.min(left, MAX_TIMER_MS));
        else fn();
      }, delay);
      if (options?.keepAlive === false) handle.unref();
    };
    arm(Math.min(Math.max(0, ms), MAX_TIMER_MS));
    return () => {
      cancelled = true;
      clearTimeout(handle);
    };
  },
};

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that only moves when told. advance(ms) fires every timer that falls
 * due on the way, in deadline order (ties in scheduling order), with now()
 * reading each timer's own deadline while it runs; timers scheduled by a timer
 * fire in the same advance if they fall due before its end.
 */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: FakeTimer[] = [];

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  /** Whether a timer keeps the process alive does not matter here: it fires only when advanced. */
  setTimeout(fn: () => void, ms: number): Cancel {
    const timer: FakeTimer = { at: this.current + Math.max(0, Number.isNaN(ms) ? 0 : ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      const i = this.timers.indexOf(timer);
      if (i >= 0) this.timers.splice(i, 1);
    };
  }

  /** Timers scheduled and not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Deadline of the next timer, if any. */
  nextTimerAt(): number | undefined {
    return this.nextDue(Infinity)?.at;
  }

  /** Moves time forward by ms, firing due timers synchronously. */
  advance(ms: number): void {
    const target = this.current + Math.max(0, ms);
    for (let t = this.takeDue(target); t; t = this.takeDue(target)) {
      this.current = Math.max(this.current, t.at);
      t.fn();
    }
    this.current = target;
  }

  /**
   * Like advance, but lets promise continuations run after every timer (and
   * before returning), so async code woken by a timer can schedule the next.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.current + Math.max(0, ms);
    await flushMicrotasks();
    for (let t = this.takeDue(target); t; t = this.takeDue(target)) {
      this.current = Math.max(this.current, t.at);
      t.fn();
      await flushMicrotasks();
    }
    this.current = target;
    await flushMicrotasks();
  }

  private nextDue(limit: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers) {
      if (t.at <= limit && (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq))) best = t;
    }
    return best;
  }

  private takeDue(limit: number): FakeTimer | undefined {
    const t = this.nextDue(limit);
    if (t) this.timers.splice(this.timers.indexOf(t), 1);
    return t;
  }
}

/** Resolves after every queued promise continuation has run (one macrotask turn). */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
