// Issue 9's Kubernetes failure: two controller replicas with leader election,
// each with its own (emptyDir-like) state dir. Claims are Bound when the
// leader is killed (no release). The new leader rebuilds every binding from
// the claims' statuses before it binds anything: a Bound claim stays Bound to
// the same live container, its member is never handed to a new claim, and a
// release after the failover still replaces the member. A claim whose binding
// a user changed while no leader acted is no record: it fails BindingUnknown,
// and the member it really held is recycled, never handed out as warm.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noEngine, noKube } from './support/provided.js';
import { cleanupByLabel, TEST_IMAGE, uniqueControllerId } from './support/engine.js';
import { managedContainers } from './support/controller.js';
import { applyCrds, createNamespace, CustomResources, deleteNamespaces, startTestCluster, until, type BerthObject, type TestCluster } from './support/kube-cluster.js';
import { startKubeController, type KubeController } from './support/kube-controller.js';

const LEASE = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };

describe.skipIf(noEngine() || noKube())('claims across a leader failover (Kubernetes source)', () => {
  let cluster: TestCluster;
  let crs: CustomResources;
  const controllerId = uniqueControllerId();
  let ns = '';
  let leaseName = '';
  const replicas: Record<string, KubeController> = {};

  const replica = (name: string) => startKubeController({ kc: cluster.kc, controllerId, namespace: ns, name, leaderElection: { namespace: ns, name: leaseName, identity: name, ...LEASE } });
  const claim = (name: string): BerthObject => ({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name, namespace: ns }, spec: { poolRef: { name: 'runners' } } });
  const bound = (name: string) => crs.waitForCondition('InstanceClaim', ns, name, 'Bound', { timeoutMs: 30_000 });

  beforeAll(async () => {
    cluster = await startTestCluster();
    crs = new CustomResources(cluster.kc);
    ns = `berth-cf-${cluster.runId}`;
    leaseName = `berth-leader-${cluster.runId}`;
    await applyCrds(cluster.kc);
    await createNamespace(cluster.kc, ns);
  });

  afterAll(async () => {
    for (const r of Object.values(replicas)) await r.stop().catch(() => undefined);
    if (cluster) {
      await deleteNamespaces(cluster.kc, [ns]).catch(() => undefined);
      await cluster.close();
    }
    await cleanupByLabel(controllerId);
  });

  it('a new leader keeps every binding, never rebinds a held member, and releases after the failover still replace', async () => {
    replicas['a'] = await replica('replica-a');
    await until('replica-a leads', () => replicas['a']!.runner.acting || undefined, 15_000, 20);
    replicas['b'] = await replica('replica-b');
    await crs.create({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'InstancePool',
      metadata: { name: 'runners', namespace: ns },
      spec: { minReady: 2, maxSize: 4, claimTimeoutSeconds: 20, template: { image: TEST_IMAGE, command: ['sleep', '3600'], network: 'none', healthCheck: { exec: { command: ['true'] }, periodSeconds: 5 } } },
    });
    await crs.waitForCondition('InstancePool', ns, 'runners', 'Ready');
    await crs.create(claim('c1'));
    await crs.create(claim('c2'));
    const [c1, c2] = [await bound('c1'), await bound('c2')];
    expect(c1.status?.containerId).not.toBe(c2.status?.containerId);

    await replicas['a']!.runner.kill();
    await until('replica-b leads', () => replicas['b']!.runner.acting || undefined, 15_000, 20);
    // Claims made after the failover bind to other members; the held ones stay held.
    await crs.create(claim('c3'));
    await crs.create(claim('c4'));
    const [c3, c4] = [await bound('c3'), await bound('c4')];
    const held = new Set([c1.status?.containerId, c2.status?.containerId]);
    expect(held.has(c3.status?.containerId)).toBe(false);
    expect(held.has(c4.status?.containerId)).toBe(false);
    // Some time later (the old code timed c1 out here), c1 and c2 are still Bound to the same, live containers.
    await new Promise((r) => setTimeout(r, 2000));
    for (const [name, before] of [['c1', c1], ['c2', c2]] as const) {
      const now = await crs.get('InstanceClaim', ns, name);
      expect(now?.status?.phase, name).toBe('Bound');
      expect(now?.status?.containerId, name).toBe(before.status?.containerId);
    }
    const live = new Set((await managedContainers(controllerId)).map((c) => c.id));
    for (const id of [...held, c3.status?.containerId, c4.status?.containerId]) expect(live.has(id!)).toBe(true);

    // Releasing c1 under the new leader removes its member (Replace), it is not handed out again.
    await crs.delete('InstanceClaim', ns, 'c1');
    await until('c1 gone', async () => ((await crs.get('InstanceClaim', ns, 'c1')) === undefined ? true : undefined), 20_000);
    await until('its member removed', async () => (!(await managedContainers(controllerId)).some((c) => c.id === c1.status?.containerId) ? true : undefined), 20_000);
  });
  it("a claim's binding changed by a user while no leader acts: it fails BindingUnknown, and its real member is not handed out", async () => {
    const leader = Object.keys(replicas).find((k) => replicas[k]!.runner.acting)!;
    replicas['c'] = await replica('replica-c');
    const claimOf = (name: string): BerthObject => ({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name, namespace: ns }, spec: { poolRef: { name: 'edited' } } });
    await crs.create({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'InstancePool',
      metadata: { name: 'edited', namespace: ns },
      spec: { minReady: 2, maxSize: 4, claimTimeoutSeconds: 20, template: { image: TEST_IMAGE, command: ['sleep', '3600'], network: 'none', healthCheck: { exec: { command: ['true'] }, periodSeconds: 5 } } },
    });
    await crs.waitForCondition('InstancePool', ns, 'edited', 'Ready');
    await crs.create(claimOf('e1'));
    await crs.create(claimOf('e2'));
    const e1 = await crs.waitForCondition('InstanceClaim', ns, 'e1', 'Bound', { timeoutMs: 30_000 });
    const e2 = await crs.waitForCondition('InstanceClaim', ns, 'e2', 'Bound', { timeoutMs: 30_000 });
    const real = e1.status!.containerId!;

    // The leader dies; before the next one takes over, a user points e1 at e2's member (as kubectl patch does).
    await replicas[leader]!.runner.kill();
    await crs.patchStatus('InstanceClaim', ns, 'e1', { status: { instance: (e2.status as { instance?: string }).instance, containerId: e2.status!.containerId } }, 'kubectl-patch');
    await until('replica-c leads', () => replicas['c']!.runner.acting || undefined, 15_000, 20);

    const failed = await until('e1 fails BindingUnknown', async () => {
      const o = await crs.get('InstanceClaim', ns, 'e1');
      return o?.status?.phase === 'Failed' ? o : undefined;
    }, 20_000, 100);
    expect(failed.status?.conditions?.find((c) => c.type === 'Bound')?.reason).toBe('BindingUnknown');
    expect((await crs.get('InstanceClaim', ns, 'e2'))?.status).toMatchObject({ phase: 'Bound', containerId: e2.status!.containerId });
    // e1's real member was used by e1's client: it is recycled (Replace: removed), never bound to a new claim.
    await crs.create(claimOf('e3'));
    const e3 = await crs.waitForCondition('InstanceClaim', ns, 'e3', 'Bound', { timeoutMs: 30_000 });
    expect([real, e2.status!.containerId]).not.toContain(e3.status?.containerId);
    await until("e1's real member removed", async () => (!(await managedContainers(controllerId)).some((c) => c.id === real) ? true : undefined), 20_000);
  });
});
