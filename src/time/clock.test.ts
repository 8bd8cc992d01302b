import { describe, expect, it, vi } from 'vitest';
import { BACKGROUND, FakeClock, systemClock } from './clock.js';

describe('FakeClock', () => {
  it('fires due timers in deadline order, ties in scheduling order, with now() at each deadline', () => {
    const clock = new FakeClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 30);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`late@${clock.now()}`), 31);
    clock.advance(30);
    expect(fired).toEqual(['a@1010', 'b@1010', 'c@1030']);
    expect(clock.now()).toBe(1030);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.nextTimerAt()).toBe(1031);
  });

  it('fires timers scheduled by timers when they fall due within the same advance', () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 5);
      clock.setTimeout(() => fired.push(clock.now()), 50);
    }, 10);
    clock.advance(20);
    expect(fired).toEqual([10, 15]);
    clock.advance(100);
    expect(fired).toEqual([10, 15, 60]);
  });

  it('cancels timers, idempotently', () => {
    const clock = new FakeClock();
    let fired = false;
    const cancel = clock.setTimeout(() => (fired = true), 1);
    cancel();
    cancel();
    clock.advance(10);
    expect(fired).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  it('advanceAsync lets promise continuations schedule the next timer', async () => {
    const clock = new FakeClock();
    const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
    const seen: number[] = [];
    const loop = (async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(10);
        seen.push(clock.now());
      }
    })();
    await clock.advanceAsync(30);
    await loop;
    expect(seen).toEqual([10, 20, 30]);
  });
});

describe('systemClock', () => {
  it('runs and cancels real timers', async () => {
    const start = systemClock.now();
    let cancelledFired = false;
    systemClock.setTimeout(() => (cancelledFired = true), 5)();
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 10));
    expect(systemClock.now() - start).toBeGreaterThanOrEqual(9);
    expect(cancelledFired).toBe(false);
  });

  it('a background timer does not keep the process alive; a default one does', () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    try {
      const cancels = [systemClock.setTimeout(() => undefined, 60_000, BACKGROUND), systemClock.setTimeout(() => undefined, 60_000)];
      const [background, foreground] = spy.mock.results.map((r) => r.value as NodeJS.Timeout);
      expect(background?.hasRef()).toBe(false);
      expect(foreground?.hasRef()).toBe(true);
      for (const cancel of cancels) cancel();
    } finally {
      spy.mockRestore();
    }
  });
});

describe('systemClock long delays', () => {
  it('chains timers beyond the 2^31-1 ms Node limit instead of firing early', () => {
    vi.useFakeTimers({ now: 0 });
    try {
      let fired = false;
      const month = 30 * 24 * 3600 * 1000; // > 2^31-1 ms (24.8 days)
      systemClock.setTimeout(() => (fired = true), month);
      vi.advanceTimersByTime(2 ** 31 - 1);
      expect(fired).toBe(false);
      vi.advanceTimersByTime(month - 2 ** 31);
      expect(fired).toBe(false);
      vi.advanceTimersByTime(1);
      expect(fired).toBe(true);
      const cancel = systemClock.setTimeout(() => (fired = false), month);
      vi.advanceTimersByTime(2 ** 31);
      cancel();
      vi.advanceTimersByTime(month);
      expect(fired).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
