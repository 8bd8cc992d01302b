// The Deployment's mode: custom resources as the source and Pods as the
// runtime (`--source kubernetes --runtime kubernetes`). An Instance becomes a
// Pod owned by it (ownerReference by uid) and reports Ready through /status;
// deleting the Instance deletes the Pod before the Instance disappears (the
// finalizer). The Pods run on the test cluster's real node (the kit imports
// the test images; another cluster's nodes must hold berth-test/busybox:1).
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_IMAGE, uniqueControllerId } from './support/engine.js';
import { noKube } from './support/provided.js';
import { applyCrds, createNamespace, CustomResources, deleteNamespaces, startTestCluster, until, type BerthObject, type TestCluster } from './support/kube-cluster.js';
import { startKubeController, type KubeController } from './support/kube-controller.js';
import { FINALIZER } from '../src/sources/kubernetes/custom-resource-source.js';

describe.skipIf(noKube())('--source kubernetes --runtime kubernetes (Pods)', () => {
  let cluster: TestCluster;
  let crs: CustomResources;
  let controller: KubeController | undefined;
  const controllerId = uniqueControllerId();
  let ns = '';

  const pods = async (): Promise<V1Pod[]> =>
    (await cluster.kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns, labelSelector: `berth.dev/managed-by=${controllerId}` })).items;

  const webPods = async (): Promise<V1Pod[]> => (await pods()).filter((p) => p.metadata?.labels?.['berth.dev/name'] === 'web');

  beforeAll(async () => {
    cluster = await startTestCluster();
    crs = new CustomResources(cluster.kc);
    ns = `berth-pods-${cluster.runId}`;
    await applyCrds(cluster.kc);
    await createNamespace(cluster.kc, ns);
    // Foreign volumes allowed: the no-pvc case below mounts a claim berth did not make, as a user with
    // their own PVCs would (the refusal without the flag is in kubernetes-refusals.test.ts).
    controller = await startKubeController({ kc: cluster.kc, controllerId, namespace: ns, runtime: 'kubernetes', policy: { allowForeignVolumes: true } });
  });

  afterAll(async () => {
    await controller?.stop();
    if (cluster) {
      await deleteNamespaces(cluster.kc, [ns]).catch(() => undefined);
      await cluster.close();
    }
  });

  it('an Instance becomes one Pod owned by it, Ready through the status subresource', async () => {
    const instance: BerthObject = {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Instance',
      metadata: { name: 'web', namespace: ns },
      spec: { image: TEST_IMAGE, command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"], stopGracePeriodSeconds: 1 },
    };
    const created = await crs.create(instance);
    const o = await crs.waitForCondition('Instance', ns, 'web', 'Ready', { timeoutMs: 90_000 });
    expect(o.status).toMatchObject({ phase: 'Ready', observedGeneration: 1 });
    expect(o.metadata.finalizers).toEqual([FINALIZER]);
    const list = await pods();
    expect(list).toHaveLength(1);
    const pod = list[0]!;
    expect(o.status?.containerId).toBe(`${ns}/${pod.metadata?.name}`);
    expect(pod.metadata?.labels).toMatchObject({ 'berth.dev/kind': 'Instance', 'berth.dev/namespace': ns, 'berth.dev/name': 'web' });
    expect(pod.metadata?.ownerReferences).toEqual([expect.objectContaining({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', name: 'web', uid: created.metadata.uid, controller: true })]);
  });

  // A Pod that does not start says why, within a bound, in status and as a Warning Event (issue 14, item 4:
  // minutes in ContainerCreating or Unschedulable left no phase, no condition, no Event).
  for (const [name, extra, reason, message] of [
    ['no-pvc', { mounts: [{ type: 'volume', source: 'missing-claim', target: '/data' }] }, 'Unschedulable', /persistentvolumeclaim "missing-claim" not found/],
    ['no-image', { image: 'berth-test/absent:1', imagePullPolicy: 'Never' }, 'ImagePullFailed', /ErrImageNeverPull/],
  ] as const) {
    it(`a Pod that cannot start reports ${reason} in status and an Event (${name})`, async () => {
      const created = await crs.create({
        apiVersion: 'berth.dev/v1alpha1',
        kind: 'Instance',
        metadata: { name, namespace: ns },
        spec: { image: TEST_IMAGE, command: ['sh', '-c', 'sleep 3600'], stopGracePeriodSeconds: 1, ...extra },
      });
      const o = await until(`${name}: the reason in status`, async () => {
        const x = await crs.get('Instance', ns, name);
        return x?.status?.conditions?.some((c) => c.type === 'Ready' && c.reason === reason) ? x : undefined;
      }, 40_000, 200);
      expect(o.status?.observedGeneration).toBe(1);
      expect(o.status?.conditions?.find((c) => c.type === 'Ready')?.message).toMatch(message);
      const event = await until(`${name}: the Warning Event`, async () => (await crs.events(ns, created.metadata.uid!)).find((e) => e.reason === reason && e.type === 'Warning'), 20_000, 200);
      expect(event.message).toMatch(message);
      await crs.delete('Instance', ns, name);
    });
  }

  it('resources.pids, which a Pod cannot enforce, is reported as a Warning condition, not dropped silently', async () => {
    await crs.create({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'pids', namespace: ns }, spec: { image: TEST_IMAGE, command: ['sh', '-c', 'sleep 3600'], stopGracePeriodSeconds: 1, resources: { pids: 64 } } });
    const o = await crs.waitForCondition('Instance', ns, 'pids', 'Warning', { timeoutMs: 60_000 });
    expect(o.status?.conditions?.find((c) => c.type === 'Warning')).toMatchObject({ reason: 'NotEnforced', observedGeneration: 1 });
    expect(o.status?.conditions?.find((c) => c.type === 'Warning')?.message).toContain('resources.pids (64)');
    // Without pids in the spec the warning goes.
    await crs.patch('Instance', ns, 'pids', { spec: { resources: null } });
    await until('the Warning gone', async () => {
      const x = await crs.get('Instance', ns, 'pids');
      return x?.status?.observedGeneration === 2 && !x.status.conditions?.some((c) => c.type === 'Warning') ? true : undefined;
    }, 60_000, 200);
    await crs.delete('Instance', ns, 'pids');
  });

  it('deleting the Instance deletes its Pod before the Instance disappears', async () => {
    await crs.delete('Instance', ns, 'web');
    const seen: string[] = [];
    await until('the Instance to disappear', async () => {
      const [cr, list] = await Promise.all([crs.get('Instance', ns, 'web'), webPods()]);
      seen.push(`${cr ? 'present' : 'gone'}/${list.length}`);
      return cr ? undefined : true;
    }, 60_000, 20);
    expect(await webPods()).toEqual([]);
    expect(seen[0]).toBe('present/1');
    expect(seen.filter((s) => s.startsWith('gone/') && s !== 'gone/0')).toEqual([]);
  });
});
