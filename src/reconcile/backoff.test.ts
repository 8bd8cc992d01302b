import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BACKOFF_CAP_MS, effectiveRestartCount, formatDelay, restartDelayMs, restartGate } from './backoff.js';
import { containerOf, exitedOf, MINUTE, NOW, SECOND } from './testing.js';

describe('restartDelayMs', () => {
  it('is immediate first, then 10 s doubling to a 300 s cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 100].map((n) => restartDelayMs(n) / 1000)).toEqual([0, 10, 20, 40, 80, 160, 300, 300, 300]);
  });
  it('is total: odd counts give a delay within [0, cap]', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.integer()), (n) => {
        const d = restartDelayMs(n);
        return d >= 0 && d <= BACKOFF_CAP_MS;
      }),
    );
  });
  it('never shrinks as restarts add up', () => {
    fc.assert(fc.property(fc.nat(1000), (n) => restartDelayMs(n + 1) >= restartDelayMs(n)));
  });
});

describe('effectiveRestartCount', () => {
  it('resets once the container ran for 10 minutes', () => {
    expect(effectiveRestartCount({ restartCount: 5 }, exitedOf(undefined, 1, SECOND, 10 * MINUTE), NOW)).toBe(0);
    expect(effectiveRestartCount({ restartCount: 5 }, exitedOf(undefined, 1, SECOND, 10 * MINUTE - 1), NOW)).toBe(5);
    expect(effectiveRestartCount({ restartCount: 5 }, containerOf(undefined, { startedAt: NOW - 11 * MINUTE }), NOW)).toBe(0);
  });
});

describe('restartGate', () => {
  const crashed = exitedOf(undefined, 1, SECOND);
  it('allows the first restart at once', () => {
    expect(restartGate({ restartCount: 0, lastRestartAt: NOW - SECOND }, crashed, NOW)).toEqual({ allowed: true, attempt: 1 });
  });
  it('holds a later restart until lastRestartAt + delay', () => {
    expect(restartGate({ restartCount: 3, lastRestartAt: NOW - 30 * SECOND }, crashed, NOW)).toEqual({
      allowed: false,
      attempt: 4,
      until: NOW + 10 * SECOND,
      delayMs: 40 * SECOND,
    });
    expect(restartGate({ restartCount: 3, lastRestartAt: NOW - 40 * SECOND }, crashed, NOW)).toEqual({ allowed: true, attempt: 4 });
  });
});

describe('formatDelay', () => {
  it('prints like Kubernetes', () => {
    expect([0, 10_000, 59_000, 60_000, 80_000, 300_000].map(formatDelay)).toEqual(['0s', '10s', '59s', '1m0s', '1m20s', '5m0s']);
  });
});
