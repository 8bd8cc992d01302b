// The Supervisor on the in-memory runtime and a FakeClock: transient failures
// retried on the clock's backoff, giving up after maxAttempts, probes on the
// clock deciding Ready and Unhealthy, readiness waits that time out on the
// clock, stop grace periods, and actors rehydrated from (and dropped with)
// what the runtime lists. No test sleeps.
import { describe, expect, it } from 'vitest';
import { HealthCheckSchema, type ResourceKey } from '../spec/schema.js';
import { RuntimeError } from '../runtime/errors.js';
import { contractRequest } from '../runtime/runtime-contract.testkit.js';
import { CONTROLLER_ID, memoryWorld } from '../controller/memory-world.testkit.js';

const OWNER: ResourceKey = { kind: 'Instance', namespace: 'default', name: 'web' };
const request = (template: Record<string, unknown> = {}) => contractRequest(CONTROLLER_ID, 'web', { image: 'berth-test/busybox:1', ...template });
const execCheck = (over: Record<string, unknown> = {}) => HealthCheckSchema.parse({ exec: { command: ['check'] }, periodSeconds: 10, failureThreshold: 2, ...over });

describe('Supervisor on the memory runtime', () => {
  it('retries a transient create failure after the backoff on the clock', async () => {
    const w = memoryWorld();
    w.runtime.script.fail('create', new RuntimeError('Unavailable', 'engine restarting'), { times: 2 });
    let id: string | undefined;
    const creating = w.supervisor.create(OWNER, request(), undefined, w.signal).then((x) => (id = x));
    await w.settle();
    expect(w.runtime.script.count('create')).toBe(1);
    expect(id).toBeUndefined();
    await w.clock.advanceAsync(200); // first retry: within 100..200 ms
    expect(w.runtime.script.count('create')).toBe(2);
    await w.clock.advanceAsync(400);
    await creating;
    expect(w.runtime.script.count('create')).toBe(3);
    expect(w.runtime.snapshot()).toMatchObject([{ id, state: 'running' }]);
    expect(w.transitions.map((t) => t.phase)).toContain('Ready');
  });

  it('gives up after maxAttempts and reports the owner through onFailed', async () => {
    const w = memoryWorld({ maxAttempts: 2 });
    w.runtime.script.fail('create', new RuntimeError('Unavailable', 'engine down'), { times: Infinity });
    const creating = w.supervisor.create(OWNER, request(), undefined, w.signal).catch((e: unknown) => e);
    await w.clock.advanceAsync(10_000);
    const err = await creating;
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as Error).message).toContain('engine down');
    expect(w.runtime.script.count('create')).toBe(2);
    expect(w.failed).toEqual(['web']);
    expect(w.supervisor.takeFailures(OWNER)).toHaveLength(1);
    expect(w.supervisor.size).toBe(0);
  });

  it('probes on the clock: Probing until the first exec passes, Unhealthy after failureThreshold failures', async () => {
    const w = memoryWorld();
    let healthy = true;
    w.runtime.onExec((req) => (req.command[0] === 'check' ? { exitCode: healthy ? 0 : 1, stderr: healthy ? '' : 'not ok' } : { exitCode: 127 }));
    const id = await w.supervisor.create(OWNER, request(), execCheck(), w.signal);
    expect(w.supervisor.views(OWNER)[0]).toMatchObject({ phase: 'Probing', ready: false });
    await w.clock.advanceAsync(50); // the first probe runs shortly after start
    expect(w.supervisor.views(OWNER)[0]).toMatchObject({ phase: 'Ready', ready: true, lastReadyAt: w.clock.now() });
    // An exec probe needs no address: no inspect call stands before a new container is Ready.
    expect(w.runtime.script.count('inspect')).toBe(0);
    healthy = false;
    await w.clock.advanceAsync(10_000);
    expect(w.supervisor.views(OWNER)[0]?.phase).toBe('Ready'); // one failure of two
    await w.clock.advanceAsync(10_000);
    expect(w.supervisor.views(OWNER)[0]?.phase).toBe('Unhealthy');
    expect(w.supervisor.snapshot(id)?.context.probe).toMatchObject({ failures: 2, last: { ok: false, message: 'exec probe exited 1: not ok' } });
    expect(w.transitions.map((t) => t.phase)).toEqual(expect.arrayContaining(['Probing', 'Ready', 'Unhealthy']));
  });

  it('runs no probe while probeWanted says no (a claimed member), and resumes when it says yes', async () => {
    let wanted = true;
    const w = memoryWorld({ probeWanted: () => wanted });
    let healthy = true;
    w.runtime.onExec((req) => (req.command[0] === 'check' ? { exitCode: healthy ? 0 : 1 } : { exitCode: 127 }));
    await w.supervisor.create(OWNER, request(), execCheck(), w.signal);
    await w.clock.advanceAsync(50);
    expect(w.supervisor.views(OWNER)[0]?.phase).toBe('Ready');
    const execs = w.runtime.script.count('exec');
    wanted = false;
    healthy = false;
    await w.clock.advanceAsync(60_000);
    expect(w.runtime.script.count('exec')).toBe(execs);
    expect(w.supervisor.views(OWNER)[0]?.phase).toBe('Ready');
    wanted = true;
    await w.clock.advanceAsync(20_000);
    expect(w.runtime.script.count('exec')).toBeGreaterThan(execs);
    expect(w.supervisor.views(OWNER)[0]?.phase).toBe('Unhealthy');
  });

  it('reprobe of a member without a probe: the owner hears Ready again and its ready-since moves to now', async () => {
    const w = memoryWorld();
    const id = await w.supervisor.create(OWNER, request(), undefined, w.signal);
    await w.settle();
    const firstReady = w.supervisor.views(OWNER)[0]?.lastReadyAt;
    expect(firstReady).toBe(w.clock.now());
    const readies = () => w.transitions.filter((t) => t.phase === 'Ready').length;
    const before = readies();
    await w.clock.advanceAsync(60_000);
    w.supervisor.reprobe(id);
    expect(readies()).toBe(before + 1);
    expect(w.supervisor.views(OWNER)[0]).toMatchObject({ phase: 'Ready', ready: true, lastReadyAt: firstReady! + 60_000 });
  });

  it('reprobe of a member with a probe: Probing, the probe at once, then Ready', async () => {
    const w = memoryWorld();
    w.runtime.onExec(() => ({ exitCode: 0 }));
    const id = await w.supervisor.create(OWNER, request(), execCheck(), w.signal);
    await w.clock.advanceAsync(50);
    expect(w.supervisor.views(OWNER)[0]?.phase).toBe('Ready');
    await w.clock.advanceAsync(5_000);
    const execs = w.runtime.script.count('exec');
    w.transitions.length = 0;
    w.supervisor.reprobe(id);
    expect(w.supervisor.views(OWNER)[0]?.phase).toBe('Probing');
    await w.clock.advanceAsync(0);
    expect(w.runtime.script.count('exec')).toBe(execs + 1);
    expect(w.transitions.map((t) => t.phase)).toEqual(['Probing', 'Ready']);
    expect(w.supervisor.views(OWNER)[0]?.lastReadyAt).toBe(w.clock.now());
  });

  it('waitReady gives up on the clock when the probe never passes', async () => {
    const w = memoryWorld();
    w.runtime.onExec(() => ({ exitCode: 1 }));
    const id = await w.supervisor.create(OWNER, request(), execCheck(), w.signal);
    let answer: boolean | undefined;
    const waiting = w.supervisor.waitReady(OWNER, id, 5_000, w.signal).then((r) => (answer = r));
    await w.clock.advanceAsync(4_999);
    expect(answer).toBeUndefined();
    await w.clock.advanceAsync(1);
    await waiting;
    expect(answer).toBe(false);
  });

  it('stop waits out the grace period of a container that ignores SIGTERM, on the clock', async () => {
    const w = memoryWorld();
    w.runtime.behave({ owner: 'web' }, { ignoresTerm: true });
    const id = await w.supervisor.create(OWNER, request({ stopGracePeriodSeconds: 7 }), undefined, w.signal);
    let stopped = false;
    const stopping = w.supervisor.stop(OWNER, id, w.signal).then(() => (stopped = true));
    await w.clock.advanceAsync(6_999);
    expect(stopped).toBe(false);
    await w.clock.advanceAsync(1);
    await stopping;
    expect(w.runtime.snapshot()[0]).toMatchObject({ state: 'exited', exitCode: 137 });
    expect(w.supervisor.views(OWNER)[0]?.phase).toBe('Stopped');
  });

  it('rehydrates actors from a list, and drops the actor of a container that vanished', async () => {
    const w = memoryWorld();
    const id = await w.runtime.launch(request());
    const listed = await w.runtime.list({ managedBy: CONTROLLER_ID });
    w.supervisor.observe(OWNER, listed, undefined, 10);
    await w.settle();
    expect(w.supervisor.views(OWNER)).toMatchObject([{ containerId: id, phase: 'Ready', terminating: false }]);
    await w.runtime.retire(id, 0); // behind berth's back
    // Without the list's start time the actor is kept: it may be newer than the list.
    w.supervisor.observe(OWNER, await w.runtime.list({ managedBy: CONTROLLER_ID }), undefined, 10);
    expect(w.supervisor.views(OWNER)).toHaveLength(1);
    const listStartedAt = performance.now();
    w.supervisor.observe(OWNER, await w.runtime.list({ managedBy: CONTROLLER_ID }), undefined, 10, listStartedAt);
    expect(w.supervisor.views(OWNER)).toEqual([]);
  });

  it('a launch is paced and timed per engine step: pull, create, start; a retirement with grace: stop, remove', async () => {
    const w = memoryWorld();
    const id = await w.supervisor.create(OWNER, request({ stopGracePeriodSeconds: 3 }), undefined, w.signal);
    expect(w.ops).toEqual([
      { op: 'pull', result: 'success' },
      { op: 'create', result: 'success' },
      { op: 'start', result: 'success' },
    ]);
    w.ops.length = 0;
    await w.supervisor.remove(OWNER, id, w.signal);
    expect(w.ops).toEqual([
      { op: 'stop', result: 'success' },
      { op: 'remove', result: 'success' },
    ]);
    expect(w.runtime.script.calls.map((c) => c.op).filter((op) => op !== 'ensureImage')).toEqual(['create', 'start', 'stop', 'remove']);
  });

  it('the phases of a launch are Creating, then Starting once the container exists', async () => {
    const w = memoryWorld();
    const creating = w.runtime.script.hold('create');
    const starting = w.runtime.script.hold('start');
    w.supervisor.launch(OWNER, request(), undefined);
    await creating.reached;
    expect(w.supervisor.views(OWNER)).toMatchObject([{ phase: 'Creating' }]);
    expect(w.supervisor.views(OWNER)[0]?.containerId).toBeUndefined();
    creating.release();
    await starting.reached;
    const [view] = w.supervisor.views(OWNER);
    expect(view).toMatchObject({ phase: 'Starting', containerId: w.runtime.snapshot()[0]?.id });
    starting.release();
    await w.settle();
    expect(w.supervisor.views(OWNER)).toMatchObject([{ phase: 'Ready' }]);
  });

  it('a member removed while it is being created is removed once it exists, never started', async () => {
    const w = memoryWorld();
    const creating = w.runtime.script.hold('create');
    w.supervisor.launch(OWNER, contractRequest(CONTROLLER_ID, 'web', { image: 'berth-test/busybox:1' }, { member: 'm1' }), undefined);
    await creating.reached;
    w.supervisor.terminate(OWNER, '', 0, 'm1');
    creating.release();
    await w.settle();
    expect(w.runtime.script.count('start')).toBe(0);
    expect(w.runtime.snapshot()).toEqual([]);
    expect(w.supervisor.views(OWNER)).toEqual([]);
  });

  it('a start that fails after the create is retried as a start of the same container', async () => {
    const w = memoryWorld();
    w.runtime.script.fail('start', new RuntimeError('Unavailable', 'engine busy'));
    const creating = w.supervisor.create(OWNER, request(), undefined, w.signal);
    await w.settle();
    await w.clock.advanceAsync(200);
    const id = await creating;
    expect(w.runtime.script.count('create')).toBe(1);
    expect(w.runtime.script.count('start')).toBe(2);
    expect(w.runtime.snapshot()).toMatchObject([{ id, state: 'running' }]);
  });

  it('terminate stops and removes in the background; the container is gone and the actor with it', async () => {
    const w = memoryWorld();
    const id = await w.supervisor.create(OWNER, request(), undefined, w.signal);
    w.supervisor.terminate(OWNER, id, 0);
    expect(w.supervisor.views(OWNER)[0]?.terminating).toBe(true);
    await w.settle();
    expect(w.runtime.snapshot()).toEqual([]);
    expect(w.supervisor.views(OWNER)).toEqual([]);
    expect(w.transitions.at(-1)).toEqual({ owner: 'web', phase: 'Removed' });
  });
});
