import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatPlan } from './format.js';
import { keptContainer, planInstance } from './plan-instance.js';
import { cid, CONTAINER_NAME, containerOf, desiredInstance, exitedOf, HOUR, MINUTE, NOW, planInput, planText, SECOND } from './testing.js';

const OLD = cid('01d01d01d01d');
const NEW = cid('feedfeedfeed');

describe('duplicates rule: several containers for one Instance', () => {
  const before = desiredInstance({ image: 'nginx:1.26' });
  const d = desiredInstance({ image: 'nginx:1.27' });
  const old = containerOf(before, { id: OLD, createdAt: NOW - HOUR });
  const fresh = containerOf(d, { id: NEW, name: 'berth-default-web-next', createdAt: NOW - MINUTE });

  it('finishes a replacement the controller crashed in: old removed, new renamed', () => {
    expect(planText(d, [old, fresh])).toBe(
      [
        'Instance/default/web: remove 01d01d01d01d (replaced by feedfeedfeed)',
        'Instance/default/web: rename feedfeedfeed to berth-default-web (finish replacement of 01d01d01d01d)',
      ].join('\n'),
    );
  });

  it('starts a new container that was created but not started before the old one goes', () => {
    const created = { ...fresh, state: 'created' as const, startedAt: undefined };
    expect(planText(d, [old, created])).toBe(
      [
        'Instance/default/web: start feedfeedfeed (container created but not started)',
        'Instance/default/web: remove 01d01d01d01d (replaced by feedfeedfeed)',
        'Instance/default/web: rename feedfeedfeed to berth-default-web (finish replacement of 01d01d01d01d)',
      ].join('\n'),
    );
  });

  it('removes the old one first when both would bind a fixed host port', () => {
    const ports = [{ containerPort: 80, hostPort: 8080 }];
    const dp = desiredInstance({ image: 'nginx:1.27', ports });
    const oldP = containerOf(desiredInstance({ image: 'nginx:1.26', ports }), { id: OLD, state: 'exited', exitCode: 0, finishedAt: NOW - SECOND });
    const createdP = containerOf(dp, { id: NEW, name: 'berth-default-web-next', state: 'created', startedAt: undefined });
    expect(planText(dp, [createdP, oldP])).toBe(
      [
        'Instance/default/web: remove 01d01d01d01d (replaced by feedfeedfeed)',
        'Instance/default/web: start feedfeedfeed (container created but not started)',
        'Instance/default/web: rename feedfeedfeed to berth-default-web (finish replacement of 01d01d01d01d)',
      ].join('\n'),
    );
  });

  it('keeps the desired config over a running old one, running over exited, newest over older; removes oldest first', () => {
    const a = containerOf(d, { id: cid('aaaaaaaaaaaa'), name: 'x-a', createdAt: NOW - 3 * HOUR });
    const b = containerOf(d, { id: cid('bbbbbbbbbbbb'), name: CONTAINER_NAME, createdAt: NOW - 2 * HOUR });
    const c = exitedOf(d, 1, SECOND, SECOND, { id: cid('cccccccccccc'), name: 'x-c', createdAt: NOW - HOUR });
    expect(planText(d, [c, a, b, old])).toBe(
      [
        'Instance/default/web: remove aaaaaaaaaaaa (duplicate container)',
        'Instance/default/web: remove 01d01d01d01d (replaced by bbbbbbbbbbbb)',
        'Instance/default/web: remove cccccccccccc (duplicate container)',
      ].join('\n'),
    );
  });

  it('when none carries the desired config, keeps one, removes the rest, then replaces the kept one', () => {
    const older = containerOf(before, { id: cid('aaaaaaaaaaaa'), name: 'x-a', createdAt: NOW - 3 * HOUR });
    expect(planText(d, [older, old])).toBe(
      ['Instance/default/web: remove aaaaaaaaaaaa (duplicate container)', 'Instance/default/web: replace 01d01d01d01d (config hash changed: image)'].join('\n'),
    );
  });

  it('does not rename while a container it does not remove holds the name', () => {
    const squatter = containerOf(d, { id: cid('5a5a5a5a5a5a'), managedBy: 'another-controller' });
    expect(planText(d, [fresh, squatter])).toBe('Instance/default/web: nothing to do');
    const leaving = { ...old, state: 'removing' as const };
    expect(planText(d, [fresh, leaving])).toBe('Instance/default/web: nothing to do');
  });

  it('exposes the kept container for status', () => {
    expect(keptContainer(planInput(d, [old, fresh]))?.id).toBe(NEW);
    expect(keptContainer(planInput(undefined, [old, fresh]))).toBeUndefined();
  });

  it('takes the canonical name when nobody holds it', () => {
    expect(planText(d, [fresh])).toBe('Instance/default/web: rename feedfeedfeed to berth-default-web (not under its canonical name)');
  });

  it('plans the same whatever order the runtime lists containers in', () => {
    const pool = [
      old,
      fresh,
      exitedOf(d, 1, SECOND, SECOND, { id: cid('cccccccccccc'), name: 'x-c' }),
      containerOf(d, { id: cid('dddddddddddd'), name: 'x-d', createdAt: NOW - MINUTE }),
      containerOf(before, { id: cid('eeeeeeeeeeee'), name: 'x-e', state: 'created' }),
    ];
    const expected = formatPlan(planInstance(planInput(d, pool)));
    fc.assert(fc.property(fc.shuffledSubarray(pool, { minLength: pool.length }), (shuffled) => formatPlan(planInstance(planInput(d, shuffled))) === expected));
  });
});
