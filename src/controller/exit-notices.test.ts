import { describe, expect, it } from 'vitest';
import { FakeClock } from '../time/clock.js';
import { RuntimeError } from '../runtime/errors.js';
import type { ObservedContainer } from '../runtime/types.js';
import { EXIT_NOTICE_TTL_MS, ExitNotices, type Inspect } from './exit-notices.js';

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

/** An engine whose inspect answers from `answers` (in order per id; the last repeats) and records each call. */
function engine(answers: Record<string, Array<ObservedContainer | Error>>): { inspect: Inspect; asked: string[] } {
  const asked: string[] = [];
  const inspect: Inspect = (id) => {
    const n = asked.filter((a) => a === id).length;
    asked.push(id);
    const list = answers[id] ?? [new RuntimeError('NotFound', `no such container: ${id}`)];
    const a = list[Math.min(n, list.length - 1)]!;
    return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
  };
  return { inspect, asked };
}

describe('ExitNotices', () => {
  it('asks the engine at the die, and the list then shows its answer for that container; the others stay as listed', async () => {
    const e = engine({ a: [container('a', 'exited', { exitCode: 137, finishedAt: 5 })] });
    const notices = new ExitNotices(new FakeClock(0), e.inspect, signal);
    notices.note('a');
    expect(e.asked).toEqual(['a']); // before any reconcile lists
    const out = await notices.correct([container('a', 'running'), container('b', 'running')], signal);
    expect(out.map((c) => [c.id, c.state, c.exitCode])).toEqual([['a', 'exited', 137], ['b', 'running', undefined]]);
    expect(e.asked).toEqual(['a']);
  });

  it('a note is used once; a list that already shows the exit keeps its own entry', async () => {
    const e = engine({ a: [container('a', 'exited')], b: [container('b', 'exited', { exitCode: 1 })] });
    const notices = new ExitNotices(new FakeClock(0), e.inspect, signal);
    notices.note('a');
    notices.note('b');
    const listedB = container('b', 'exited', { exitCode: 2 });
    const first = await notices.correct([container('a', 'running'), listedB], signal);
    expect(first[1]).toBe(listedB);
    const second = await notices.correct([container('a', 'running'), listedB], signal);
    expect(second[0]!.state).toBe('running');
    expect(notices.size).toBe(0);
  });

  it('a container the inspect found gone is dropped from the list', async () => {
    const notices = new ExitNotices(new FakeClock(0), engine({}).inspect, signal);
    notices.note('gone');
    expect(await notices.correct([container('gone', 'running')], signal)).toEqual([]);
  });

  it('a failed inspect is asked again by the reconcile; failing again, the note stays for its retry', async () => {
    const down = new RuntimeError('Unavailable', 'engine down');
    const e = engine({ a: [down, down, container('a', 'exited')] });
    const notices = new ExitNotices(new FakeClock(0), e.inspect, signal);
    notices.note('a');
    await expect(notices.correct([container('a', 'running')], signal)).rejects.toThrow('engine down');
    expect(notices.size).toBe(1);
    const out = await notices.correct([container('a', 'running')], signal);
    expect(out[0]!.state).toBe('exited');
    expect(e.asked).toEqual(['a', 'a', 'a']);
  });

  it('notes of containers never listed again are dropped after the TTL, when the next one is noted', () => {
    const clock = new FakeClock(0);
    const notices = new ExitNotices(clock, engine({}).inspect, signal);
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
