import { describe, expect, it } from 'vitest';
import { cid, containerOf, desiredInstance, NOW, planText, SECOND } from './testing.js';

const ID = cid('3f2a1b0c9d8e');
const healthCheck = { exec: { command: ['python', '-c', "print('OK')"] }, failureThreshold: 3 };

describe('probe rule: health check failing failureThreshold times', () => {
  const d = desiredInstance({ healthCheck });
  const running = containerOf(d, { id: ID });

  it('restarts the container', () => {
    // It has run for an hour: any earlier backoff is forgotten.
    expect(planText(d, [running], { memory: { probeFailures: 3 } })).toBe('Instance/default/web: restart 3f2a1b0c9d8e attempt 1 (health check failed 3 times)');
  });

  it('tolerates failures below the threshold', () => {
    expect(planText(d, [running], { memory: { probeFailures: 2 } })).toBe('Instance/default/web: nothing to do');
  });

  it('ignores failures without a health check', () => {
    const plain = desiredInstance();
    expect(planText(plain, [containerOf(plain, { id: ID })], { memory: { probeFailures: 10 } })).toBe('Instance/default/web: nothing to do');
  });

  it('backs off like a crash', () => {
    const restarted = { ...running, startedAt: NOW - 5 * SECOND };
    expect(planText(d, [restarted], { memory: { probeFailures: 3, restartCount: 2, lastRestartAt: NOW - 5 * SECOND } })).toBe(
      'Instance/default/web: waiting CrashLoopBackOff until 2026-01-01T12:00:15Z (back-off 20s restarting unhealthy container 3f2a1b0c9d8e (health check failed 3 times))',
    );
  });

  it('gives way to a replacement when the config drifted', () => {
    const before = desiredInstance({ healthCheck, image: 'nginx:1.26' });
    expect(planText(d, [containerOf(before, { id: ID })], { memory: { probeFailures: 3 } })).toBe(
      'Instance/default/web: replace 3f2a1b0c9d8e (config hash changed: image)',
    );
  });
});
