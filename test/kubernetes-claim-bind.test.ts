// A bind in Kubernetes mode is a status write of the claim with a
// resourceVersion precondition, against the real apiserver (Docker members):
// another writer (an old leader whose write landed late) binds a claim while
// berth still sees it Pending; berth's own bind then meets 409, reads the
// claim again and adopts that binding instead of overwriting it, and the
// member berth had chosen stays warm for the next claim. A status a user
// sets by hand (`kubectl patch --subresource=status`) is no binding: berth
// writes its record back, and the member the user named is not held twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noEngine, noKube } from './support/provided.js';
import { cleanupByLabel, TEST_IMAGE, testDocker, uniqueControllerId } from './support/engine.js';
import { managedContainers } from './support/controller.js';
import { applyCrds, createNamespace, CustomResources, deleteNamespaces, startTestCluster, until, type BerthObject, type TestCluster } from './support/kube-cluster.js';
import { startKubeController, type KubeController } from './support/kube-controller.js';

describe.skipIf(noEngine() || noKube())('a bind is a conditional status write (Kubernetes source)', () => {
  let cluster: TestCluster;
  let crs: CustomResources;
  let controller: KubeController | undefined;
  const controllerId = uniqueControllerId();
  let ns = '';

  const claim = (name: string): BerthObject => ({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name, namespace: ns }, spec: { poolRef: { name: 'runners' } } });
  const members = async () => (await managedContainers(controllerId)).filter((c) => c.state === 'running' && c.labels['berth.dev/member']);
  /** The member passes its probe from now on. */
  const makeReady = async (id: string): Promise<void> => {
    const exec = await testDocker().getContainer(id).exec({ Cmd: ['touch', '/tmp/ready'] });
    await exec.start({});
  };

  beforeAll(async () => {
    cluster = await startTestCluster();
    crs = new CustomResources(cluster.kc);
    ns = `berth-cb-${cluster.runId}`;
    await applyCrds(cluster.kc);
    await createNamespace(cluster.kc, ns);
    controller = await startKubeController({ kc: cluster.kc, controllerId, namespace: ns });
  });

  afterAll(async () => {
    await controller?.stop().catch(() => undefined);
    if (cluster) {
      await deleteNamespaces(cluster.kc, [ns]).catch(() => undefined);
      await cluster.close();
    }
    await cleanupByLabel(controllerId);
  });

  it('another writer bound the claim first: berth meets 409, adopts that binding, and keeps its own choice warm', async () => {
    // Two members that pass their probe only once the test says so.
    await crs.create({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'InstancePool',
      metadata: { name: 'runners', namespace: ns },
      spec: { minReady: 2, maxSize: 2, claimTimeoutSeconds: 120, template: { image: TEST_IMAGE, command: ['sleep', '3600'], network: 'none', healthCheck: { exec: { command: ['test', '-f', '/tmp/ready'] }, periodSeconds: 1, failureThreshold: 1000 } } },
    });
    const [a, b] = await until('two members', async () => {
      const m = await members();
      return m.length === 2 ? m : undefined;
    });
    await crs.create(claim('c1'));
    await until('c1 Pending (written by berth)', async () => ((await crs.get('InstanceClaim', ns, 'c1'))?.status?.phase === 'Pending' ? true : undefined));

    // The other writer (an old leader's late write): c1 Bound to member a, written blind. berth does not act on status-only updates.
    const otherBinding = { phase: 'Bound', instance: `runners-${a!.labels['berth.dev/member']}`, containerId: a!.id, boundAt: new Date().toISOString(), conditions: [{ type: 'Bound', status: 'True', reason: 'Bound', message: 'bound by the old leader', lastTransitionTime: new Date().toISOString() }] };
    await crs.patchStatus('InstanceClaim', ns, 'c1', { status: otherBinding }, 'berth');

    // b becomes ready: berth binds the oldest waiting claim (c1, as far as it knows) to it. That write is conditional.
    await makeReady(b!.id);
    // b passed its probe: it is warm (ready), or some claim took it.
    await until('b passed its probe', async () => {
      const pool = await crs.get('InstancePool', ns, 'runners');
      const c1 = await crs.get('InstanceClaim', ns, 'c1');
      return (pool?.status?.ready ?? 0) >= 1 || c1?.status?.containerId === b!.id || undefined;
    });
    // Some time for every write berth makes of c1.
    await new Promise((r) => setTimeout(r, 1500));
    const c1 = (await crs.get('InstanceClaim', ns, 'c1')) as BerthObject & { status?: { instance?: string } };
    expect(c1.status?.phase).toBe('Bound');
    expect(c1.status?.containerId).toBe(a!.id);
    expect(c1.status?.instance).toBe(otherBinding.instance);

    // b was never handed out: the next claim binds it, warm; a stays with c1.
    await crs.create(claim('c2'));
    const c2 = await crs.waitForCondition('InstanceClaim', ns, 'c2', 'Bound', { timeoutMs: 20_000 });
    expect(c2.status?.containerId).toBe(b!.id);
    await makeReady(a!.id);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await crs.get('InstanceClaim', ns, 'c1'))?.status?.containerId).toBe(a!.id);
    expect((await crs.get('InstanceClaim', ns, 'c2'))?.status?.containerId).toBe(b!.id);
  });
  it("a user's status patch is no binding: berth writes its record back, and no member ends on two claims", async () => {
    const claimOf = (name: string): BerthObject => ({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name, namespace: ns }, spec: { poolRef: { name: 'edited' } } });
    await crs.create({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'InstancePool',
      metadata: { name: 'edited', namespace: ns },
      spec: { minReady: 2, maxSize: 4, claimTimeoutSeconds: 30, template: { image: TEST_IMAGE, command: ['sleep', '3600'], network: 'none', healthCheck: { exec: { command: ['true'] }, periodSeconds: 1 } } },
    });
    await crs.create(claimOf('e1'));
    const e1 = await crs.waitForCondition('InstanceClaim', ns, 'e1', 'Bound', { timeoutMs: 30_000 });
    const held = e1.status!.containerId!;
    // A warm member besides e1's: the user points e1 at it, as kubectl does (manager kubectl-patch).
    const other = await until('a warm member besides e1s', async () => {
      const pool = await crs.get('InstancePool', ns, 'edited');
      const all = (await managedContainers(controllerId)).filter((c) => c.state === 'running' && c.labels['berth.dev/kind'] === 'InstancePool' && c.labels['berth.dev/name'] === 'edited' && c.labels['berth.dev/member'] !== undefined && c.id !== held);
      return (pool?.status?.ready ?? 0) >= 2 && all.length ? all[0] : undefined;
    });
    const edited = { phase: 'Bound', instance: `edited-${other!.labels['berth.dev/member']}`, containerId: other!.id };
    await crs.patchStatus('InstanceClaim', ns, 'e1', { status: edited }, 'kubectl-patch');
    await until("e1's binding written back", async () => ((await crs.get('InstanceClaim', ns, 'e1'))?.status?.containerId === held ? true : undefined), 15_000);

    // The member the user named was never e1's: the next claim may take it; e1's member is not handed out.
    await crs.create(claimOf('e2'));
    const e2 = await crs.waitForCondition('InstanceClaim', ns, 'e2', 'Bound', { timeoutMs: 30_000 });
    expect(e2.status?.containerId).not.toBe(held);

    // Cleared by hand (Pending, no member): written back too, and still no member on two claims.
    await crs.patchStatus('InstanceClaim', ns, 'e1', { status: { phase: 'Pending', instance: null, containerId: null } }, 'kubectl-patch');
    await until("e1's binding written back again", async () => ((await crs.get('InstanceClaim', ns, 'e1'))?.status?.containerId === held ? true : undefined), 15_000);
    await crs.create(claimOf('e3'));
    const e3 = await crs.waitForCondition('InstanceClaim', ns, 'e3', 'Bound', { timeoutMs: 30_000 });
    expect([held, e2.status?.containerId]).not.toContain(e3.status?.containerId);
    await new Promise((r) => setTimeout(r, 1000));
    const claims = (await crs.list('InstanceClaim', ns)).filter((c) => c.spec && (c.spec as { poolRef: { name: string } }).poolRef.name === 'edited');
    const named = claims.filter((c) => c.status?.phase === 'Bound').map((c) => c.status?.containerId);
    expect(new Set(named).size).toBe(named.length);
    expect((await crs.get('InstanceClaim', ns, 'e1'))?.status).toMatchObject({ phase: 'Bound', containerId: held });
  });
});
