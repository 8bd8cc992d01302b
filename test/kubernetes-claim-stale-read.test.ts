// A read that answers from before berth's own bind (real apiserver, Docker
// members, a proxy that holds one answer back). berth's status writer met a
// 409 on a Pending claim and read the claim again; the apiserver served that
// read, then took berth's bind of the claim, and the bind's answer came
// first. The read's older copy (no binding) was taken as the claim's
// current state: the binding was undone (BindingLost), its member released
// and removed while the client had been answered Bound to it, and the
// version berth's writes are conditional on went backwards. A read that
// spans one of berth's own writes of the claim is now made again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noEngine, noKube } from './support/provided.js';
import { cleanupByLabel, TEST_IMAGE, testDocker, uniqueControllerId } from './support/engine.js';
import { managedContainers } from './support/controller.js';
import { applyCrds, createNamespace, CustomResources, deleteNamespaces, startTestCluster, until, type TestCluster } from './support/kube-cluster.js';
import { startKubeController, type KubeController } from './support/kube-controller.js';

describe.skipIf(noEngine() || noKube())('a claim read older than berth’s own bind (Kubernetes source)', () => {
  let cluster: TestCluster;
  let crs: CustomResources;
  let controller: KubeController | undefined;
  const controllerId = uniqueControllerId();
  let ns = '';

  beforeAll(async () => {
    cluster = await startTestCluster();
    crs = new CustomResources(cluster.kc);
    ns = `berth-sr-${cluster.runId}`;
    await applyCrds(cluster.kc);
    await createNamespace(cluster.kc, ns);
    controller = await startKubeController({ kc: cluster.faultKc, controllerId, namespace: ns });
  });

  afterAll(async () => {
    await controller?.stop().catch(() => undefined);
    if (cluster) {
      await deleteNamespaces(cluster.kc, [ns]).catch(() => undefined);
      await cluster.close();
    }
    await cleanupByLabel(controllerId);
  });

  it('the older copy is read again, not taken: the claim stays Bound and its member alive', async () => {
    await crs.create({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'InstancePool',
      metadata: { name: 'runners', namespace: ns },
      spec: { minReady: 1, maxSize: 1, claimTimeoutSeconds: 120, template: { image: TEST_IMAGE, command: ['sleep', '3600'], network: 'none', healthCheck: { exec: { command: ['test', '-f', '/tmp/ready'] }, periodSeconds: 1, failureThreshold: 1000 } } },
    });
    const member = await until('a member, not ready yet', async () => (await managedContainers(controllerId)).find((c) => c.state === 'running' && c.labels['berth.dev/member']));

    // The claim's first status write (Pending) meets 409; the read that follows is answered by the
    // apiserver at once but reaches berth only when the test says so.
    const proxy = cluster.faultProxy;
    proxy.injectFault({ method: 'PATCH', path: `/namespaces/${ns}/instanceclaims/stale1/status`, status: 409, reason: 'Conflict', message: 'the object has been modified (injected)' });
    const held = proxy.holdAnswers({ method: 'GET', path: new RegExp(`/namespaces/${ns}/instanceclaims/stale1(\\?|$)`) });
    await crs.create({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name: 'stale1', namespace: ns }, spec: { poolRef: { name: 'runners' } } });
    await held.answered;

    // Now the member passes its probe: berth binds the claim, and the apiserver takes it.
    const exec = await testDocker().getContainer(member!.id).exec({ Cmd: ['touch', '/tmp/ready'] });
    await exec.start({});
    const bound = await crs.waitForCondition('InstanceClaim', ns, 'stale1', 'Bound', { timeoutMs: 20_000 });
    expect(bound.status?.containerId).toBe(member!.id);

    // The read from before the bind arrives.
    held.release();
    await new Promise((r) => setTimeout(r, 3000));
    const after = await crs.get('InstanceClaim', ns, 'stale1');
    expect(after?.status).toMatchObject({ phase: 'Bound', containerId: member!.id });
    const live = (await managedContainers(controllerId)).find((c) => c.id === member!.id);
    expect(live?.state).toBe('running');
    const reasons = (await crs.events(ns, after!.metadata.uid!)).map((e) => e.reason);
    expect(reasons).toContain('Bound');
    expect(reasons).not.toContain('BindingLost');
    expect(reasons).not.toContain('MemberLost');
  });
});
