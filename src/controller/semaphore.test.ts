import { describe, expect, it } from 'vitest';
import { flushMicrotasks } from '../time/clock.js';
import { Semaphore } from './semaphore.js';

describe('Semaphore', () => {
  it('grants up to the limit at once, then queues', async () => {
    const sem = new Semaphore(2);
    const r1 = await sem.acquire();
    await sem.acquire();
    expect(sem.inFlight).toBe(2);
    let third = false;
    void sem.acquire().then(() => (third = true));
    await flushMicrotasks();
    expect(third).toBe(false);
    expect(sem.waiting).toBe(1);
    r1();
    await flushMicrotasks();
    expect(third).toBe(true);
    expect(sem.inFlight).toBe(2);
    expect(sem.waiting).toBe(0);
  });

  it('hands permits to waiters in FIFO order, with no barging', async () => {
    const sem = new Semaphore(1);
    const first = await sem.acquire();
    const order: number[] = [];
    const releases = [1, 2, 3].map((n) => sem.acquire().then((release) => (order.push(n), release)));
    await flushMicrotasks();
    first();
    // A newcomer arriving right after the release must queue behind 2 and 3.
    const late = sem.acquire().then((release) => (order.push(4), release));
    for (const p of [...releases, late]) (await p)();
    expect(order).toEqual([1, 2, 3, 4]);
    expect(sem.inFlight).toBe(0);
  });

  it('release is idempotent', async () => {
    const sem = new Semaphore(1);
    const r = await sem.acquire();
    r();
    r();
    expect(sem.inFlight).toBe(0);
    await sem.acquire();
    expect(sem.inFlight).toBe(1);
  });

  it('abort removes the waiter and rejects with the reason; later waiters move up', async () => {
    const sem = new Semaphore(1);
    const holder = await sem.acquire();
    const controller = new AbortController();
    const aborted = sem.acquire(controller.signal);
    const next = sem.acquire();
    expect(sem.waiting).toBe(2);
    const reason = new Error('cancelled');
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    expect(sem.waiting).toBe(1);
    holder();
    (await next)();
    expect(sem.inFlight).toBe(0);
  });

  it('an already aborted signal rejects at once, even with permits free', async () => {
    const sem = new Semaphore(1);
    await expect(sem.acquire(AbortSignal.abort('gone'))).rejects.toBe('gone');
    expect(sem.inFlight).toBe(0);
  });

  it('aborting after the grant changes nothing', async () => {
    const sem = new Semaphore(1);
    const holder = await sem.acquire();
    const controller = new AbortController();
    const p = sem.acquire(controller.signal);
    holder();
    const release = await p;
    controller.abort();
    expect(sem.inFlight).toBe(1);
    release();
    expect(sem.inFlight).toBe(0);
  });

  it('run releases however fn ends and never exceeds the limit', async () => {
    const sem = new Semaphore(3);
    let active = 0;
    let peak = 0;
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        sem.run(async () => {
          active++;
          peak = Math.max(peak, active);
          await flushMicrotasks();
          active--;
          if (i % 4 === 0) throw new Error(`fail ${i}`);
          return i;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(5);
    expect(results[1]).toEqual({ status: 'fulfilled', value: 1 });
    expect(sem.inFlight).toBe(0);
    expect(sem.waiting).toBe(0);
  });

  it('run with an aborted wait does not call fn', async () => {
    const sem = new Semaphore(1);
    const holder = await sem.acquire();
    const controller = new AbortController();
    let called = false;
    const p = sem.run(() => (called = true), controller.signal);
    controller.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    expect(called).toBe(false);
    holder();
  });

  it('validates the limit', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
    expect(() => new Semaphore(1.5)).toThrow(RangeError);
    expect(() => new Semaphore(Number.NaN)).toThrow(RangeError);
    expect(new Semaphore(Infinity).limit).toBe(Infinity);
  });
});
