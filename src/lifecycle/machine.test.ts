import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, fromPromise, waitFor, type ActorOptions, type AnyActorLogic } from 'xstate';
import { FakeClock, flushMicrotasks, type Cancel } from '../time/clock.js';
import { lifecycleMachine, type LaunchInput, type LifecycleEvent, type ProbeInput, type RetireInput } from './machine.js';
import { RuntimeError } from '../runtime/errors.js';
import { effectiveTemplate } from '../spec/policy.js';
import { ContainerTemplateSchema } from '../spec/schema.js';
import type { CreateRequest } from '../runtime/types.js';

const request: CreateRequest = { name: 'berth-default-web', template: effectiveTemplate(ContainerTemplateSchema.parse({ image: 'x' })), labels: {} };
const health = { exec: { command: ['true'] }, initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2, successThreshold: 1 };

/**
 * The runtime's steps as the machine's actors see them: launch is create then
 * start (a left state aborts it, so no start follows), retire is a stop when
 * there is grace (as Docker's, whose forced remove kills) then the removal.
 */
function machineWith(ops: { create?: () => Promise<string>; start?: () => Promise<void>; stop?: () => Promise<void>; remove?: () => Promise<void> }, probe?: (send: (e: LifecycleEvent) => void) => void) {
  const calls: string[] = [];
  const graces: number[] = [];
  const m = lifecycleMachine.provide({
    actors: {
      launchMember: fromCallback<LifecycleEvent, LaunchInput>(({ sendBack }) => {
        let left = false;
        let step: 'create' | 'start' = 'create';
        void (async () => {
          calls.push('create');
          const id = ops.create ? await ops.create() : 'c1';
          step = 'start';
          sendBack({ type: 'launch.created', containerId: id });
          if (left) return;
          calls.push('start');
          await ops.start?.();
        })().then(
          () => sendBack({ type: 'launch.done' }),
          (error: unknown) => sendBack({ type: 'launch.failed', step, error }),
        );
        return () => (left = true);
      }),
      relaunchMember: fromPromise<void, { containerId: string }>(async () => void (calls.push('start'), await ops.start?.())),
      haltMember: fromPromise<void, { containerId: string; graceSeconds: number }>(async () => void (calls.push('stop'), await ops.stop?.())),
      retireMember: fromCallback<LifecycleEvent, RetireInput>(({ input, sendBack }) => {
        graces.push(input.graceSeconds);
        let step: 'stop' | 'remove' = input.graceSeconds > 0 ? 'stop' : 'remove';
        void (async () => {
          if (step === 'stop') {
            sendBack({ type: 'retire.step', step });
            calls.push('stop');
            await ops.stop?.();
          }
          step = 'remove';
          sendBack({ type: 'retire.step', step });
          calls.push('remove');
          await ops.remove?.();
        })().then(
          () => sendBack({ type: 'retire.done' }),
          (error: unknown) => sendBack({ type: 'retire.failed', step, error }),
        );
        return () => undefined;
      }),
      prober: fromCallback<LifecycleEvent, ProbeInput>(({ sendBack }) => {
        probe?.(sendBack);
        return () => undefined;
      }),
    },
  });
  return { m, calls, graces };
}

/** xstate's clock on a FakeClock: delayed transitions (the retry backoff) fire when the test advances time. */
function onFakeClock(fake: FakeClock): NonNullable<ActorOptions<AnyActorLogic>['clock']> {
  const timers = new Map<number, Cancel>();
  let next = 0;
  return {
    setTimeout: (fn: () => void, ms: number) => {
      const id = ++next;
      timers.set(id, fake.setTimeout(() => (timers.delete(id), fn()), ms));
      return id;
    },
    clearTimeout: (id: number) => {
      timers.get(id)?.();
      timers.delete(id);
    },
  };
}

describe('lifecycle machine', () => {
  it('creates, starts and is ready at once without a health check', async () => {
    const { m, calls } = machineWith({});
    const actor = createActor(m, { input: { request, graceSeconds: 10 } }).start();
    const s = await waitFor(actor, (x) => x.matches({ running: 'ready' }));
    expect(s.context.containerId).toBe('c1');
    expect(calls).toEqual(['create', 'start']);
  });

  it('retries a transient failure with backoff, then succeeds', async () => {
    let n = 0;
    const { m, calls } = machineWith({
      create: async () => {
        if (n++ === 0) throw new RuntimeError('Unavailable', 'engine down');
        return 'c2';
      },
    });
    const fake = new FakeClock();
    const actor = createActor(m, { input: { request, graceSeconds: 10 }, clock: onFakeClock(fake) }).start();
    await flushMicrotasks();
    expect(calls).toEqual(['create']);
    // The first retry waits 100 to 200 ms (full jitter on 200): not before, at the latest then.
    await fake.advanceAsync(99);
    expect(calls).toEqual(['create']);
    await fake.advanceAsync(101);
    const s = await waitFor(actor, (x) => x.matches('running'));
    expect(s.context.containerId).toBe('c2');
    expect(calls).toEqual(['create', 'create', 'start']);
  });

  it('gives up at once on a failure that retrying cannot fix', async () => {
    const { m } = machineWith({
      create: async () => {
        throw new RuntimeError('ImagePullFailed', 'no such image');
      },
    });
    const actor = createActor(m, { input: { request, graceSeconds: 10 } }).start();
    const s = await waitFor(actor, (x) => x.matches('failed'));
    expect(s.context.gaveUp).toBe(true);
    expect(s.context.lastError?.message).toBe('no such image');
  });

  it('follows probe thresholds: probing -> ready -> unhealthy -> ready', async () => {
    let send!: (e: LifecycleEvent) => void;
    const { m } = machineWith({}, (s) => (send = s));
    const actor = createActor(m, { input: { request, health, graceSeconds: 10 } }).start();
    await waitFor(actor, (x) => x.matches({ running: 'probing' }));
    send({ type: 'PROBE', ok: true, message: 'ok', time: 1 });
    expect(actor.getSnapshot().matches({ running: 'ready' })).toBe(true);
    send({ type: 'PROBE', ok: false, message: 'bad', time: 2 });
    expect(actor.getSnapshot().matches({ running: 'ready' })).toBe(true);
    send({ type: 'PROBE', ok: false, message: 'bad', time: 3 });
    expect(actor.getSnapshot().matches({ running: 'unhealthy' })).toBe(true);
    expect(actor.getSnapshot().context.probe.failures).toBe(2);
    send({ type: 'PROBE', ok: true, message: 'ok', time: 4 });
    expect(actor.getSnapshot().matches({ running: 'ready' })).toBe(true);
  });

  it('REPROBE without a probe re-enters ready in one step, and a subscriber sees it: the count of ready entries moves', async () => {
    const { m } = machineWith({});
    const actor = createActor(m, { input: { request, graceSeconds: 10 } }).start();
    await waitFor(actor, (x) => x.matches({ running: 'ready' }));
    expect(actor.getSnapshot().context.readyEntries).toBe(1);
    const seen: Array<{ ready: boolean; readyEntries: number }> = [];
    actor.subscribe((x) => seen.push({ ready: x.matches({ running: 'ready' }), readyEntries: x.context.readyEntries }));
    actor.send({ type: 'REPROBE' });
    expect(seen).toEqual([{ ready: true, readyEntries: 2 }]);
    // A probe result that keeps it ready is no new entry.
    actor.send({ type: 'PROBE', ok: true, message: 'ok', time: 1 });
    expect(actor.getSnapshot().context.readyEntries).toBe(2);
  });

  it('REPROBE with a probe passes through probing, probes at once, and is ready again after it passes', async () => {
    let send!: (e: LifecycleEvent) => void;
    const inputs: ProbeInput[] = [];
    const m = lifecycleMachine.provide({
      actors: {
        prober: fromCallback<LifecycleEvent, ProbeInput>(({ input, sendBack }) => {
          inputs.push(input);
          send = sendBack;
          return () => undefined;
        }),
      },
    });
    const actor = createActor(m, { input: { containerId: 'a', observedState: 'running', health, graceSeconds: 10 } }).start();
    send({ type: 'PROBE', ok: true, message: 'ok', time: 1 });
    expect(actor.getSnapshot().matches({ running: 'ready' })).toBe(true);
    actor.send({ type: 'REPROBE' });
    expect(actor.getSnapshot().matches({ running: 'probing' })).toBe(true);
    expect(inputs.map((i) => i.now ?? false)).toEqual([false, true]);
    send({ type: 'PROBE', ok: true, message: 'ok', time: 2 });
    expect(actor.getSnapshot().matches({ running: 'ready' })).toBe(true);
    expect(actor.getSnapshot().context.readyEntries).toBe(2);
  });

  it('rehydrates from what the runtime reports', () => {
    const { m, calls } = machineWith({});
    const running = createActor(m, { input: { containerId: 'a', observedState: 'running', graceSeconds: 10 } }).start();
    const exited = createActor(m, { input: { containerId: 'b', observedState: 'exited', exitCode: 1, graceSeconds: 10 } }).start();
    expect(running.getSnapshot().matches('running')).toBe(true);
    expect(exited.getSnapshot().matches('stopped')).toBe(true);
    expect(calls).toEqual([]);
  });

  it('an observed exit moves a running container to stopped, and START restarts it', async () => {
    const { m, calls } = machineWith({});
    const actor = createActor(m, { input: { containerId: 'a', observedState: 'running', graceSeconds: 10 } }).start();
    actor.send({ type: 'OBSERVED', state: 'exited', exitCode: 137 });
    expect(actor.getSnapshot().matches('stopped')).toBe(true);
    expect(actor.getSnapshot().context.exitCode).toBe(137);
    actor.send({ type: 'START' });
    await waitFor(actor, (x) => x.matches('running'));
    expect(calls).toEqual(['start']);
  });

  it('a list taken before the start returned (it still says created) does not stop a running container', async () => {
    const { m } = machineWith({});
    const actor = createActor(m, { input: { request, graceSeconds: 10 } }).start();
    await waitFor(actor, (x) => x.matches({ running: 'ready' }));
    actor.send({ type: 'OBSERVED', state: 'created' });
    expect(actor.getSnapshot().matches({ running: 'ready' })).toBe(true);
  });

  it('REMOVE stops then removes, and the actor is done', async () => {
    const { m, calls } = machineWith({});
    const actor = createActor(m, { input: { containerId: 'a', observedState: 'running', graceSeconds: 10 } }).start();
    actor.send({ type: 'REMOVE' });
    await waitFor(actor, (x) => x.status === 'done');
    expect(calls).toEqual(['stop', 'remove']);
  });

  it('REMOVE is one retire call with the grace of the event, else the actor\'s own; whether it stops first is the runtime\'s', async () => {
    const run = async (event: LifecycleEvent, graceSeconds = 10): Promise<{ calls: string[]; graces: number[] }> => {
      const { m, calls, graces } = machineWith({});
      const actor = createActor(m, { input: { containerId: 'a', observedState: 'running', graceSeconds } }).start();
      actor.send(event);
      await waitFor(actor, (x) => x.status === 'done');
      return { calls, graces };
    };
    expect(await run({ type: 'REMOVE', graceSeconds: 0 })).toEqual({ calls: ['remove'], graces: [0] });
    expect(await run({ type: 'REMOVE' }, 0)).toEqual({ calls: ['remove'], graces: [0] });
    expect(await run({ type: 'REMOVE', graceSeconds: 5 })).toEqual({ calls: ['stop', 'remove'], graces: [5] });
  });

  it('a retirement reads as its steps: stopping, then removing, then done', async () => {
    let stopped!: () => void;
    let removed!: () => void;
    const { m } = machineWith({ stop: () => new Promise<void>((r) => (stopped = r)), remove: () => new Promise<void>((r) => (removed = r)) });
    const actor = createActor(m, { input: { containerId: 'a', observedState: 'running', graceSeconds: 10 } }).start();
    actor.send({ type: 'REMOVE' });
    await waitFor(actor, (x) => x.matches({ retiring: 'stopping' }));
    await flushMicrotasks();
    stopped();
    await waitFor(actor, (x) => x.matches({ retiring: 'removing' }));
    await flushMicrotasks();
    removed();
    await waitFor(actor, (x) => x.status === 'done');
  });

  it('a container known not to run is retired with no grace: after a halt, and a stopped one whose REMOVE came during the halt', async () => {
    const { m, graces } = machineWith({});
    const actor = createActor(m, { input: { containerId: 'a', observedState: 'running', graceSeconds: 10 } }).start();
    actor.send({ type: 'STOP' });
    actor.send({ type: 'REMOVE' });
    await waitFor(actor, (x) => x.status === 'done');
    expect(graces).toEqual([0]);
  });

  it('a failed start of a launch is retried as a relaunch of the same container, not a second create', async () => {
    let n = 0;
    const { m, calls } = machineWith({
      start: async () => {
        if (n++ === 0) throw new RuntimeError('Unavailable', 'engine busy');
      },
    });
    const fake = new FakeClock();
    const actor = createActor(m, { input: { request, graceSeconds: 10 }, clock: onFakeClock(fake) }).start();
    await flushMicrotasks();
    expect(actor.getSnapshot().context).toMatchObject({ failedOp: 'start', containerId: 'c1' });
    await fake.advanceAsync(200);
    await waitFor(actor, (x) => x.matches('running'));
    expect(calls).toEqual(['create', 'start', 'start']);
  });

  it('REMOVE during create removes the container once it exists', async () => {
    let release!: (id: string) => void;
    const { m, calls } = machineWith({ create: () => new Promise<string>((r) => (release = r)) });
    const actor = createActor(m, { input: { request, graceSeconds: 10 } }).start();
    actor.send({ type: 'REMOVE' });
    release('c9');
    await waitFor(actor, (x) => x.status === 'done');
    expect(calls).toEqual(['create', 'remove']);
  });
});
