// A converged system costs one list call per periodic resync, not one per
// container: the resync plans from its snapshot and reconciles nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manager } from '../src/manager/manager.js';
import { DockerRuntime } from '../src/runtime/docker/docker-runtime.js';
import type { ListFilter, ObservedContainer } from '../src/runtime/types.js';
import { noEngine } from './support/provided.js';
import { eventually } from './support/runtime-contract.js';
import { testDocker } from './support/engine.js';
import { instanceYaml, isReady, removeDirs, startManager, statusOf, testDirs, writeSpec, type TestDirs } from './support/controller.js';

class CountingRuntime extends DockerRuntime {
  lists = 0;
  override list(filter: ListFilter, signal?: AbortSignal): Promise<ObservedContainer[]> {
    this.lists++;
    return super.list(filter, signal);
  }
}

describe.skipIf(noEngine())('periodic resync', () => {
  let d: TestDirs;
  let m: Manager;
  const runtime = new CountingRuntime({});
  const names = ['r1', 'r2', 'r3', 'r4'];

  beforeAll(async () => {
    d = await testDirs();
    for (const n of names) await writeSpec(d, `${n}.yaml`, instanceYaml(n));
    m = await startManager(d, { runtime });
    await eventually('all Ready', () => (names.every((n) => isReady(statusOf(m, n))) ? true : undefined), 30_000);
    // Converged includes the first usage sample in status (written as it arrives, without a reconcile).
    await eventually('usage shown', () => (names.every((n) => (statusOf(m, n) as { usage?: unknown } | undefined)?.usage !== undefined) ? true : undefined), 30_000);
    await new Promise((r) => setTimeout(r, 1500)); // let the last transitions settle
  });

  afterAll(async () => {
    await m?.stop();
    if (d) await removeDirs(d);
  });

  it('a converged system costs one list call and no reconcile', async () => {
    const before = runtime.lists;
    const reconciles = async () => (await m.metrics.registry.getSingleMetric('controller_runtime_reconcile_total')!.get()).values.reduce((a, v) => a + v.value, 0);
    const r0 = await reconciles();
    await m.resync(false);
    await new Promise((r) => setTimeout(r, 500));
    expect(runtime.lists - before).toBe(1);
    expect(await reconciles()).toBe(r0);
  });

  it("a container stopped behind berth's back is running again after events and a resync", async () => {
    const id = statusOf(m, 'r2')!.containerId!;
    // Stop it without the events stream noticing in time: the resync must find it.
    await testDocker().getContainer(id).stop({ t: 1 });
    await m.resync(false);
    await eventually('r2 running again', () => (statusOf(m, 'r2')!.restartCount >= 1 && isReady(statusOf(m, 'r2')) ? true : undefined), 20_000);
  });
});
