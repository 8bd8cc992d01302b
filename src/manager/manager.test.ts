// The Manager's event routing on the in-memory runtime and a FakeClock: a
// runtime event of a container this controller manages wakes its owner's key
// (Instance or pool), with no resync and no time passing; events of another
// controller's containers wake nothing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from '../time/clock.js';
import { Manager } from './manager.js';
import { API, CONTROLLER_ID, instance, pool, TEST_NOW } from '../controller/memory-world.testkit.js';
import { MemoryRuntime } from '../runtime/memory/memory-runtime.js';
import { contractRequest } from '../runtime/runtime-contract.testkit.js';
import { DEFAULT_POLICY } from '../spec/policy.js';
import type { InstanceStatus } from '../spec/status.js';

const started: Array<{ m: Manager; dir: string }> = [];

async function startManager() {
  const clock = new FakeClock(TEST_NOW);
  const runtime = new MemoryRuntime({ clock });
  const dir = await mkdtemp(join(tmpdir(), 'berth-manager-unit-'));
  const m = new Manager({
    controllerId: CONTROLLER_ID,
    runtime,
    policy: DEFAULT_POLICY,
    stateDir: dir,
    specDirs: [],
    workers: 2,
    maxConcurrentOps: 8,
    // The periodic resync never fires here: only events and the store wake keys.
    resyncMs: 24 * 3600_000,
    logger: pino({ level: 'silent' }),
    clock,
  });
  started.push({ m, dir });
  await m.start();
  /** Lets queued reconciles and actors run until `done` holds (no time passes); fails if they settle without it. */
  const until = async (what: string, done: () => boolean): Promise<void> => {
    for (let i = 0; i < 200; i++) {
      if (done()) return;
      await flushMicrotasks();
    }
    throw new Error(`never: ${what}`);
  };
  /** Lets everything queued run; nothing more can happen without time or an event. */
  const quiesce = async (): Promise<void> => {
    for (let i = 0; i < 30; i++) await flushMicrotasks();
  };
  return { clock, runtime, m, until, quiesce };
}

afterEach(async () => {
  for (const { m, dir } of started.splice(0)) {
    await m.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

const instanceStatus = (m: Manager, name: string) => m.store.get({ kind: 'Instance', namespace: 'default', name })?.object.status as InstanceStatus | undefined;

describe('Manager event routing on the memory runtime', () => {
  it('a die event of a managed Instance container wakes its key: the container is restarted without a resync', async () => {
    const t = await startManager();
    t.m.store.apply(instance('web'), API);
    await t.until('web running', () => t.runtime.snapshot().some((c) => c.owner === 'web' && c.state === 'running') && instanceStatus(t.m, 'web')?.phase === 'Ready');
    await t.quiesce();
    const id = t.runtime.snapshot()[0]!.id;
    t.runtime.exit(id, 1);
    await t.until('web restarted', () => instanceStatus(t.m, 'web')?.restartCount === 1);
    expect(t.runtime.snapshot()).toMatchObject([{ id, state: 'running' }]);
    expect(t.m.recorder.list({ name: 'web' }).some((e) => e.reason === 'Restarted')).toBe(true);
  });

  it('an event of another controller\'s container wakes nothing', async () => {
    const t = await startManager();
    t.m.store.apply(instance('web'), API);
    await t.until('web running', () => instanceStatus(t.m, 'web')?.phase === 'Ready');
    await t.quiesce();
    const lists = t.runtime.script.count('list');
    // Same owner labels, another managed-by: not ours.
    const foreign = await t.runtime.create(contractRequest('someone-else', 'web', { image: 'berth-test/busybox:1' }));
    await t.runtime.start(foreign);
    t.runtime.exit(foreign, 1);
    await t.quiesce();
    expect(t.runtime.script.count('list')).toBe(lists);
    expect(t.runtime.snapshot().find((c) => c.id === foreign)).toMatchObject({ state: 'exited' });
  });

  it('the engine telling of a start berth made itself wakes nothing; other news of the container does', async () => {
    const t = await startManager();
    t.m.store.apply(instance('web'), API);
    await t.until('web running', () => instanceStatus(t.m, 'web')?.phase === 'Ready');
    await t.quiesce();
    const lists = t.runtime.script.count('list');
    const id = t.runtime.snapshot().find((c) => c.owner === 'web')!.id;
    t.runtime.emitEvent(id, 'start');
    await t.quiesce();
    expect(t.runtime.script.count('list')).toBe(lists);
    t.runtime.emitEvent(id, 'stop');
    await t.until('web looked at again', () => t.runtime.script.count('list') > lists);
  });

  it('a die event of a pool member wakes the pool: the member is replaced', async () => {
    const t = await startManager();
    t.m.store.apply(pool('py', { minReady: 2, maxSize: 3 }), API);
    const running = () => t.runtime.snapshot().filter((c) => c.owner === 'py' && c.state === 'running');
    await t.until('two warm members', () => running().length === 2);
    await t.quiesce();
    const [victim] = running();
    t.runtime.exit(victim!.id, 137, { oomKilled: true });
    await t.until('the member replaced', () => running().length === 2 && !t.runtime.snapshot().some((c) => c.id === victim!.id));
    expect(t.runtime.script.count('create')).toBe(3);
  });

  it('the event wakes only its owner: another Instance is not reconciled', async () => {
    const t = await startManager();
    t.m.store.apply(instance('web'), API);
    t.m.store.apply(instance('api'), API);
    await t.until('both Ready', () => instanceStatus(t.m, 'web')?.phase === 'Ready' && instanceStatus(t.m, 'api')?.phase === 'Ready');
    await t.quiesce();
    const listsOf = (owner: string) => t.runtime.script.calls.filter((c) => c.op === 'list' && c.target === owner).length;
    const api = listsOf('api');
    const web = listsOf('web');
    t.runtime.exit(t.runtime.snapshot().find((c) => c.owner === 'web')!.id, 0);
    await t.until('web restarted', () => instanceStatus(t.m, 'web')?.restartCount === 1);
    await t.quiesce();
    expect(listsOf('web')).toBeGreaterThan(web);
    expect(listsOf('api')).toBe(api);
  });
});
