import { describe, expect, it } from 'vitest';
import { planInstance } from './plan-instance.js';
import { cid, containerOf, desiredInstance, exitedOf, planInput, planText, SECOND } from './testing.js';
import type { DesiredInstance } from './types.js';

const ID = cid('3f2a1b0c9d8e');

/** A container made from `before`, planned against `after`. */
const drifted = (before: DesiredInstance, after: DesiredInstance, extra: Parameters<typeof planText>[2] = {}) =>
  planText(after, [containerOf(before, { id: ID })], extra);

describe('drift rule: the config hash changed', () => {
  it('replaces the container, naming the field that drifted', () => {
    expect(drifted(desiredInstance({ image: 'nginx:1.26' }), desiredInstance({ image: 'nginx:1.27' }))).toBe(
      'Instance/default/web: replace 3f2a1b0c9d8e (config hash changed: image)',
    );
  });

  it('names every drifted field, sorted', () => {
    const before = desiredInstance({ image: 'nginx:1.26', env: [{ name: 'A', value: '1' }] });
    const after = desiredInstance({ image: 'nginx:1.27', env: [{ name: 'A', value: '2' }] });
    expect(drifted(before, after)).toBe('Instance/default/web: replace 3f2a1b0c9d8e (config hash changed: env, image)');
    const action = planInstance(planInput(after, [containerOf(before, { id: ID })])).actions[0];
    expect(action).toEqual({
      type: 'replace',
      reason: 'ConfigDrift',
      cause: 'config hash changed: env, image',
      containerId: ID,
      stopFirst: false,
      driftedFields: ['env', 'image'],
      name: 'berth-default-web',
      tempName: `berth-default-web-${after.hash.hash.slice(3, 11)}`,
      readyTimeoutMs: 0,
    });
  });

  it('stops first when the template binds a fixed host port', () => {
    const before = desiredInstance({ image: 'nginx:1.26', ports: [{ containerPort: 80, hostPort: 8080 }] });
    const after = desiredInstance({ image: 'nginx:1.27', ports: [{ containerPort: 80, hostPort: 8080 }] });
    expect(drifted(before, after)).toBe('Instance/default/web: replace 3f2a1b0c9d8e stop-first (config hash changed: image)');
  });

  it('says only that the hash changed when the old field digests are unknown', () => {
    const before = desiredInstance({ image: 'nginx:1.26' });
    expect(planText(desiredInstance(), [containerOf(before, { id: ID, configFields: undefined })])).toBe(
      'Instance/default/web: replace 3f2a1b0c9d8e (config hash changed)',
    );
  });

  it('replaces a container without a hash label, or with a hash format it does not know', () => {
    const d = desiredInstance();
    expect(planText(d, [containerOf(d, { id: ID, configHash: undefined })])).toBe('Instance/default/web: replace 3f2a1b0c9d8e (config hash label missing)');
    expect(planText(d, [containerOf(d, { id: ID, hashVersion: '9', configHash: 'v9-abc' })])).toBe(
      'Instance/default/web: replace 3f2a1b0c9d8e (config hash of unknown version "9")',
    );
  });

  it('compares a container in its own hash format, so a new format recreates nothing', () => {
    const d = desiredInstance();
    const v0 = { version: '0', hash: 'v0-old-format', fields: { image: 'aaaa0000', env: 'bbbb0000' } };
    const withV0: DesiredInstance = { ...d, hashesByVersion: { '0': v0 } };
    const labelledV0 = containerOf(d, { id: ID, hashVersion: '0', configHash: 'v0-old-format', configFields: { ...v0.fields } });
    expect(planText(withV0, [labelledV0])).toBe('Instance/default/web: nothing to do');
    const driftedV0 = { ...labelledV0, configHash: 'v0-other', configFields: { image: 'ffff0000', env: 'bbbb0000' } };
    expect(planText(withV0, [driftedV0])).toBe('Instance/default/web: replace 3f2a1b0c9d8e (config hash changed: image)');
  });

  it('ignores lifecycle policy: state, restartPolicy and timings do not recreate', () => {
    const before = desiredInstance({ restartPolicy: 'Always' });
    const after = desiredInstance({ restartPolicy: 'OnFailure', maxAgeSeconds: 86_400, ttlSecondsAfterFinished: 60 });
    expect(drifted(before, after)).toBe(['Instance/default/web: nothing to do', 'Instance/default/web: next check at 2026-01-02T11:00:00Z'].join('\n'));
  });

  it('replaces a crashed container at once, without waiting for its backoff', () => {
    const before = desiredInstance({ image: 'nginx:1.26' });
    const crashed = exitedOf(before, 1, SECOND, SECOND, { id: ID });
    expect(planText(desiredInstance(), [crashed], { memory: { restartCount: 6, lastRestartAt: crashed.startedAt! } })).toBe(
      'Instance/default/web: replace 3f2a1b0c9d8e (config hash changed: image)',
    );
  });

  it('does not replace while Stopped (a replacement would start): it stops the old one', () => {
    const before = desiredInstance({ image: 'nginx:1.26' });
    expect(drifted(before, desiredInstance({ state: 'Stopped' }))).toBe('Instance/default/web: stop 3f2a1b0c9d8e (state is Stopped)');
  });
});
