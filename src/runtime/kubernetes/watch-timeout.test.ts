import { describe, expect, it } from 'vitest';
import { idleWatchSeconds } from './watch-timeout.js';

describe('idleWatchSeconds', () => {
  it('ends a watch at 60-90 % of the stall timeout, so an idle watch is never taken for stalled', () => {
    expect(idleWatchSeconds(90_000, () => 0)).toBe(54);
    expect(idleWatchSeconds(90_000, () => 0.999)).toBe(80);
    expect(idleWatchSeconds(1_500, () => 0.5)).toBe(1);
  });

  it('stays within 300..600 s for long stall timeouts, and at least 1 s', () => {
    expect(idleWatchSeconds(3_600_000, () => 0)).toBe(300);
    expect(idleWatchSeconds(100, () => 0)).toBe(1);
  });
});
