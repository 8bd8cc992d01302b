// The Kubernetes source when the API server misbehaves: watches broken
// mid-stream, silently stalled, or resumed from a compacted resourceVersion
// (410), and writes answered with 409. Nothing is lost and nothing is done
// twice: an edit made meanwhile is carried out exactly once, no duplicate
// containers. The cluster is real (BERTH_TEST_KUBECONFIG); the controller
// talks to it through an HTTP proxy that breaks and stalls watches, answers
// the next watch as the apiserver answers one from a compacted
// resourceVersion (410 Expired), and injects 409s (kube-fault-proxy.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noEngine, noKube } from './support/provided.js';
import { cleanupByLabel, TEST_IMAGE, uniqueControllerId } from './support/engine.js';
import { managedContainers } from './support/controller.js';
import { applyCrds, createNamespace, CustomResources, deleteNamespaces, startTestCluster, until, type BerthObject, type TestCluster } from './support/kube-cluster.js';
import { startKubeController, type KubeController } from './support/kube-controller.js';
import { FINALIZER } from '../src/sources/kubernetes/custom-resource-source.js';

const STALL_TIMEOUT_MS = 1500;

const sleeper = (name: string, namespace: string, env = 'a'): BerthObject => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Instance',
  metadata: { name, namespace },
  spec: { image: TEST_IMAGE, command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"], stopGracePeriodSeconds: 1, env: [{ name: 'V', value: env }] },
});

describe.skipIf(noEngine() || noKube())('the Kubernetes source through broken, stalled and expired watches', () => {
  let cluster: TestCluster;
  let crs: CustomResources;
  let controller: KubeController;
  const controllerId = uniqueControllerId();
  let ns = '';

  const proxy = () => cluster.faultProxy;
  const containersOf = async (name: string) => (await managedContainers(controllerId)).filter((c) => c.labels['berth.dev/name'] === name);
  const events = (name: string, reason: string) => controller.runner.manager.recorder.list({ name }).filter((e) => e.reason === reason).reduce((n, e) => n + e.count, 0);
  const stats = () => controller.runner.source!.informerStats().Instance;
  /** The controller's three watches are open (faults act on open watches). */
  const watching = () => until('the watches to be open', () => (proxy().watchCount() >= 3 ? true : undefined), 10_000);

  beforeAll(async () => {
    cluster = await startTestCluster();
    crs = new CustomResources(cluster.kc);
    ns = `berth-wf-${cluster.runId}`;
    await applyCrds(cluster.kc);
    await createNamespace(cluster.kc, ns);
    await crs.create(sleeper('web', ns));
    controller = await startKubeController({ kc: cluster.faultKc, controllerId, namespace: ns, stallTimeoutMs: STALL_TIMEOUT_MS });
    await crs.waitForCondition('Instance', ns, 'web', 'Ready');
  });

  afterAll(async () => {
    await controller?.stop();
    if (cluster) {
      await deleteNamespaces(cluster.kc, [ns]).catch(() => undefined);
      await cluster.close();
    }
    await cleanupByLabel(controllerId);
  });

  it('a silently stalled watch is detected; an edit made while it was stalled is applied exactly once', async () => {
    await watching();
    const before = stats();
    const [old] = await containersOf('web');
    proxy().stallWatches();
    const stalledAt = Date.now();
    await crs.patch('Instance', ns, 'web', { spec: { env: [{ name: 'V', value: 'b' }] } });
    const o = await crs.waitForCondition('Instance', ns, 'web', 'Ready', { observedGeneration: 2, timeoutMs: 20_000 });
    expect(Date.now() - stalledAt).toBeGreaterThanOrEqual(STALL_TIMEOUT_MS - 200); // it took the watchdog, not the stalled stream
    await new Promise((r) => setTimeout(r, 1000));
    expect(stats().stalls).toBeGreaterThan(before.stalls);
    expect(stats().lists).toBe(before.lists); // resumed from the last resourceVersion, no re-list
    expect(events('web', 'ConfigDrift')).toBe(1);
    const now = await containersOf('web');
    expect(now.map((c) => c.id)).toEqual([o.status?.containerId]);
    expect(now[0]?.id).not.toBe(old?.id);
  });

  it('a broken watch is resumed: a resource created meanwhile gets exactly one container', async () => {
    await watching();
    const before = stats();
    proxy().breakWatches();
    await crs.create(sleeper('api', ns));
    const o = await crs.waitForCondition('Instance', ns, 'api', 'Ready', { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 1000));
    expect(stats().errors).toBeGreaterThan(before.errors);
    expect(stats().lists).toBe(before.lists);
    expect((await containersOf('api')).map((c) => c.id)).toEqual([o.status?.containerId]);
    expect(events('api', 'Created')).toBe(1);
  });

  it('410 Gone: re-lists and catches up with deletions and edits it missed', async () => {
    await watching();
    const before = stats();
    proxy().stallWatches();
    await crs.delete('Instance', ns, 'api'); // held by the finalizer: MODIFIED with deletionTimestamp, unseen
    const edited = await crs.patch('Instance', ns, 'web', { spec: { env: [{ name: 'V', value: 'c' }] } });
    proxy().compactBefore(edited.metadata.resourceVersion!); // each resumed watch hears 410 Expired: history was compacted
    proxy().breakWatches();
    await until('api gone', async () => ((await crs.get('Instance', ns, 'api')) ? undefined : true), 20_000);
    expect(await containersOf('api')).toEqual([]);
    const o = await crs.waitForCondition('Instance', ns, 'web', 'Ready', { observedGeneration: 3, timeoutMs: 20_000 });
    expect(stats().relists).toBeGreaterThan(before.relists);
    expect((await containersOf('web')).map((c) => c.id)).toEqual([o.status?.containerId]);
    expect(events('web', 'ConfigDrift')).toBe(2);
  });

  it('409 on the finalizer and status writes: retried on fresh data', async () => {
    await watching();
    const name = 'conflicted';
    const removeMain = proxy().injectFault({ method: 'PATCH', path: new RegExp(`/instances/${name}(\\?|$)`), status: 409, reason: 'Conflict', times: 2 });
    const removeStatus = proxy().injectFault({ method: 'PATCH', path: new RegExp(`/instances/${name}/status`), status: 409, reason: 'Conflict', times: 2 });
    await crs.create(sleeper(name, ns));
    const o = await crs.waitForCondition('Instance', ns, name, 'Ready', { timeoutMs: 20_000 });
    expect(o.metadata.finalizers).toEqual([FINALIZER]);
    expect(controller.runner.source!.status.stats.conflicts).toBeGreaterThanOrEqual(2);
    removeMain();
    removeStatus();
  });

  it('404 on a status write (the object is gone) is dropped, not retried forever', async () => {
    const name = 'vanishing';
    await crs.create(sleeper(name, ns));
    await crs.waitForCondition('Instance', ns, name, 'Ready');
    await crs.delete('Instance', ns, name);
    await until(`${name} gone`, async () => ((await crs.get('Instance', ns, name)) ? undefined : true), 20_000);
    await controller.runner.source!.status.idle();
    expect(await containersOf(name)).toEqual([]);
  });
});
