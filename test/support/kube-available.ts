// Does the test cluster (BERTH_TEST_KUBECONFIG) answer, with a node that runs
// Pods? Used by global-setup.ts before any test file loads.
import { CoreV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';

export type KubeAvailability = { ok: true; version: string; nodes: number } | { ok: false; why: string };

export async function kubeAvailable(timeoutMs = 10_000): Promise<KubeAvailability> {
  const path = process.env['BERTH_TEST_KUBECONFIG'];
  if (!path) return { ok: false, why: 'BERTH_TEST_KUBECONFIG is not set' };
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (e) {
    return { ok: false, why: `cannot read the kubeconfig ${path}: ${(e as Error).message}` };
  }
  const deadline = AbortSignal.timeout(timeoutMs);
  const within = <T>(p: Promise<T>): Promise<T> =>
    Promise.race([p, new Promise<never>((_, reject) => deadline.addEventListener('abort', () => reject(new Error(`no answer within ${timeoutMs} ms`)), { once: true }))]);
  try {
    const version = await within(kc.makeApiClient(VersionApi).getCode());
    const nodes = (await within(kc.makeApiClient(CoreV1Api).listNode())).items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    if (nodes.length === 0) return { ok: false, why: `the cluster at ${kc.getCurrentCluster()?.server} has no Ready node (start the kit with --node)` };
    return { ok: true, version: version.gitVersion, nodes: nodes.length };
  } catch (e) {
    return { ok: false, why: `the cluster at ${kc.getCurrentCluster()?.server} (${path}) did not answer: ${(e as Error).message}` };
  }
}
