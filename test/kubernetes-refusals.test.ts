// What a real apiserver refuses, on the Pod runtime: a namespace enforcing
// PodSecurity `restricted` admits berth's default Pods (non-root uid 65534,
// seccomp RuntimeDefault, drop ALL, no privilege escalation: issue 14 item
// 3), and a Pod it refuses (uid 0) is retried with the work queue's per-key
// backoff, never in a hot loop (item 2: 263 refused creates in 15 s), with the
// refusal in status. Requests are counted at the fault proxy the controller
// talks through.
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_IMAGE, uniqueControllerId } from './support/engine.js';
import { applyCrds, CustomResources, deleteNamespaces, freshNamespace, startTestCluster, until, type BerthObject, type TestCluster } from './support/kube-cluster.js';
import { startKubeController, type KubeController } from './support/kube-controller.js';
import { noKube } from './support/provided.js';

const SLEEP = ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"];

describe.skipIf(noKube())('refusals on the Pod runtime (PodSecurity restricted)', () => {
  let cluster: TestCluster;
  let crs: CustomResources;
  let controller: KubeController | undefined;
  let ns = '';

  const instance = (name: string, extra: Record<string, unknown> = {}): BerthObject => ({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Instance',
    metadata: { name, namespace: ns },
    spec: { image: TEST_IMAGE, imagePullPolicy: 'Never', command: SLEEP, stopGracePeriodSeconds: 1, ...extra },
  });

  beforeAll(async () => {
    cluster = await startTestCluster();
    crs = new CustomResources(cluster.kc);
    await applyCrds(cluster.kc);
    ns = await freshNamespace(cluster.kc, 'berth-restricted', { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' });
    controller = await startKubeController({ kc: cluster.faultKc, controllerId: uniqueControllerId(), namespace: ns, runtime: 'kubernetes', policy: { allowRootUser: true } });
  });

  afterAll(async () => {
    await controller?.stop();
    if (cluster) {
      await deleteNamespaces(cluster.kc, [ns]);
      await cluster.close();
    }
  });

  it('admits a default Pod: it runs Ready as a non-root user', async () => {
    await crs.create(instance('plain'));
    const o = await crs.waitForCondition('Instance', ns, 'plain', 'Ready', { timeoutMs: 90_000 });
    expect(o.status?.phase).toBe('Ready');
  });

  it('backs a refused create off per key (uid 0 under restricted): few attempts, the refusal in status', async () => {
    const creates = () => cluster.faultProxy.requests.filter((r) => r.method === 'POST' && r.path === `/api/v1/namespaces/${ns}/pods` && r.status === 403).length;
    await crs.create(instance('root', { user: '0' }));
    const o = await until('the refusal in status', async () => {
      const r = await crs.get('Instance', ns, 'root');
      return r?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False' && /forbidden|violates PodSecurity/i.test(c.message)) ? r : undefined;
    }, 30_000, 200);
    expect(o.status?.conditions?.find((c) => c.type === 'Ready')?.message).toMatch(/runAsNonRoot|runAsUser=0/);
    const first = creates();
    await new Promise((r) => setTimeout(r, 8_000));
    const inEight = creates() - first;
    // The queue's per-key backoff (5 ms doubling) allows about a dozen tries in 8 s; a hot loop made hundreds.
    expect(inEight).toBeGreaterThan(0);
    expect(inEight).toBeLessThanOrEqual(15);
    // The other resource is unaffected.
    await crs.waitForCondition('Instance', ns, 'plain', 'Ready');
  });

  it('refuses to mount a PersistentVolumeClaim berth did not make (no --allow-foreign-volumes): CreateFailed, no Pod', async () => {
    await crs.create(instance('foreign', { mounts: [{ type: 'volume', source: 'someone-elses', target: '/data' }] }));
    const o = await until('the refusal in status', async () => {
      const r = await crs.get('Instance', ns, 'foreign');
      return r?.status?.conditions?.some((c) => c.type === 'Ready' && c.reason === 'CreateFailed') ? r : undefined;
    }, 30_000, 200);
    expect(o.status?.conditions?.find((c) => c.type === 'Ready')?.message).toMatch(/PersistentVolumeClaim "someone-elses" was not created by berth.*--allow-foreign-volumes/);
    const pods = await cluster.kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns, labelSelector: 'berth.dev/name=foreign' });
    expect(pods.items).toHaveLength(0);
  });
});
