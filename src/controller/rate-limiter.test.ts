import { describe, expect, it } from 'vitest';
import { FakeClock } from '../time/clock.js';
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
} from './rate-limiter.js';

describe('ItemExponentialFailureRateLimiter', () => {
  it('backs off 5 ms, 10 ms, 20 ms ... per key, capped at 1000 s', () => {
    const rl = new ItemExponentialFailureRateLimiter();
    const delays = Array.from({ length: 22 }, () => rl.when('a'));
    expect(delays.slice(0, 5)).toEqual([5, 10, 20, 40, 80]);
    expect(delays[17]).toBe(5 * 2 ** 17); // 655.36 s
    expect(delays[18]).toBe(1_000_000); // 1310.72 s capped
    expect(delays.slice(18)).toEqual([1_000_000, 1_000_000, 1_000_000, 1_000_000]);
    expect(rl.numRequeues('a')).toBe(22);
    expect(rl.when('b')).toBe(5); // keys are independent
  });

  it('never overflows past the cap', () => {
    const rl = new ItemExponentialFailureRateLimiter(5, 1_000_000);
    for (let i = 0; i < 2000; i++) rl.when('a');
    expect(rl.when('a')).toBe(1_000_000);
  });

  it('forget resets the backoff and the requeue count', () => {
    const rl = new ItemExponentialFailureRateLimiter();
    rl.when('a');
    rl.when('a');
    rl.when('a');
    expect(rl.numRequeues('a')).toBe(3);
    rl.forget('a');
    expect(rl.numRequeues('a')).toBe(0);
    expect(rl.when('a')).toBe(5);
  });
});

describe('BucketRateLimiter', () => {
  it('lets a burst of 100 through, then reserves slots 100 ms apart (10 qps)', () => {
    const clock = new FakeClock(0);
    const rl = new BucketRateLimiter(10, 100, clock);
    const delays = Array.from({ length: 103 }, (_, i) => rl.when(`k${i}`));
    expect(delays.slice(0, 100).every((d) => d === 0)).toBe(true);
    expect(delays[100]).toBeCloseTo(100, 6);
    expect(delays[101]).toBeCloseTo(200, 6);
    expect(delays[102]).toBeCloseTo(300, 6);
  });

  it('refills with time, up to the burst', () => {
    const clock = new FakeClock(0);
    const rl = new BucketRateLimiter(10, 100, clock);
    for (let i = 0; i < 100; i++) rl.when('k');
    clock.advance(1000); // 10 tokens back
    for (let i = 0; i < 10; i++) expect(rl.when('k')).toBe(0);
    expect(rl.when('k')).toBeCloseTo(100, 6);
    clock.advance(3_600_000);
    for (let i = 0; i < 100; i++) expect(rl.when('k')).toBe(0);
    expect(rl.when('k')).toBeCloseTo(100, 6);
  });

  it('a reservation in debt is paid off by waiting for it', () => {
    const clock = new FakeClock(0);
    const rl = new BucketRateLimiter(10, 1, clock);
    expect(rl.when('k')).toBe(0);
    expect(rl.when('k')).toBeCloseTo(100, 6);
    expect(rl.when('k')).toBeCloseTo(200, 6);
    clock.advance(200);
    expect(rl.when('k')).toBeCloseTo(100, 6);
  });

  it('has no per-key memory', () => {
    const rl = new BucketRateLimiter(10, 100, new FakeClock());
    rl.when('k');
    expect(rl.numRequeues('k')).toBe(0);
  });
});

describe('defaultControllerRateLimiter', () => {
  it('is the max of the per-key backoff and the overall bucket', () => {
    const clock = new FakeClock(0);
    const rl = defaultControllerRateLimiter({ clock });
    // 100 different keys fail once: the burst absorbs them, per-key backoff is 5 ms.
    for (let i = 0; i < 100; i++) expect(rl.when(`k${i}`)).toBe(5);
    // The 101st failure anywhere waits for the bucket.
    expect(rl.when('k0')).toBeCloseTo(100, 6);
    expect(rl.numRequeues('k0')).toBe(2);
    rl.forget('k0');
    expect(rl.numRequeues('k0')).toBe(0);
  });

  it('per-key backoff wins once it exceeds the bucket delay', () => {
    const clock = new FakeClock(0);
    const rl = defaultControllerRateLimiter({ clock });
    const delays: number[] = [];
    for (let i = 0; i < 20; i++) {
      delays.push(rl.when('a'));
      clock.advance(delays[i] ?? 0);
    }
    expect(delays.slice(0, 4)).toEqual([5, 10, 20, 40]);
    expect(delays[19]).toBe(1_000_000);
  });

  it('MaxOf needs a limiter', () => {
    expect(() => new MaxOfRateLimiter()).toThrow(RangeError);
  });
});
