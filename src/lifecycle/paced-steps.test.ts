import { describe, expect, it } from 'vitest';
import { Semaphore } from '../controller/semaphore.js';
import { flushMicrotasks } from '../time/clock.js';
import { runPaced } from './paced-steps.js';
import type { OnStep } from '../runtime/types.js';

const limiterOf = (s: Semaphore) => ({ run: <T>(fn: () => Promise<T>, signal?: AbortSignal) => s.run(fn, signal) });

describe('runPaced', () => {
  it('gives each step its own permit: an operation queued during the first step runs before the second', async () => {
    const sem = new Semaphore(1);
    const order: string[] = [];
    const observed: string[] = [];
    let finishCreate!: () => void;
    const compound = runPaced(
      async (onStep: OnStep) => {
        await onStep({ name: 'create' });
        order.push('create');
        await new Promise<void>((r) => (finishCreate = r));
        await onStep({ name: 'start', memberId: 'm' });
        order.push('start');
      },
      { limiter: limiterOf(sem), signal: new AbortController().signal, firstStep: 'create', observe: (step, result) => observed.push(`${step}:${result}`) },
    );
    await flushMicrotasks();
    const other = sem.run(async () => void order.push('other'));
    finishCreate();
    await Promise.all([compound, other]);
    expect(order).toEqual(['create', 'other', 'start']);
    expect(observed).toEqual(['create:success', 'start:success']);
    expect(sem.inFlight).toBe(0);
  });

  it('the first announcement names the step under way; a failure is timed under the step it happened in', async () => {
    const observed: string[] = [];
    const err = await runPaced(
      async (onStep: OnStep) => {
        await onStep({ name: 'stop' });
        await onStep({ name: 'remove' });
        throw new Error('engine said no');
      },
      { limiter: limiterOf(new Semaphore(1)), signal: new AbortController().signal, firstStep: 'remove', observe: (step, result) => observed.push(`${step}:${result}`) },
    ).catch((e: unknown) => e);
    expect((err as Error).message).toBe('engine said no');
    expect(observed).toEqual(['stop:success', 'remove:error']);
  });

  it('an operation that ends before naming a step is timed under firstStep', async () => {
    const observed: string[] = [];
    await runPaced(async () => undefined, { limiter: limiterOf(new Semaphore(1)), signal: new AbortController().signal, firstStep: 'remove', observe: (step, result) => observed.push(`${step}:${result}`) });
    expect(observed).toEqual(['remove:success']);
  });

  it('an abort while a step waits for its permit ends the operation there', async () => {
    const sem = new Semaphore(1);
    const abort = new AbortController();
    const held = await sem.acquire();
    let started = false;
    const compound = runPaced(
      async (onStep: OnStep) => {
        await onStep({ name: 'start', memberId: 'm' });
        started = true;
      },
      { limiter: limiterOf(sem), signal: abort.signal, firstStep: 'create' },
    ).catch((e: unknown) => e);
    abort.abort(new Error('left'));
    expect(((await compound) as Error).message).toBe('left');
    expect(started).toBe(false);
    held();
    expect(sem.inFlight).toBe(0);
  });
});
