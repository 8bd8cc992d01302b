import { describe, expect, it } from 'vitest';
import { cid, containerOf, exitedOf, HOUR, planText } from './testing.js';

describe('prune rule: the spec is gone', () => {
  const ours = containerOf(undefined, { id: cid('3f2a1b0c9d8e') });
  const oursExited = exitedOf(undefined, 0, HOUR, 1000, { id: cid('1a1a1a1a1a1a'), name: 'berth-default-web-old', createdAt: 1 });
  const theirs = containerOf(undefined, { id: cid('0e0e0e0e0e0e'), managedBy: 'someone-else' });

  it('removes every container of ours, oldest first, and nothing else', () => {
    expect(planText(undefined, [ours, theirs, oursExited])).toBe(
      ['Instance/default/web: remove 1a1a1a1a1a1a (spec deleted)', 'Instance/default/web: remove 3f2a1b0c9d8e (spec deleted)'].join('\n'),
    );
  });

  it('keeps them when the deleted spec opted out of pruning', () => {
    expect(planText(undefined, [ours, theirs], { pruneDisabled: true })).toBe(
      'Instance/default/web: waiting PruneDisabled (spec deleted; berth.dev/prune: disabled keeps 1 container)',
    );
  });

  it('has nothing to do when nothing of ours is left', () => {
    expect(planText(undefined, [theirs])).toBe('Instance/default/web: nothing to do');
    expect(planText(undefined, [theirs], { pruneDisabled: true })).toBe('Instance/default/web: nothing to do');
  });

  it('leaves a container that is already being removed alone', () => {
    expect(planText(undefined, [{ ...ours, state: 'removing' }])).toBe('Instance/default/web: nothing to do');
  });
});
