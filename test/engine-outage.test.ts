// Engine outages: the controller talks to the real engine through a proxy the
// test can cut (connections refused) or wedge (accepted, never answered). It
// must mark Instances Degraded with EngineUnavailable, never hang, and
// reconverge by itself once the engine answers again.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manager } from '../src/manager/manager.js';
import { noEngine } from './support/provided.js';
import { eventually } from './support/runtime-contract.js';
import { testDocker } from './support/engine.js';
import { EngineProxy } from './support/socket-proxy.js';
import { instanceYaml, isReady, managedContainers, removeDirs, startManager, statusOf, testDirs, writeSpec, type TestDirs } from './support/controller.js';

const degradedBy = (m: Manager, name: string, reason: string) => () =>
  statusOf(m, name)?.conditions.some((c) => c.type === 'Degraded' && c.status === 'True' && c.reason === reason) ? true : undefined;

describe.skipIf(noEngine())('engine outages', () => {
  let d: TestDirs;
  let m: Manager;
  let proxy: EngineProxy;

  beforeAll(async () => {
    d = await testDirs();
    proxy = new EngineProxy(join(d.root, 'engine.sock'));
    await proxy.start();
    await writeSpec(d, 'a.yaml', instanceYaml('a'));
    m = await startManager(d, { socketPath: proxy.path });
    await eventually('a Ready', () => (isReady(statusOf(m, 'a')) ? true : undefined), 20_000);
  });

  afterAll(async () => {
    await m?.stop();
    await proxy?.close();
    if (d) await removeDirs(d);
  });

  it('an engine that refuses connections: Degraded EngineUnavailable, then reconverges by itself', async () => {
    const aId = statusOf(m, 'a')!.containerId!;
    await proxy.down();
    await writeSpec(d, 'b.yaml', instanceYaml('b'));
    await eventually('b Degraded', degradedBy(m, 'b', 'EngineUnavailable'), 15_000);
    // What was known stays in status while the engine cannot be asked.
    expect(statusOf(m, 'a')?.containerId).toBe(aId);
    // A container killed meanwhile is noticed once the engine is back (events resubscribed, resync).
    await testDocker().getContainer(aId).kill();
    await proxy.restore();
    await eventually('b Ready', () => (isReady(statusOf(m, 'b')) ? true : undefined), 20_000);
    await eventually('a restarted', () => (statusOf(m, 'a')!.restartCount >= 1 && isReady(statusOf(m, 'a')) ? true : undefined), 20_000);
    expect((await managedContainers(d.controllerId)).map((c) => c.labels['berth.dev/name']).sort()).toEqual(['a', 'b']);
  });

  it('a wedged engine (answers nothing) is reported, not waited on forever', async () => {
    await proxy.restore(); // whatever the previous test left
    proxy.hang();
    await writeSpec(d, 'c.yaml', instanceYaml('c'));
    await eventually('c Degraded', degradedBy(m, 'c', 'EngineUnavailable'), 20_000);
    expect(m.ready).toBe(true); // the API keeps serving
    await proxy.restore();
    await eventually('c Ready', () => (isReady(statusOf(m, 'c')) ? true : undefined), 30_000);
  });
});
