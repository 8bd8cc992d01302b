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
import { RuntimeError } from '../runtime/errors.js';
import type { ListFilter, ObservedContainer } from '../runtime/types.js';

const started: Array<{ m: Manager; dir: string }> = [];

/**
 * The engine's list lagging its events, as Docker's does: a container marked
 * stale is listed as it was when marked (running) until unmarked; inspect
 * answers with the truth.
 */
class LaggingListRuntime extends MemoryRuntime {
  private readonly stale = new Map<string, ObservedContainer>();

  async markStale(id: string): Promise<void> {
    const [c] = (await super.list({ managedBy: CONTROLLER_ID })).filter((x) => x.id === id);
    if (c) this.stale.set(id, c);
  }

  override async list(filter: ListFilter, signal?: AbortSignal): Promise<ObservedContainer[]> {
    return (await super.list(filter, signal)).map((c) => this.stale.get(c.id) ?? c);
  }
}

async function startManager(opts: { resyncMs?: number } = {}) {
  const clock = new FakeClock(TEST_NOW);
  const runtime = new LaggingListRuntime({ clock });
  const dir = await mkdtemp(join(tmpdir(), 'berth-manager-unit-'));
  const m = new Manager({
    controllerId: CONTROLLER_ID,
    runtime,
    policy: DEFAULT_POLICY,
    stateDir: dir,
    specDirs: [],
    workers: 2,
    maxConcurrentOps: 8,
    // By default the periodic resync never fires: only events and the store wake keys.
    resyncMs: opts.resyncMs ?? 24 * 3600_000,
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
  /** Moves fake time forward by ms and lets what it woke run. */
  const advance = async (ms: number): Promise<void> => {
    await clock.advanceAsync(ms);
    await quiesce();
  };
  /** Lists the controller made of one owner's containers: one per reconcile of that owner. */
  const listsOf = (owner: string) => runtime.script.calls.filter((c) => c.op === 'list' && c.target === owner).length;
  /** Lists of every managed container: one per resync. */
  const resyncs = () => runtime.script.calls.filter((c) => c.op === 'list' && c.target === undefined).length;
  /**
   * Runs `act`, then moves fake time from timer to timer, to each deadline
   * exactly, for spanMs; returns when (ms after act) `count` went up. What a
   * timer does is seen at its own deadline, so a time here is neither late nor early.
   */
  const timeline = async (count: () => number, spanMs: number, act: () => unknown = () => undefined): Promise<number[]> => {
    const start = clock.now();
    const at: number[] = [];
    let seen = count();
    const note = (): void => {
      for (const n = count(); seen < n; seen++) at.push(clock.now() - start);
    };
    await act();
    await quiesce();
    note();
    for (let steps = 0, next = clock.nextTimerAt(); next !== undefined && next - start <= spanMs; next = clock.nextTimerAt()) {
      if (++steps > 1000) throw new Error('timers keep firing: no quiet point');
      await advance(next - clock.now());
      note();
    }
    return at;
  };
  return { clock, runtime, m, until, quiesce, advance, listsOf, resyncs, timeline };
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
    const foreign = await t.runtime.launch(contractRequest('someone-else', 'web', { image: 'berth-test/busybox:1' }));
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
    const api = t.listsOf('api');
    const web = t.listsOf('web');
    t.runtime.exit(t.runtime.snapshot().find((c) => c.owner === 'web')!.id, 0);
    await t.until('web restarted', () => instanceStatus(t.m, 'web')?.restartCount === 1);
    await t.quiesce();
    expect(t.listsOf('web')).toBeGreaterThan(web);
    expect(t.listsOf('api')).toBe(api);
  });
});

// The Manager's own timers run on its clock: with a FakeClock they fire when
// the test moves time, at their deadline and not before.
describe('Manager timers on the clock', () => {
  it('a die the list does not show yet restarts the container at once: its reconcile inspects it, and no timer is left', async () => {
    const t = await startManager();
    t.m.store.apply(instance('web'), API);
    await t.until('web Ready', () => instanceStatus(t.m, 'web')?.phase === 'Ready');
    await t.quiesce();
    const id = t.runtime.snapshot()[0]!.id;
    const timers = t.clock.pendingTimers;
    // The engine reports the die before its list shows the exit: every list finds the container running.
    await t.runtime.markStale(id);
    t.runtime.exit(id, 137);
    await t.until('web restarted without time passing', () => instanceStatus(t.m, 'web')?.restartCount === 1);
    expect(t.runtime.snapshot()).toMatchObject([{ id, state: 'running' }]);
    await t.quiesce();
    expect(t.clock.pendingTimers).toBe(timers);
  });

  it('a die told of a container that runs again costs one inspect, and the next reconcile trusts the list', async () => {
    const t = await startManager();
    t.m.store.apply(instance('web'), API);
    await t.until('web Ready', () => instanceStatus(t.m, 'web')?.phase === 'Ready');
    await t.quiesce();
    const id = t.runtime.snapshot()[0]!.id;
    const inspects = () => t.runtime.script.calls.filter((c) => c.op === 'inspect' && c.target === id).length;
    const before = { inspects: inspects(), lists: t.listsOf('web') };
    t.runtime.emitEvent(id, 'die');
    await t.until('web looked at', () => t.listsOf('web') > before.lists);
    await t.quiesce();
    expect(inspects()).toBe(before.inspects + 1);
    expect(t.runtime.snapshot()).toMatchObject([{ id, state: 'running' }]);
    t.m.enqueue({ kind: 'Instance', namespace: 'default', name: 'web' });
    await t.until('web looked at again', () => t.listsOf('web') > before.lists + 1);
    await t.quiesce();
    expect(inspects()).toBe(before.inspects + 1);
  });

  it('the periodic resync lists every container at its period, not before, and again a period later', async () => {
    const t = await startManager({ resyncMs: 30_000 });
    t.m.store.apply(instance('web'), API);
    await t.until('web Ready', () => instanceStatus(t.m, 'web')?.phase === 'Ready');
    await t.quiesce();
    expect(t.resyncs()).toBe(1); // the one at start
    expect(await t.timeline(t.resyncs, 90_000)).toEqual([30_000, 60_000, 90_000]);
  });

  it('a stopped manager resyncs no more', async () => {
    const t = await startManager({ resyncMs: 30_000 });
    await t.quiesce();
    const lists = t.resyncs();
    await t.m.stop();
    await t.advance(120_000);
    expect(t.resyncs()).toBe(lists);
    expect(t.clock.pendingTimers).toBe(0);
  });

  it('while the engine is down the watchdog pings again after 0.5, 1, 2, 4 s, then every 5 s; once it answers, everything is resynced', async () => {
    const t = await startManager();
    await t.quiesce();
    t.runtime.script.fail('ping', new RuntimeError('Unavailable', 'engine down'), { times: Infinity });
    const pings = () => t.runtime.script.count('ping');
    const pingsAt = await t.timeline(pings, 22_500, () => {
      t.runtime.script.fail('list', new RuntimeError('Unavailable', 'engine down'));
      return t.m.resync();
    });
    expect(pingsAt).toEqual([0, 500, 1500, 3500, 7500, 12_500, 17_500, 22_500]);
    const resyncs = t.resyncs();
    t.runtime.script.clear();
    // Back up: one more ping answers, everything is resynced, and no ping follows.
    expect(await t.timeline(pings, 60_000)).toEqual([5000]);
    expect(t.resyncs()).toBe(resyncs + 1);
  });

  it('a ping the engine never answers counts as down after 3 s on the clock, and the watchdog pings again', async () => {
    const t = await startManager();
    await t.quiesce();
    const hung = t.runtime.script.hold('ping');
    const pingsAt = await t.timeline(() => t.runtime.script.count('ping'), 3_500, () => {
      t.runtime.script.fail('list', new RuntimeError('Unavailable', 'engine down'));
      return t.m.resync();
    });
    // The hung ping gave up at 3 s; the next one went out 0.5 s later.
    expect(pingsAt).toEqual([0, 3500]);
    hung.release();
  });
});
