// Pods carry their claim: a bound Pod member is labelled berth.dev/claim=<claim>
// and loses the label on release (Reuse keeps the Pod). A new controller that
// finds a Pod labelled for a claim that does not hold it recycles that member
// (it may have been handed out) rather than taking it as warm. A bound Pod
// deleted behind berth's back fails its claim (MemberLost) in the apiserver.
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_IMAGE, uniqueControllerId } from './support/engine.js';
import { noKube } from './support/provided.js';
import { applyCrds, createNamespace, CustomResources, deleteNamespaces, startTestCluster, until, type TestCluster } from './support/kube-cluster.js';
import { startKubeController, type KubeController } from './support/kube-controller.js';
import { callOptions, MERGE_PATCH } from '../src/sources/kubernetes/kube-api.js';

const CLAIM_LABEL = 'berth.dev/claim';

describe.skipIf(noKube())('the claim label of Pod members', () => {
  let cluster: TestCluster;
  let crs: CustomResources;
  let controller: KubeController | undefined;
  const controllerId = uniqueControllerId();
  let ns = '';

  const core = () => cluster.kc.makeApiClient(CoreV1Api);
  const pod = async (containerId: string): Promise<V1Pod | undefined> => {
    const name = containerId.slice(containerId.indexOf('/') + 1);
    return (await core().listNamespacedPod({ namespace: ns, labelSelector: `berth.dev/managed-by=${controllerId}` })).items.find((p) => p.metadata?.name === name);
  };
  const start = () => startKubeController({ kc: cluster.kc, controllerId, namespace: ns, runtime: 'kubernetes' });

  beforeAll(async () => {
    cluster = await startTestCluster();
    crs = new CustomResources(cluster.kc);
    ns = `berth-pcl-${cluster.runId}`;
    await applyCrds(cluster.kc);
    await createNamespace(cluster.kc, ns);
    controller = await start();
  });

  afterAll(async () => {
    await controller?.stop();
    if (cluster) {
      await deleteNamespaces(cluster.kc, [ns]).catch(() => undefined);
      await cluster.close();
    }
  });

  it('a bound Pod carries its claim label and loses it on release; a stale label makes a new leader recycle the member', async () => {
    await crs.create({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'InstancePool',
      metadata: { name: 'runners', namespace: ns },
      spec: { minReady: 1, maxSize: 2, recycle: { policy: 'Reuse' }, template: { image: TEST_IMAGE, command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"], stopGracePeriodSeconds: 1, healthCheck: { exec: { command: ['true'] }, periodSeconds: 2 } } },
    });
    await crs.waitForCondition('InstancePool', ns, 'runners', 'Ready', { timeoutMs: 90_000 });
    await crs.create({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name: 'c1', namespace: ns }, spec: { poolRef: { name: 'runners' } } });
    const c1 = await crs.waitForCondition('InstanceClaim', ns, 'c1', 'Bound', { timeoutMs: 60_000 });
    const id = c1.status!.containerId!;
    await until('the Pod labelled for c1', async () => ((await pod(id))?.metadata?.labels?.[CLAIM_LABEL] === 'c1' ? true : undefined), 20_000);

    // Release: Reuse keeps the Pod, without the label.
    await crs.delete('InstanceClaim', ns, 'c1');
    await until('the label removed', async () => {
      const p = await pod(id);
      return p && p.metadata?.labels?.[CLAIM_LABEL] === undefined ? true : undefined;
    }, 30_000);

    // c1 keeps its finalizer until its member is recycled: stopping before that would leave the next leader a
    // deleted claim to release (a recycle without MemberNotClean), not the stale label this test is about.
    await until('c1 gone (its member recycled)', async () => ((await crs.get('InstanceClaim', ns, 'c1')) === undefined ? true : undefined), 30_000);

    // A leader died after labelling a Pod for a claim that never recorded it: the next leader must not hand it out as warm.
    await controller!.stop();
    controller = undefined;
    const name = id.slice(id.indexOf('/') + 1);
    await core().patchNamespacedPod({ namespace: ns, name, body: { metadata: { labels: { [CLAIM_LABEL]: 'ghost' } } } }, callOptions({ contentType: MERGE_PATCH }));
    controller = await start();
    // Recycled per the pool's policy (Reuse: cleaned and probed again), so the label goes.
    await until('the stale label removed by the new leader', async () => {
      const p = await pod(id);
      return p === undefined || p.metadata?.labels?.[CLAIM_LABEL] === undefined ? true : undefined;
    }, 60_000);
    const uid = (await crs.get('InstancePool', ns, 'runners'))!.metadata.uid!;
    const event = await until('a MemberNotClean event', async () => (await crs.events(ns, uid)).find((e) => e.reason === 'MemberNotClean'), 20_000, 200);
    expect(event.message).toContain('ghost');
  });

  it('a bound Pod deleted behind berth\'s back: its claim fails MemberLost in the apiserver, and the pool replaces the Pod', async () => {
    await crs.waitForCondition('InstancePool', ns, 'runners', 'Ready', { timeoutMs: 90_000 });
    await crs.create({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name: 'c2', namespace: ns }, spec: { poolRef: { name: 'runners' } } });
    const c2 = await crs.waitForCondition('InstanceClaim', ns, 'c2', 'Bound', { timeoutMs: 60_000 });
    const id = c2.status!.containerId!;
    await core().deleteNamespacedPod({ namespace: ns, name: id.slice(id.indexOf('/') + 1), gracePeriodSeconds: 0 });
    const lost = await until('c2 Failed in the apiserver', async () => {
      const c = await crs.get('InstanceClaim', ns, 'c2');
      return c?.status?.phase === 'Failed' ? c : undefined;
    }, 60_000);
    expect(lost.status?.conditions?.find((c) => c.type === 'Bound')?.reason).toBe('MemberLost');
    expect(lost.status?.containerId).toBeUndefined();
    await crs.waitForCondition('InstancePool', ns, 'runners', 'Ready', { timeoutMs: 90_000 });
    await crs.delete('InstanceClaim', ns, 'c2');
    await until('c2 gone', async () => ((await crs.get('InstanceClaim', ns, 'c2')) === undefined ? true : undefined), 30_000);
  });
});
