// The Instance reconcile (Reconciler + InstanceSteps) on the in-memory runtime
// with a FakeClock: create when missing, replace on drift under the plan's
// temporary name, restart an exited container with backoff, prune a removed
// spec. The runtime is the contract-tested memory runtime, so these are the
// controller's decisions carried out, not mocks answering.
import { describe, expect, it } from 'vitest';
import { InstanceSteps } from './instance-reconciler.js';
import { Reconciler } from './reconciler.js';
import { API, CONTROLLER_ID, instance, keyOfInstance, memoryWorld } from './memory-world.testkit.js';
import type { InstanceStatus } from '../spec/status.js';
import { LABEL } from '../runtime/types.js';
import { RuntimeError } from '../runtime/errors.js';
import { flushMicrotasks } from '../time/clock.js';

function setup() {
  const w = memoryWorld();
  const woken: string[] = [];
  const pruned: string[] = [];
  const steps = new InstanceSteps({ controllerId: CONTROLLER_ID, store: w.store, runtime: w.runtime, supervisor: w.supervisor, recorder: w.recorder, memory: w.memory, policy: w.policy, clock: w.clock, wake: (k) => woken.push(k.name) });
  const reconciler = new Reconciler(steps, { store: w.store, clock: w.clock, onPruned: (k) => pruned.push(k.name) });
  const key = keyOfInstance('web');
  const reconcile = () => reconciler.reconcile(key, w.signal);
  const status = () => w.store.get(key)?.object.status as InstanceStatus | undefined;
  const containers = () => w.runtime.snapshot().filter((c) => c.owner === 'web');
  const preview = async () => reconciler.preview(key, steps.snapshotWorld(key, await w.runtime.list({ managedBy: CONTROLLER_ID, name: 'web' })));
  return { ...w, steps, reconciler, key, reconcile, status, containers, preview, woken, pruned };
}

describe('Instance reconcile on the memory runtime', () => {
  it('creates and starts the missing container, labelled as the controller owns it, and reports Ready', async () => {
    const t = setup();
    t.store.apply(instance('web'), API);
    expect(await t.reconcile()).toEqual({});
    const [c] = t.containers();
    expect(t.containers()).toHaveLength(1);
    expect(c).toMatchObject({ name: 'berth-default-web', state: 'running', managedBy: CONTROLLER_ID, kind: 'Instance', owner: 'web' });
    expect(c!.labels[LABEL.createdAt]).toBe(String(t.clock.now()));
    expect(t.status()).toMatchObject({ containerId: c!.id, observedGeneration: 1, phase: 'Ready' });
    expect(t.status()?.conditions.find((x) => x.type === 'Ready')?.status).toBe('True');
    expect(t.reasons('web')).toContain('Created');
    // Converged: a second reconcile plans nothing and touches the runtime only to list.
    const creates = t.runtime.script.count('create');
    expect((await t.preview()).actions).toEqual([]);
    await t.reconcile();
    expect(t.runtime.script.count('create')).toBe(creates);
  });

  it('a usage sample is written to status as it arrives, without a reconcile (no wake, no list)', async () => {
    const t = setup();
    t.store.apply(instance('web'), API);
    await t.reconcile(); // creates the container
    await t.reconcile(); // observes it running: the sample is asked for
    const lists = t.runtime.script.count('list');
    for (let i = 0; i < 10 && t.status()?.usage === undefined; i++) await flushMicrotasks();
    expect(t.status()?.usage).toEqual({ cpu: '0.0%', memory: '0Mi', pids: 1 });
    expect(t.woken).toEqual([]);
    expect(t.runtime.script.count('list')).toBe(lists);
    // The next reconcile's status keeps it (read from the sampler, not a snapshot from before the sample).
    await t.reconcile();
    expect(t.status()?.usage).toEqual({ cpu: '0.0%', memory: '0Mi', pids: 1 });
  });

  it('replaces on config drift: the new container starts under the plan\'s temporary name, then takes the name (reason ConfigDrift)', async () => {
    const t = setup();
    t.store.apply(instance('web', { env: [{ name: 'MODE', value: 'a' }] }), API);
    await t.reconcile();
    const old = t.containers()[0]!;
    t.store.apply(instance('web', { env: [{ name: 'MODE', value: 'b' }] }), API);
    const plan = await t.preview();
    const replace = plan.actions[0];
    expect(replace).toMatchObject({ type: 'replace', reason: 'ConfigDrift', containerId: old.id, stopFirst: false, driftedFields: ['env'] });
    const tempName = (replace as { tempName: string }).tempName;
    expect(tempName).toMatch(/^berth-default-web-[0-9a-f]{8}$/);

    await t.reconcile();
    expect(t.runtime.script.calls.filter((c) => c.op === 'create').map((c) => c.target)).toEqual(['berth-default-web', tempName]);
    const now = t.containers();
    expect(now).toHaveLength(1);
    expect(now[0]).toMatchObject({ name: 'berth-default-web', state: 'running' });
    expect(now[0]!.id).not.toBe(old.id);
    expect(now[0]!.configHash).not.toBe(old.configHash);
    expect(t.reasons('web')).toEqual(expect.arrayContaining(['ConfigDrift', 'Replaced']));
    expect(t.status()).toMatchObject({ containerId: now[0]!.id, observedGeneration: 2, lastDrift: { fields: ['env'] } });
  });

  it('restarts an exited container at once, then backs off (CrashLoopBackOff) until the clock passes the deadline', async () => {
    const t = setup();
    t.store.apply(instance('web'), API);
    await t.reconcile();
    const id = t.containers()[0]!.id;

    t.runtime.exit(id, 1);
    await t.reconcile();
    expect(t.containers()[0]).toMatchObject({ id, state: 'running' });
    expect(t.status()?.restartCount).toBe(1);
    expect(t.reasons('web')).toContain('Restarted');

    t.runtime.exit(id, 1);
    const waiting = await t.reconcile();
    expect(waiting.requeueAfterMs).toBe(10_000);
    expect(t.containers()[0]?.state).toBe('exited');
    expect(t.status()?.conditions.find((x) => x.type === 'Ready')).toMatchObject({ status: 'False', reason: 'CrashLoopBackOff' });

    t.clock.advance(9_999);
    expect((await t.reconcile()).requeueAfterMs).toBe(1);
    expect(t.containers()[0]?.state).toBe('exited');
    t.clock.advance(1);
    await t.reconcile();
    expect(t.containers()[0]).toMatchObject({ id, state: 'running' });
    expect(t.status()?.restartCount).toBe(2);
  });

  it('a container removed behind berth\'s back is created again, and its actor is dropped', async () => {
    const t = setup();
    t.store.apply(instance('web'), API);
    await t.reconcile();
    const old = t.containers()[0]!.id;
    await t.runtime.retire(old, 0);
    await t.reconcile();
    expect(t.containers()).toHaveLength(1);
    expect(t.containers()[0]!.id).not.toBe(old);
    expect(t.supervisor.snapshot(old)).toBeUndefined();
    expect(t.supervisor.size).toBe(1);
  });

  it('maxAgeSeconds: the reconcile requeues at the age deadline, and past it the container is replaced (MaxAgeExceeded)', async () => {
    const t = setup();
    t.store.apply(instance('web', { maxAgeSeconds: 3600 }), API);
    await t.reconcile(); // creates: the plan had no container to age yet
    expect((await t.reconcile()).requeueAfterMs).toBe(3_600_000);
    const old = t.containers()[0]!.id;
    t.clock.advance(3_599_999);
    expect((await t.reconcile()).requeueAfterMs).toBe(1);
    expect(t.containers()[0]!.id).toBe(old);
    t.clock.advance(1);
    await t.reconcile();
    expect(t.containers()).toHaveLength(1);
    expect(t.containers()[0]).toMatchObject({ name: 'berth-default-web', state: 'running' });
    expect(t.containers()[0]!.id).not.toBe(old);
    expect(t.reasons('web')).toContain('MaxAgeExceeded');
  });

  it('state Stopped stops the container and keeps it', async () => {
    const t = setup();
    t.store.apply(instance('web'), API);
    await t.reconcile();
    t.store.apply(instance('web', { state: 'Stopped' }), API);
    await t.reconcile();
    expect(t.containers()).toMatchObject([{ state: 'exited' }]);
    expect(t.status()?.phase).toBe('Stopped');
  });

  it('restartPolicy Never leaves a finished container as it is', async () => {
    const t = setup();
    t.store.apply(instance('web', { restartPolicy: 'Never' }), API);
    await t.reconcile();
    t.runtime.exit(t.containers()[0]!.id, 0);
    await t.reconcile();
    expect(t.containers()[0]?.state).toBe('exited');
    expect(t.reasons('web')).not.toContain('Restarted');
  });

  it('prunes the container of a removed spec, then reports it pruned', async () => {
    const t = setup();
    t.store.apply(instance('web'), API);
    await t.reconcile();
    expect(t.containers()).toHaveLength(1);
    t.store.delete(t.key, API);
    await t.reconcile();
    expect(t.containers()).toEqual([]);
    expect(t.reasons('web')).toContain('Pruned');
    // Removal awaited: the next look finds nothing and the prune is done.
    await t.reconcile();
    expect(t.pruned).toEqual(['web']);
  });

  it('a refused create is written to status (and a Warning) before the error is thrown, so the retry sees a true status', async () => {
    const t = setup();
    t.store.apply(instance('web'), API);
    t.runtime.script.fail('create', new RuntimeError('Invalid', 'engine refused the request'));
    await expect(t.reconcile()).rejects.toThrow('engine refused the request');
    expect(t.status()?.conditions.find((x) => x.type === 'Ready')?.status).toBe('False');
    expect(t.recorder.list({ name: 'web' }).find((e) => e.type === 'Warning')?.message).toContain('engine refused the request');
    expect(t.containers()).toEqual([]);
    await t.reconcile(); // the failure was scripted once: the retry creates
    expect(t.containers()).toHaveLength(1);
  });
});
