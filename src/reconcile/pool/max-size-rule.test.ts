import { describe, expect, it } from 'vitest';
import { desiredPoolOf, HOUR, memberOf, NOW, poolPlanText } from './testing.js';

const lines = (...l: string[]): string => l.map((x) => `InstancePool/sandboxes/runners: ${x}`).join('\n');

describe('max-size rule: more members than maxSize', () => {
  it('removes unclaimed members until the pool fits: drifted first, then the oldest', () => {
    const d = desiredPoolOf({ minReady: 1, maxSize: 2, updateStrategy: { maxSurge: 1, maxUnavailable: 1 } });
    const old = desiredPoolOf({ minReady: 1 }, { image: 'python:3.11-slim' });
    expect(
      poolPlanText(d, [
        memberOf(d, 1, { container: { createdAt: NOW - 3 * HOUR } }),
        memberOf(d, 2, { claimedBy: 'InstanceClaim/sandboxes/a', container: { createdAt: NOW - 4 * HOUR } }),
        memberOf(d, 3, { container: { createdAt: NOW - 2 * HOUR } }),
        memberOf(d, 4, { container: { createdAt: NOW - HOUR } }),
        memberOf(old, 5, { health: 'starting', claimedBy: 'InstanceClaim/sandboxes/b' }),
      ]),
    ).toBe(
      lines(
        'remove m-1 a1a1a1a1a1a1 (above maxSize 2)',
        'remove m-3 a3a3a3a3a3a3 (above maxSize 2)',
        'remove m-4 a4a4a4a4a4a4 (above maxSize 2)',
        'rollout 4 of 5 members updated',
      ),
    );
  });

  it('takes drifted members first when it must choose', () => {
    const d = desiredPoolOf({ minReady: 1, maxSize: 2, updateStrategy: { maxSurge: 1, maxUnavailable: 0 } });
    const old = desiredPoolOf({ minReady: 1 }, { image: 'python:3.11-slim' });
    expect(
      poolPlanText(d, [memberOf(d, 1, { container: { createdAt: NOW - 3 * HOUR } }), memberOf(d, 2), memberOf(old, 3, { container: { createdAt: NOW - 10 } })]),
    ).toBe(lines('remove m-3 a3a3a3a3a3a3 (config hash changed: image)', 'rollout 2 of 3 members updated'));
  });

  it('never removes claimed members, even when they alone exceed maxSize', () => {
    const d = desiredPoolOf({ minReady: 1, maxSize: 1 });
    expect(
      poolPlanText(d, [memberOf(d, 1, { claimedBy: 'InstanceClaim/sandboxes/a' }), memberOf(d, 2, { claimedBy: 'InstanceClaim/sandboxes/b' })], { pendingClaims: 3 }),
    ).toBe(lines('nothing to do'));
  });
});
