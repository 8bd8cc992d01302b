// Two controller replicas (same controller id, same engine, same API server)
// with leader election on a coordination.k8s.io/v1 Lease: only the leader
// acts; killing it (no release) hands over within the lease duration, and the
// new leader adopts the containers instead of duplicating them. Shorter
// durations than the defaults keep this fast; the defaults are asserted too.
import { CoordinationV1Api, V1MicroTime } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noEngine, noKube } from './support/provided.js';
import { cleanupByLabel, TEST_IMAGE, uniqueControllerId } from './support/engine.js';
import { managedContainers } from './support/controller.js';
import { applyCrds, createNamespace, CustomResources, deleteNamespaces, startTestCluster, until, type BerthObject, type TestCluster } from './support/kube-cluster.js';
import { startKubeController, type KubeController } from './support/kube-controller.js';
import { LEADER_ELECTION_DEFAULTS, LeaderElector, kubernetesLeaseLock } from '../src/sources/kubernetes/leader-election.js';

const LEASE = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };

const sleeper = (name: string, namespace: string, env = 'a'): BerthObject => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Instance',
  metadata: { name, namespace },
  spec: { image: TEST_IMAGE, command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"], stopGracePeriodSeconds: 1, env: [{ name: 'V', value: env }] },
});

describe.skipIf(noEngine() || noKube())('leader election between two controller replicas', () => {
  let cluster: TestCluster;
  let crs: CustomResources;
  const controllerId = uniqueControllerId();
  let ns = '';
  let leaseName = '';
  const replicas: Record<string, KubeController> = {};

  const replica = (name: string) =>
    startKubeController({ kc: cluster.kc, controllerId, namespace: ns, name, leaderElection: { namespace: ns, name: leaseName, identity: name, ...LEASE } });

  beforeAll(async () => {
    cluster = await startTestCluster();
    crs = new CustomResources(cluster.kc);
    ns = `berth-le-${cluster.runId}`;
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

  it('uses controller-runtime defaults unless told otherwise: 15 s lease, 10 s renew deadline, 2 s retry', () => {
    expect(LEADER_ELECTION_DEFAULTS).toEqual({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
    const e = new LeaderElector({ lock: kubernetesLeaseLock(cluster.kc, ns, 'unused'), identity: 'x', onStartedLeading: () => undefined, onStoppedLeading: () => undefined });
    expect({ lease: e.leaseDurationMs, renew: e.renewDeadlineMs, retry: e.retryPeriodMs }).toEqual({ lease: 15_000, renew: 10_000, retry: 2_000 });
  });

  it('only the leader acts: the follower creates no container and writes no status', async () => {
    replicas['a'] = await replica('replica-a');
    await until('replica-a to lead', () => replicas['a']!.runner.acting || undefined, 15_000);
    replicas['b'] = await replica('replica-b');
    await crs.create(sleeper('web', ns));
    const ready = await crs.waitForCondition('Instance', ns, 'web', 'Ready');
    await new Promise((r) => setTimeout(r, 1500));

    const a = replicas['a']!.runner;
    const b = replicas['b']!.runner;
    expect(a.leaderElector?.isLeader).toBe(true);
    expect(b.leaderElector?.isLeader).toBe(false);
    expect(b.leaderElector?.leader).toBe('replica-a');
    // The follower never started: no source (so no status, finalizer or Event writes), an empty store, no reconcile.
    expect(b.termCount).toBe(0);
    expect(b.source).toBeUndefined();
    expect(b.manager.store.list()).toEqual([]);
    expect(await b.manager.metrics.registry.getSingleMetricAsString('controller_runtime_reconcile_total')).not.toMatch(/reconcile_total\{[^}]*\} [1-9]/);
    expect(a.source?.status.stats.writes).toBeGreaterThan(0);
    // One container, the leader's.
    const web = (await managedContainers(controllerId)).filter((c) => c.labels['berth.dev/name'] === 'web');
    expect(web.map((c) => c.id)).toEqual([ready.status?.containerId]);
    const lease = await cluster.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: ns, name: leaseName });
    expect(lease.spec).toMatchObject({ holderIdentity: 'replica-a', leaseDurationSeconds: 3 });
  });

  it('killing the leader (no release) hands over within the lease duration; the new leader adopts, never duplicates', async () => {
    const before = (await managedContainers(controllerId)).filter((c) => c.labels['berth.dev/name'] === 'web');
    const killedAt = Date.now();
    await replicas['a']!.runner.kill();
    const b = replicas['b']!.runner;
    await until('replica-b to act', () => b.acting || undefined, 15_000, 20);
    const handover = Date.now() - killedAt;
    // b judges expiry from when it last saw the record change (at most a retry period, with jitter, before the kill).
    expect(handover).toBeLessThanOrEqual(LEASE.leaseDurationMs + 2 * 2.2 * LEASE.retryPeriodMs + 1000);
    const lease = await cluster.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: ns, name: leaseName });
    expect(lease.spec).toMatchObject({ holderIdentity: 'replica-b', leaseTransitions: 1 });

    // Adopted: the same container, still Ready, and an edit is carried out by b, once.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await managedContainers(controllerId)).filter((c) => c.labels['berth.dev/name'] === 'web').map((c) => c.id)).toEqual(before.map((c) => c.id));
    await crs.patch('Instance', ns, 'web', { spec: { env: [{ name: 'V', value: 'b' }] } });
    const replaced = await crs.waitForCondition('Instance', ns, 'web', 'Ready', { observedGeneration: 2 });
    expect(replaced.status?.containerId).not.toBe(before[0]?.id);
    expect((await managedContainers(controllerId)).filter((c) => c.labels['berth.dev/name'] === 'web').map((c) => c.id)).toEqual([replaced.status?.containerId]);
  });

  it('a replica that loses its lease stops acting at once', async () => {
    const b = replicas['b']!.runner;
    const leases = cluster.kc.makeApiClient(CoordinationV1Api);
    // Someone else holds it now (e.g. b was partitioned long enough for another replica to take over).
    // b renews the lease every retry period: a renewal between our read and our write is a 409, and we read again.
    for (let attempt = 0; ; attempt++) {
      const lease = await leases.readNamespacedLease({ namespace: ns, name: leaseName });
      try {
        await leases.replaceNamespacedLease({ namespace: ns, name: leaseName, body: { ...lease, spec: { ...lease.spec, holderIdentity: 'replica-z', acquireTime: new V1MicroTime(), renewTime: new V1MicroTime() } } });
        break;
      } catch (e) {
        if ((e as { code?: number }).code !== 409 || attempt >= 10) throw e;
      }
    }
    await until('b to stop acting', () => (!b.acting ? true : undefined), LEASE.retryPeriodMs * 3, 10);
    expect(b.leaderElector?.isLeader).toBe(false);
    // Its Manager stopped: a spec change is not acted on.
    const containers = (await managedContainers(controllerId)).map((c) => c.id).sort();
    await crs.patch('Instance', ns, 'web', { spec: { env: [{ name: 'V', value: 'c' }] } });
    await new Promise((r) => setTimeout(r, 1500));
    expect((await managedContainers(controllerId)).map((c) => c.id).sort()).toEqual(containers);
    expect((await crs.get('Instance', ns, 'web'))?.status?.observedGeneration).toBe(2);
  });
});
