import { describe, expect, it } from 'vitest';
import { formatAction, formatPlan, formatPlans, formatTime } from './format.js';
import { cid, KEY, NOW } from './testing.js';
import type { Plan } from './types.js';

const ID = cid('3f2a1b0c9d8e');

describe('formatPlan', () => {
  it('prints one line per action with its cause, in plan order', () => {
    const plan: Plan = {
      key: KEY,
      actions: [
        { type: 'create', cause: 'container missing', name: 'berth-default-web' },
        { type: 'start', cause: 'container created but not started', containerId: ID },
        { type: 'replace', reason: 'ConfigDrift', cause: 'config hash changed: env, image', containerId: ID, stopFirst: false, tempName: 'berth-default-web-next', readyTimeoutMs: 60_000, driftedFields: ['env', 'image'], name: 'berth-default-web' },
        { type: 'replace', reason: 'MaxAgeExceeded', cause: 'max age exceeded', containerId: ID, stopFirst: true, tempName: 'berth-default-web-next', readyTimeoutMs: 60_000, name: 'berth-default-web' },
        { type: 'restart', cause: 'container exited with code 1', containerId: ID, attempt: 3 },
        { type: 'rename', cause: 'finish replacement of 01d01d01d01d', containerId: ID, name: 'berth-default-web' },
        { type: 'stop', cause: 'state is Stopped', containerId: ID },
        { type: 'remove', cause: 'spec deleted', containerId: ID },
      ],
    };
    expect(formatPlan(plan)).toBe(
      [
        'Instance/default/web: create berth-default-web (container missing)',
        'Instance/default/web: start 3f2a1b0c9d8e (container created but not started)',
        'Instance/default/web: replace 3f2a1b0c9d8e (config hash changed: env, image)',
        'Instance/default/web: replace 3f2a1b0c9d8e stop-first (max age exceeded)',
        'Instance/default/web: restart 3f2a1b0c9d8e attempt 3 (container exited with code 1)',
        'Instance/default/web: rename 3f2a1b0c9d8e to berth-default-web (finish replacement of 01d01d01d01d)',
        'Instance/default/web: stop 3f2a1b0c9d8e (state is Stopped)',
        'Instance/default/web: remove 3f2a1b0c9d8e (spec deleted)',
      ].join('\n'),
    );
  });

  it('says "nothing to do", the wait and the next wake-up', () => {
    expect(formatPlan({ key: KEY, actions: [] })).toBe('Instance/default/web: nothing to do');
    expect(formatPlan({ key: KEY, actions: [], nextDeadline: NOW + 1500 })).toBe(
      ['Instance/default/web: nothing to do', 'Instance/default/web: next check at 2026-01-01T12:00:01.500Z'].join('\n'),
    );
    expect(formatPlan({ key: KEY, actions: [], nextDeadline: NOW + 10_000, waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s', until: NOW + 10_000 } })).toBe(
      'Instance/default/web: waiting CrashLoopBackOff until 2026-01-01T12:00:10Z (back-off 10s)',
    );
    expect(formatPlan({ key: KEY, actions: [], waiting: { reason: 'PruneDisabled', message: 'kept' } })).toBe('Instance/default/web: waiting PruneDisabled (kept)');
  });

  it('joins several plans', () => {
    const other = { ...KEY, name: 'api' };
    expect(formatPlans([{ key: KEY, actions: [] }, { key: other, actions: [] }])).toBe(
      'Instance/default/web: nothing to do\nInstance/default/api: nothing to do',
    );
  });

  it('never throws on odd times', () => {
    expect(formatTime(Number.NaN)).toBe('NaN');
    expect(formatTime(1e20)).toBe('100000000000000000000');
    expect(formatAction({ type: 'stop', cause: 'x', containerId: 'short' })).toBe('stop short (x)');
  });
});
