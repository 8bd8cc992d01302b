import { describe, expect, it } from 'vitest';
import { desiredPoolOf, memberOf, MINUTE, NOW, poolPlanText } from './testing.js';

const lines = (...l: string[]): string => l.map((x) => `InstancePool/sandboxes/runners: ${x}`).join('\n');

describe('idle rule: surplus warm members idle past idleTimeoutSeconds', () => {
  const d = desiredPoolOf({ minReady: 1, idleTimeoutSeconds: 300 });

  it('removes the longest-idle members above the target, and wakes for the next one', () => {
    expect(
      poolPlanText(d, [
        memberOf(d, 1, { idleSince: NOW - 10 * MINUTE }),
        memberOf(d, 2, { idleSince: NOW - 2 * MINUTE }),
        memberOf(d, 3, { idleSince: NOW - 20 * MINUTE }),
        memberOf(d, 4, { idleSince: NOW - MINUTE }),
      ]),
    ).toBe(
      lines(
        'remove m-3 a3a3a3a3a3a3 (idle for 1200s above minReady)',
        'remove m-1 a1a1a1a1a1a1 (idle for 600s above minReady)',
        'next check at 2026-01-01T12:03:00Z',
      ),
    );
  });

  it('keeps minReady members however long they idle, and asks for no wake-up then', () => {
    expect(poolPlanText(d, [memberOf(d, 1, { idleSince: NOW - 60 * MINUTE })])).toBe(lines('nothing to do'));
    expect(poolPlanText(d, [memberOf(d, 1, { idleSince: NOW - 60 * MINUTE }), memberOf(d, 2, { idleSince: NOW - 50 * MINUTE })])).toBe(
      lines('remove m-1 a1a1a1a1a1a1 (idle for 3600s above minReady)'),
    );
  });

  it('keeps members that waiting claims will take', () => {
    expect(poolPlanText(d, [memberOf(d, 1, { idleSince: NOW - 60 * MINUTE }), memberOf(d, 2, { idleSince: NOW - 50 * MINUTE })], { pendingClaims: 1 })).toBe(
      lines('nothing to do'),
    );
  });

  it('does not count starting members as surplus, nor remove before the timeout', () => {
    expect(poolPlanText(d, [memberOf(d, 1, { idleSince: NOW - 60 * MINUTE }), memberOf(d, 2, { health: 'starting' })])).toBe(lines('nothing to do'));
    expect(poolPlanText(d, [memberOf(d, 1, { idleSince: NOW - MINUTE }), memberOf(d, 2, { idleSince: NOW - 4 * MINUTE })])).toBe(
      lines('nothing to do', 'next check at 2026-01-01T12:01:00Z'),
    );
  });

  it('leaves the surge of a rolling update alone', () => {
    const old = desiredPoolOf({ minReady: 1 }, { image: 'python:3.11-slim' });
    expect(poolPlanText(d, [memberOf(old, 1, { claimedBy: 'InstanceClaim/sandboxes/a' }), memberOf(old, 2, { health: 'starting' }), memberOf(d, 3, { idleSince: NOW - 60 * MINUTE }), memberOf(d, 4, { idleSince: NOW - 60 * MINUTE })])).toContain(
      'remove m-2 a2a2a2a2a2a2 (config hash changed: image)',
    );
  });

  it('without idleTimeoutSeconds keeps surplus members', () => {
    const keep = desiredPoolOf({ minReady: 1 });
    expect(poolPlanText(keep, [memberOf(keep, 1, { idleSince: 0 }), memberOf(keep, 2, { idleSince: 0 })])).toBe(lines('nothing to do'));
  });
});
