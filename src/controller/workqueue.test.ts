import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { FakeClock, flushMicrotasks } from '../time/clock.js';
import { ItemExponentialFailureRateLimiter } from './rate-limiter.js';
import { WorkQueue, type WorkQueueMetrics } from './workqueue.js';

type Key = 'a' | 'b' | 'c' | 'd';

function newQueue(clock = new FakeClock(), metrics?: WorkQueueMetrics<Key>) {
  return { clock, q: new WorkQueue<Key>({ name: 'test', clock, ...(metrics ? { metrics } : {}) }) };
}

/** A get() that must resolve at once. */
async function take(q: WorkQueue<Key>): Promise<Key | undefined> {
  let settled = false;
  const p = q.get().finally(() => (settled = true));
  await flushMicrotasks();
  expect(settled).toBe(true);
  return p;
}

describe('WorkQueue add/get/done', () => {
  it('merges repeated adds of a waiting key', async () => {
    const { q } = newQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(2);
    expect(await take(q)).toBe('a');
    expect(await take(q)).toBe('b');
    expect(q.len()).toBe(0);
  });

  it('hands keys out in FIFO order', async () => {
    const { q } = newQueue();
    for (const k of ['c', 'a', 'd', 'b'] as const) q.add(k);
    const got = [await take(q), await take(q), await take(q), await take(q)];
    expect(got).toEqual(['c', 'a', 'd', 'b']);
  });

  it('get waits for an add', async () => {
    const { q } = newQueue();
    const p = q.get();
    let got: Key | undefined;
    void p.then((k) => (got = k));
    await flushMicrotasks();
    expect(got).toBeUndefined();
    q.add('b');
    expect(await p).toBe('b');
  });

  it('getters are served in the order they asked', async () => {
    const { q } = newQueue();
    const first = q.get();
    const second = q.get();
    q.add('a');
    q.add('b');
    expect(await first).toBe('a');
    expect(await second).toBe('b');
  });

  it('a key added while processing is not handed to a second worker, and comes back once after done', async () => {
    const { q } = newQueue();
    q.add('a');
    expect(await take(q)).toBe('a');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0);
    const second = q.get();
    let got: Key | undefined;
    void second.then((k) => (got = k));
    await flushMicrotasks();
    expect(got).toBeUndefined(); // 'a' is still being processed
    q.done('a');
    expect(await second).toBe('a');
    q.done('a');
    expect(q.len()).toBe(0);
    expect(q.processingCount).toBe(0);
  });

  it('done without a new add does not requeue; done of an unknown key is ignored', async () => {
    const { q } = newQueue();
    q.add('a');
    expect(await take(q)).toBe('a');
    q.done('a');
    q.done('a');
    q.done('b');
    expect(q.len()).toBe(0);
    q.add('a');
    expect(q.len()).toBe(1);
  });
});

describe('WorkQueue addAfter', () => {
  it('adds after the delay', async () => {
    const { q, clock } = newQueue();
    q.addAfter('a', 100);
    clock.advance(99);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
    expect(await take(q)).toBe('a');
  });

  it('the earliest deadline wins for the same key', () => {
    const { q, clock } = newQueue();
    q.addAfter('a', 100);
    q.addAfter('a', 30);
    q.addAfter('a', 50);
    clock.advance(30);
    expect(q.len()).toBe(1);
    clock.advance(200);
    expect(q.len()).toBe(1); // no second add from the replaced or later timers
    expect(clock.pendingTimers).toBe(0);
  });

  it('a later deadline does not postpone an earlier one', () => {
    const { q, clock } = newQueue();
    q.addAfter('a', 10);
    clock.advance(5);
    q.addAfter('a', 100);
    clock.advance(5);
    expect(q.len()).toBe(1);
  });

  it('adds at once for a delay <= 0, and never for an infinite one', () => {
    const { q, clock } = newQueue();
    q.addAfter('a', 0);
    q.addAfter('b', -5);
    q.addAfter('c', Infinity);
    expect(q.len()).toBe(2);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a delayed add of a key being processed requeues it after done', async () => {
    const { q, clock } = newQueue();
    q.add('a');
    expect(await take(q)).toBe('a');
    q.addAfter('a', 10);
    clock.advance(10);
    expect(q.len()).toBe(0);
    q.done('a');
    expect(q.len()).toBe(1);
  });
});

describe('WorkQueue rate limiting', () => {
  it('addRateLimited backs off per key: 5, 10, 20 ms', () => {
    const { q, clock } = newQueue();
    const readyAfter: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = clock.now();
      q.addRateLimited('a');
      clock.advance(clock.nextTimerAt()! - clock.now());
      readyAfter.push(clock.now() - start);
      expect(q.len()).toBe(1);
      void q.get();
      q.done('a');
    }
    expect(readyAfter).toEqual([5, 10, 20]);
    expect(q.numRequeues('a')).toBe(3);
  });

  it('forget resets the backoff', () => {
    const { q, clock } = newQueue();
    q.addRateLimited('a');
    q.addRateLimited('a');
    expect(q.numRequeues('a')).toBe(2);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
    q.addRateLimited('b');
    expect(clock.nextTimerAt()).toBe(5);
  });

  it('honours a minimum delay (Retry-After) above the backoff', () => {
    const { q, clock } = newQueue();
    q.addRateLimited('a', 2000);
    clock.advance(1999);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
  });

  it('the overall bucket spreads a burst of failures', () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    for (let i = 0; i < 150; i++) q.addRateLimited(`k${i}`);
    clock.advance(5);
    expect(q.len()).toBe(100); // the burst, after the 5 ms per-key backoff
    clock.advance(95);
    expect(q.len()).toBe(101); // then 10 per second
    clock.advance(900);
    expect(q.len()).toBe(110);
    clock.advance(4000);
    expect(q.len()).toBe(150);
  });

  it('accepts a custom rate limiter', () => {
    const clock = new FakeClock();
    const q = new WorkQueue<Key>({ clock, rateLimiter: new ItemExponentialFailureRateLimiter(1000, 60_000) });
    q.addRateLimited('a');
    expect(clock.nextTimerAt()).toBe(1000);
  });
});

describe('WorkQueue shutdown', () => {
  it('resolves waiting and later gets with undefined, ignores adds, drops waiting and delayed keys', async () => {
    const { q, clock } = newQueue();
    const waiting = q.get();
    expect(await Promise.race([waiting, flushMicrotasks().then(() => 'pending')])).toBe('pending');
    q.shutDown();
    expect(await waiting).toBeUndefined();
    expect(q.shuttingDown).toBe(true);
    q.add('a');
    q.addAfter('b', 10);
    q.addRateLimited('c');
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
    expect(clock.pendingTimers).toBe(0);
  });

  it('cancels delayed adds and drops queued keys', async () => {
    const { q, clock } = newQueue();
    q.add('a');
    q.addAfter('b', 10);
    q.shutDown();
    expect(clock.pendingTimers).toBe(0);
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
  });

  it('shutDownWithDrain waits for keys being processed, which are not requeued', async () => {
    const { q } = newQueue();
    q.add('a');
    q.add('b');
    expect(await take(q)).toBe('a');
    expect(await take(q)).toBe('b');
    q.add('a'); // dirty while processing: would come back, but the queue is stopping
    let drained = false;
    const drain = q.shutDownWithDrain().then(() => (drained = true));
    await flushMicrotasks();
    expect(drained).toBe(false);
    q.done('a');
    await flushMicrotasks();
    expect(drained).toBe(false);
    expect(q.len()).toBe(0);
    q.done('b');
    await drain;
    expect(drained).toBe(true);
    expect(await q.get()).toBeUndefined();
  });

  it('shutDownWithDrain resolves at once when nothing is processing', async () => {
    const { q } = newQueue();
    q.add('a');
    await q.shutDownWithDrain();
    expect(await q.get()).toBeUndefined();
  });

  it('shutDown stops a drain that is waiting', async () => {
    const { q } = newQueue();
    q.add('a');
    await take(q);
    const drain = q.shutDownWithDrain();
    q.shutDown();
    await drain; // resolves although 'a' is not done
    expect(q.processingCount).toBe(1);
  });
});

describe('WorkQueue metrics hooks', () => {
  it('reports adds, depth, queue latency, work duration and retries', async () => {
    const clock = new FakeClock();
    const calls: string[] = [];
    const metrics: WorkQueueMetrics<Key> = {
      added: (k) => calls.push(`added ${k}`),
      depth: (n) => calls.push(`depth ${n}`),
      started: (k, ms) => calls.push(`started ${k} ${ms}`),
      finished: (k, ms) => calls.push(`finished ${k} ${ms}`),
      retried: (k) => calls.push(`retried ${k}`),
    };
    const { q } = newQueue(clock, metrics);
    q.add('a');
    q.add('a'); // merged: not counted
    clock.advance(7);
    const a = q.get();
    expect(await a).toBe('a');
    q.add('a'); // dirty while processing
    clock.advance(20);
    q.done('a');
    q.addAfter('b', 10);
    clock.advance(10);
    expect(calls).toEqual([
      'added a',
      'depth 1',
      'depth 0',
      'started a 7',
      'added a',
      'depth 1',
      'finished a 20',
      'retried b',
      'added b',
      'depth 2',
    ]);
  });

  it('a throwing hook does not break the queue', async () => {
    const boom = () => {
      throw new Error('boom');
    };
    const { q } = newQueue(new FakeClock(), { added: boom, depth: boom, started: boom, finished: boom, retried: boom });
    q.add('a');
    expect(await take(q)).toBe('a');
    q.add('a');
    q.done('a');
    expect(q.len()).toBe(1);
    q.addAfter('b', 0);
    expect(q.len()).toBe(2);
  });
});

// Model-based: interleave adds, delayed adds, gets, dones and time, and check
// that no key is ever held by two workers and that no add is lost.
const keyArb = fc.constantFrom<Key>('a', 'b', 'c', 'd');
const opArb = fc.oneof(
  fc.record({ t: fc.constant('add' as const), k: keyArb }),
  fc.record({ t: fc.constant('addAfter' as const), k: keyArb, ms: fc.integer({ min: -5, max: 50 }) }),
  fc.record({ t: fc.constant('addRateLimited' as const), k: keyArb }),
  fc.record({ t: fc.constant('forget' as const), k: keyArb }),
  fc.record({ t: fc.constant('get' as const) }),
  fc.record({ t: fc.constant('done' as const), i: fc.nat() }),
  fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40 }) }),
);

describe('WorkQueue properties', () => {
  it('never hands one key to two workers, and processes every key after its last add', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), fc.integer({ min: 1, max: 4 }), async (ops, workers) => {
        const clock = new FakeClock();
        const q = new WorkQueue<Key>({ clock });
        const inFlight: Key[] = [];
        const lastAdd = new Map<Key, number>();
        const lastGot = new Map<Key, number>();
        const addCalls = new Map<Key, number>();
        const gets = new Map<Key, number>();
        let step = 0;
        let pendingGets = 0;
        const violations: string[] = [];
        const startGet = () => {
          pendingGets++;
          void q.get().then((k) => {
            pendingGets--;
            if (k === undefined) return;
            // Invariant: never two workers on one key.
            if (inFlight.includes(k)) violations.push(`${k} handed out twice at step ${step}`);
            inFlight.push(k);
            lastGot.set(k, step);
            gets.set(k, (gets.get(k) ?? 0) + 1);
          });
        };
        const noteAdd = (k: Key) => {
          lastAdd.set(k, step);
          addCalls.set(k, (addCalls.get(k) ?? 0) + 1);
        };
        for (const op of ops) {
          step++;
          switch (op.t) {
            case 'add':
              noteAdd(op.k);
              q.add(op.k);
              break;
            case 'addAfter':
              noteAdd(op.k);
              q.addAfter(op.k, op.ms);
              break;
            case 'addRateLimited':
              noteAdd(op.k);
              q.addRateLimited(op.k);
              break;
            case 'forget':
              q.forget(op.k);
              break;
            case 'get':
              if (pendingGets + inFlight.length < workers) startGet();
              break;
            case 'done':
              if (inFlight.length > 0) {
                const [k] = inFlight.splice(op.i % inFlight.length, 1);
                q.done(k!);
              }
              break;
            case 'advance':
              clock.advance(op.ms);
              break;
          }
          await flushMicrotasks();
          expect(violations).toEqual([]);
          // The handed-out keys are exactly what the queue counts as processing.
          expect(q.processingCount).toBe(inFlight.length);
        }
        // Drain: let all delays pass, keep the workers going until nothing is left.
        for (let rounds = 0; rounds < 1000; rounds++) {
          step++;
          clock.advance(2_000_000);
          while (inFlight.length > 0) q.done(inFlight.shift()!);
          while (pendingGets < workers) startGet();
          await flushMicrotasks();
          if (inFlight.length === 0 && q.len() === 0 && clock.pendingTimers === 0) break;
        }
        expect(violations).toEqual([]);
        expect(inFlight).toEqual([]);
        expect(q.len()).toBe(0);
        for (const [k, addedAt] of lastAdd) {
          // No add is lost: the key was handed out after its last add ...
          expect(lastGot.get(k) ?? -1).toBeGreaterThanOrEqual(addedAt);
          // ... and merged adds never produce extra work.
          expect(gets.get(k) ?? 0).toBeLessThanOrEqual(addCalls.get(k) ?? 0);
        }
        for (const k of gets.keys()) expect(lastAdd.has(k)).toBe(true);
        q.shutDown();
        await flushMicrotasks();
        expect(pendingGets).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});

describe('WorkQueue defaults', () => {
  it('works on the system clock', async () => {
    vi.useRealTimers();
    const q = new WorkQueue<Key>();
    q.addAfter('a', 5);
    expect(await q.get()).toBe('a');
    q.done('a');
    q.shutDown();
  });
});
