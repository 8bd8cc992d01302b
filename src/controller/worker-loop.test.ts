import { describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from '../time/clock.js';
import { retryAfterMs, runWorkers, type ReconcileResult } from './worker-loop.js';
import { WorkQueue } from './workqueue.js';

type Outcome = ReconcileResult | void | Error;

/** A queue, a scripted reconciler (one outcome per call, last one repeats) and running workers. */
function setup(script: Outcome[], opts: { workers?: number; isTerminal?: (e: unknown) => boolean } = {}) {
  const clock = new FakeClock();
  const queue = new WorkQueue<string>({ clock });
  const calls: { key: string; at: number }[] = [];
  const errors: { key: string; err: unknown; willRetry: boolean }[] = [];
  const controller = new AbortController();
  const done = runWorkers({
    queue,
    workers: opts.workers ?? 1,
    signal: controller.signal,
    ...(opts.isTerminal ? { isTerminal: opts.isTerminal } : {}),
    onError: (key, err, willRetry) => errors.push({ key, err, willRetry }),
    reconcile: async (key) => {
      const outcome = script[Math.min(calls.length, script.length - 1)];
      calls.push({ key, at: clock.now() });
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  });
  const stop = async () => {
    controller.abort();
    await done;
  };
  return { clock, queue, calls, errors, controller, done, stop };
}

class Terminal extends Error {}

describe('runWorkers retry policy', () => {
  it('error -> rate-limited requeue with per-key backoff', async () => {
    const s = setup([new Error('boom')]);
    s.queue.add('a');
    await s.clock.advanceAsync(100);
    expect(s.calls.map((c) => c.at)).toEqual([0, 5, 15, 35, 75]);
    expect(s.errors.every((e) => e.key === 'a' && e.willRetry && (e.err as Error).message === 'boom')).toBe(true);
    expect(s.queue.numRequeues('a')).toBe(5);
    expect(s.queue.processingCount).toBe(0); // done() after every attempt
    await s.stop();
  });

  it('success -> forget: the next failure starts the backoff again', async () => {
    const boom = new Error('boom');
    const s = setup([boom, boom, undefined, boom]);
    s.queue.add('a');
    await s.clock.advanceAsync(15);
    expect(s.calls.map((c) => c.at)).toEqual([0, 5, 15]);
    expect(s.queue.numRequeues('a')).toBe(0);
    expect(s.clock.pendingTimers).toBe(0); // not requeued
    s.queue.add('a');
    await s.clock.advanceAsync(5);
    expect(s.calls.map((c) => c.at)).toEqual([0, 5, 15, 15, 20]);
    await s.stop();
  });

  it('requeueAfterMs -> forget and add again after that long', async () => {
    const s = setup([new Error('boom'), { requeueAfterMs: 1000 }, {}]);
    s.queue.add('a');
    await s.clock.advanceAsync(5);
    expect(s.queue.numRequeues('a')).toBe(0);
    await s.clock.advanceAsync(999);
    expect(s.calls).toHaveLength(2);
    await s.clock.advanceAsync(1);
    expect(s.calls.map((c) => c.at)).toEqual([0, 5, 1005]);
    await s.clock.advanceAsync(10_000);
    expect(s.calls).toHaveLength(3);
    await s.stop();
  });

  it('requeueAfterMs <= 0 requeues at once; non-finite does not requeue', async () => {
    const s = setup([{ requeueAfterMs: 0 }, { requeueAfterMs: -50 }, { requeueAfterMs: Number.NaN }, { requeueAfterMs: Infinity }, {}]);
    s.queue.add('a');
    await s.clock.advanceAsync(0);
    expect(s.calls).toHaveLength(3);
    s.queue.add('a');
    await s.clock.advanceAsync(1_000_000);
    expect(s.calls).toHaveLength(4);
    await s.stop();
  });

  it('terminal error -> reported without retry, backoff forgotten', async () => {
    const s = setup([new Error('transient'), new Terminal('bad spec')], { isTerminal: (e) => e instanceof Terminal });
    s.queue.add('a');
    await s.clock.advanceAsync(10_000);
    expect(s.calls.map((c) => c.at)).toEqual([0, 5]);
    expect(s.errors.map((e) => [(e.err as Error).message, e.willRetry])).toEqual([
      ['transient', true],
      ['bad spec', false],
    ]);
    expect(s.queue.numRequeues('a')).toBe(0);
    expect(s.clock.pendingTimers).toBe(0);
    await s.stop();
  });

  it('Retry-After: waits max(retryAfterMs, rate-limited delay), also through the cause chain', async () => {
    const limited = Object.assign(new Error('429'), { retryAfterMs: 2000 });
    const wrapped = new Error('create failed', { cause: limited });
    const short = Object.assign(new Error('503'), { retryAfterMs: 1 });
    const boom = new Error('boom');
    const s = setup([wrapped, boom, boom, boom, short, {}]);
    s.queue.add('a');
    await s.clock.advanceAsync(100_000);
    // 2000 (Retry-After beats 5 ms), then backoff 10, 20, 40, then 80 ms beats Retry-After 1 ms.
    expect(s.calls.map((c) => c.at)).toEqual([0, 2000, 2010, 2030, 2070, 2150]);
    await s.stop();
  });

  it('never reconciles one key on two workers, while different keys run in parallel', async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue<string>({ clock });
    const controller = new AbortController();
    const running = new Set<string>();
    let maxParallel = 0;
    let overlap = false;
    const seen: string[] = [];
    const done = runWorkers({
      queue,
      workers: 4,
      signal: controller.signal,
      reconcile: async (key) => {
        if (running.has(key)) overlap = true;
        running.add(key);
        maxParallel = Math.max(maxParallel, running.size);
        seen.push(key);
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 10));
        running.delete(key);
      },
    });
    queue.add('a');
    queue.add('b');
    await flushMicrotasks();
    queue.add('a'); // while 'a' runs
    queue.add('a');
    queue.add('c');
    await clock.advanceAsync(100);
    expect(overlap).toBe(false);
    expect(maxParallel).toBe(3);
    expect(seen).toEqual(['a', 'b', 'c', 'a']);
    controller.abort();
    await done;
  });
});

describe('runWorkers shutdown', () => {
  it('abort shuts the queue down, in-flight reconciles see the signal and are awaited', async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue<string>({ clock });
    const controller = new AbortController();
    const errors: [string, boolean][] = [];
    let finished = false;
    const done = runWorkers({
      queue,
      workers: 2,
      signal: controller.signal,
      onError: (key, _err, willRetry) => errors.push([key, willRetry]),
      reconcile: (key, signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => clock.setTimeout(() => reject(new Error(`${key} aborted`)), 50));
        }),
    });
    void done.then(() => (finished = true));
    queue.add('a');
    queue.add('b');
    queue.add('c'); // waiting: dropped at shutdown
    await flushMicrotasks();
    controller.abort();
    await clock.advanceAsync(49);
    expect(finished).toBe(false);
    expect(queue.shuttingDown).toBe(true);
    await clock.advanceAsync(1);
    await done;
    expect(errors).toEqual([
      ['a', false],
      ['b', false],
    ]);
    expect(queue.processingCount).toBe(0);
    expect(clock.pendingTimers).toBe(0); // no retry scheduled
  });

  it('exits when the queue is shut down by someone else', async () => {
    const s = setup([{}], { workers: 3 });
    s.queue.shutDown();
    await s.done;
  });

  it('an already aborted signal exits at once', async () => {
    const queue = new WorkQueue<string>({ clock: new FakeClock() });
    await runWorkers({ queue, workers: 1, signal: AbortSignal.abort(), reconcile: async () => {} });
    expect(queue.shuttingDown).toBe(true);
  });

  it('rejects a bad worker count', async () => {
    const queue = new WorkQueue<string>({ clock: new FakeClock() });
    await expect(runWorkers({ queue, workers: 0, signal: new AbortController().signal, reconcile: async () => {} })).rejects.toThrow(RangeError);
  });

  it('a throwing onError or isTerminal does not stop a worker', async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue<string>({ clock });
    const controller = new AbortController();
    const seen: string[] = [];
    const done = runWorkers({
      queue,
      workers: 1,
      signal: controller.signal,
      isTerminal: () => {
        throw new Error('bad predicate');
      },
      onError: () => {
        throw new Error('bad logger');
      },
      reconcile: async (key) => {
        seen.push(key);
        if (key === 'a') throw new Error('boom');
      },
    });
    queue.add('a');
    queue.add('b');
    await clock.advanceAsync(5);
    expect(seen).toEqual(['a', 'b', 'a']);
    controller.abort();
    await done;
  });

  it('a reconciler that throws synchronously is treated as an error', async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue<string>({ clock });
    const controller = new AbortController();
    let n = 0;
    const done = runWorkers({
      queue,
      workers: 1,
      signal: controller.signal,
      reconcile: ((): Promise<void> => {
        n++;
        throw new Error('sync');
      }) as () => Promise<void>,
    });
    queue.add('a');
    await clock.advanceAsync(5);
    expect(n).toBe(2);
    controller.abort();
    await done;
  });
});

describe('retryAfterMs', () => {
  it('reads a positive finite retryAfterMs from the error or its causes', () => {
    expect(retryAfterMs(Object.assign(new Error(), { retryAfterMs: 300 }))).toBe(300);
    expect(retryAfterMs(new Error('x', { cause: new Error('y', { cause: { retryAfterMs: 7 } }) }))).toBe(7);
    expect(retryAfterMs(Object.assign(new Error(), { retryAfterMs: 0 }))).toBeUndefined();
    expect(retryAfterMs(Object.assign(new Error(), { retryAfterMs: '5' }))).toBeUndefined();
    expect(retryAfterMs('nope')).toBeUndefined();
    const loop: { cause?: unknown } = {};
    loop.cause = loop;
    expect(retryAfterMs(loop)).toBeUndefined();
  });
});

describe('runWorkers and the event loop', () => {
  it('lets the event loop turn during a long run of keys that need no I/O', async () => {
    const queue = new WorkQueue<string>({ clock: new FakeClock() });
    const controller = new AbortController();
    let reconciled = 0;
    const done = runWorkers({
      queue,
      workers: 2,
      signal: controller.signal,
      reconcile: async () => {
        const until = performance.now() + 1; // 1 ms of work, no await: the key resolves in microtasks
        while (performance.now() < until);
        reconciled++;
      },
    });
    for (let i = 0; i < 200; i++) queue.add(`k${i}`);
    // An answer or a timer waiting meanwhile gets its turn long before the 200 ms of work is done.
    const seenAt = await new Promise<number>((resolve) => setImmediate(() => resolve(reconciled)));
    expect(seenAt).toBeGreaterThan(0);
    expect(seenAt).toBeLessThan(50);
    for (let i = 0; i < 1000 && reconciled < 200; i++) await flushMicrotasks();
    expect(reconciled).toBe(200);
    controller.abort();
    await done;
  });
});
