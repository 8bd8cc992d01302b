import { describe, expect, it } from 'vitest';
import { cid, containerOf, desiredInstance, exitedOf, HOUR, planText } from './testing.js';

const ID = cid('3f2a1b0c9d8e');

describe('stopped rule: state Stopped', () => {
  const d = desiredInstance({ state: 'Stopped' });

  it('stops a running container and keeps it', () => {
    expect(planText(d, [containerOf(d, { id: ID })])).toBe('Instance/default/web: stop 3f2a1b0c9d8e (state is Stopped)');
    expect(planText(d, [containerOf(d, { id: ID, state: 'paused' })])).toBe('Instance/default/web: stop 3f2a1b0c9d8e (state is Stopped)');
  });

  it('leaves a stopped container as it is, and never restarts it', () => {
    expect(planText(d, [exitedOf(d, 137, HOUR, HOUR, { id: ID })])).toBe('Instance/default/web: nothing to do');
    expect(planText(d, [containerOf(d, { id: ID, state: 'created' })])).toBe('Instance/default/web: nothing to do');
  });

  it('never creates', () => {
    expect(planText(d, [])).toBe('Instance/default/web: nothing to do');
  });
});
