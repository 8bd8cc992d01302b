import { describe, expect, it } from 'vitest';
import { FakeClock } from '../time/clock.js';
import { RuntimeError } from '../runtime/errors.js';
import type { ObservedContainer } from '../runtime/types.js';
import { EXIT_NOTICE_TTL_MS, ExitNotices } from './exit-notices.js';

const container = (id: string, state: ObservedContainer['state'], extra: Partial<ObservedContainer> = {}): ObservedContainer => ({
  id,
  name: id,
  labels: {},
  managedBy: 'c',
  kind: 'Instance',
  namespace: 'default',
  owner: 'web',
  createdAt: 0,
  state,
  hostPorts: [],
  ports: [],
  ...extra,
});

const signal = new AbortController().signal;

describe('ExitNotices', () => {
  it('a noted container the list shows running is replaced by its inspect; the others are left as listed', async () => {
    const notices = new ExitNotices(new FakeClock(0));
    notices.note('a');
    const asked: string[] = [];
    const out = await notices.correct([container('a', 'running'), container('b', 'running')], async (id) => {
      asked.push(id);
      return container(id, 'exited', { exitCode: 137, finishedAt: 5 });
    }, signal);
    expect(asked).toEqual(['a']);
    expect(out.map((c) => [c.id, c.state, c.exitCode])).toEqual([['a', 'exited', 137], ['b', 'running', undefined]]);
  });

  it('a note is used once, and a list that already shows the exit costs no inspect', async () => {
    const notices = new ExitNotices(new FakeClock(0));
    notices.note('a');
    notices.note('b');
    const asked: string[] = [];
    const inspect = async (id: string) => (asked.push(id), container(id, 'running'));
    await notices.correct([container('a', 'running'), container('b', 'exited')], inspect, signal);
    await notices.correct([container('a', 'running'), container('b', 'exited')], inspect, signal);
    expect(asked).toEqual(['a']);
    expect(notices.size).toBe(0);
  });

  it('a container the inspect finds gone is dropped; a failed inspect keeps the note for the retry', async () => {
    const notices = new ExitNotices(new FakeClock(0));
    notices.note('gone');
    const out = await notices.correct([container('gone', 'running')], () => Promise.reject(new RuntimeError('NotFound', 'no such container')), signal);
    expect(out).toEqual([]);
    notices.note('a');
    await expect(notices.correct([container('a', 'running')], () => Promise.reject(new RuntimeError('Unavailable', 'engine down')), signal)).rejects.toThrow('engine down');
    expect(notices.size).toBe(1);
  });

  it('notes of containers never listed again are dropped after the TTL, when the next one is noted', () => {
    const clock = new FakeClock(0);
    const notices = new ExitNotices(clock);
    notices.note('a');
    clock.advance(EXIT_NOTICE_TTL_MS - 1);
    notices.note('b');
    expect(notices.size).toBe(2);
    clock.advance(1);
    notices.note('c');
    expect(notices.size).toBe(2);
    notices.forget('b');
    expect(notices.size).toBe(1);
  });
});
