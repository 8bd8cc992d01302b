// The real Kubernetes the Kubernetes-mode tests run against: the cluster named
// by BERTH_TEST_KUBECONFIG (scripts/ensure-kube.sh starts the kit in
// ../shared/kube and prints it; any cluster whose nodes can run the test
// images works). Without one, global-setup.ts skips these tests with a banner,
// and fails the run under CI=true. Broken and stalled watches come from a TCP
// proxy between the controller and the cluster (kube-proxy.ts); answers a
// healthy cluster will not give on demand (429, 503, 410 Expired) from an HTTP
// proxy that forwards everything else (kube-fault-proxy.ts).
//
// For a test that needs the cluster:
//   const kc = testKubeConfig();                 // the test's own client
//   await applyCrds(kc);                         // berth's CRDs, Established
//   const ns = await freshNamespace(kc, 'claims'); // claims-<random>, deleted by deleteNamespaces
//   spawnKubeController({ kubeconfigPath: testKubeconfigPath(), ... }) // kube-controller.ts
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  loadAllYaml,
  loadYaml,
  type CoreV1Event,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { GROUP, KINDS, VERSION, type Kind } from '../../src/spec/schema.js';
import { callOptions, MERGE_PATCH } from '../../src/sources/kubernetes/kube-api.js';
import { startFaultProxy, type KubeFaultProxy } from './kube-fault-proxy.js';
import { proxiedKubeConfig } from './kube-proxy.js';

export const CRD_DIR = fileURLToPath(new URL('../../crds', import.meta.url));
export const EXAMPLES_DIR = fileURLToPath(new URL('../../examples', import.meta.url));

/** The kubeconfig file of the test cluster; throws when none is configured (tests skip first: see noKube()). */
export function testKubeconfigPath(): string {
  const path = process.env['BERTH_TEST_KUBECONFIG'];
  if (!path) throw new Error('BERTH_TEST_KUBECONFIG is not set: start a cluster with `eval "$(bash scripts/ensure-kube.sh)"`');
  return path;
}

/** A client for the test cluster. */
export function testKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(testKubeconfigPath());
  return kc;
}

/** A namespace of its own for a test: `<prefix>-<random>`, labelled berth.dev/test. */
export async function freshNamespace(kc: KubeConfig, prefix: string, labels: Record<string, string> = {}): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await createNamespace(kc, name, labels);
  return name;
}

/** Faults on the controller's watches, through the proxy. */
export interface WatchFaults {
  /** Ends every open watch abruptly. */
  breakWatches(): void;
  /** The watches open now carry nothing more, ever, and stay open. */
  stallWatches(): void;
  /** Watches open and delivering now. */
  openWatches(): number;
}

export interface TestCluster {
  kubeconfigPath: string;
  /** For the test itself. */
  kc: KubeConfig;
  /** For the controller under test (through the fault proxy). */
  controllerKc: KubeConfig;
  /** The kubeconfig file of controllerKc (for a controller process). */
  controllerKubeconfigPath: string;
  faults: WatchFaults;
  /** An HTTP proxy that injects answers (429, 409, 410 Expired) and logs requests; faultKc talks through it. */
  faultProxy: KubeFaultProxy;
  faultKc: KubeConfig;
  /** A suffix unique to this run, for namespaces (the cluster is shared). */
  runId: string;
  close(): Promise<void>;
}

export async function startTestCluster(): Promise<TestCluster> {
  const runId = randomBytes(3).toString('hex');
  const kubeconfigPath = testKubeconfigPath();
  const kc = testKubeConfig();
  const dir = await mkdtemp(join(tmpdir(), 'berth-kube-proxy-'));
  const controllerKubeconfigPath = join(dir, 'kubeconfig');
  const { proxy, kc: controllerKc } = await proxiedKubeConfig(kc, controllerKubeconfigPath);
  const faults = { breakWatches: () => proxy.breakAll(), stallWatches: () => proxy.stallAll(), openWatches: () => proxy.liveCount() };
  const { proxy: faultProxy, kc: faultKc } = await startFaultProxy(kc);
  const close = async (): Promise<void> => {
    await proxy.close();
    await faultProxy.close();
    await rm(dir, { recursive: true, force: true });
  };
  return { kubeconfigPath, kc, controllerKc, controllerKubeconfigPath, faults, faultProxy, faultKc, runId, close };
}

/** kubectl apply -f crds/: POST each CRD (replace when it exists), then wait until Established. */
export async function applyCrds(kc: KubeConfig): Promise<string[]> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const names: string[] = [];
  for (const file of (await readdir(CRD_DIR)).filter((f) => f.startsWith(`${GROUP}_`) && f.endsWith('.yaml')).sort()) {
    // loadYaml: the typed API serializes V1JSONSchemaProps by its TypeScript
    // names (_default, x_kubernetes_*), so a plain object would lose those fields.
    const crd = loadYaml<V1CustomResourceDefinition>(await readFile(join(CRD_DIR, file), 'utf8'));
    const name = crd.metadata!.name!;
    names.push(name);
    try {
      await api.createCustomResourceDefinition({ body: crd });
    } catch (e) {
      if (!(e instanceof ApiException) || e.code !== 409) throw e;
      const existing = await api.readCustomResourceDefinition({ name });
      crd.metadata!.resourceVersion = existing.metadata!.resourceVersion!;
      await api.replaceCustomResourceDefinition({ name, body: crd });
    }
  }
  for (const name of names) {
    await until(`CRD ${name} Established`, async () => {
      const crd = await api.readCustomResourceDefinition({ name });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') || undefined;
    });
  }
  return names;
}

/** The example resources (examples/*.yaml), each namespace suffixed with the run id. */
export async function exampleResources(runId: string): Promise<BerthObject[]> {
  const out: BerthObject[] = [];
  for (const file of (await readdir(EXAMPLES_DIR)).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const doc of loadAllYaml(await readFile(join(EXAMPLES_DIR, file), 'utf8')) as BerthObject[]) {
      if (!doc?.kind) continue;
      out.push({ ...doc, metadata: { ...doc.metadata, namespace: `${doc.metadata.namespace ?? 'default'}-${runId}` } });
    }
  }
  return out;
}

export async function createNamespace(kc: KubeConfig, name: string, labels: Record<string, string> = {}): Promise<void> {
  try {
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name, labels: { 'berth.dev/test': 'true', ...labels } } } });
  } catch (e) {
    if (!(e instanceof ApiException) || e.code !== 409) throw e;
  }
}

/**
 * Removes what a test left in its namespaces: finalizers first (the controller
 * may be gone), then the namespaces.
 */
export async function deleteNamespaces(kc: KubeConfig, namespaces: string[]): Promise<void> {
  const crs = new CustomResources(kc);
  for (const ns of namespaces) {
    for (const kind of Object.keys(KINDS) as Kind[]) {
      const items = await crs.list(kind, ns).catch(() => [] as BerthObject[]);
      for (const o of items) if (o.metadata.finalizers?.length) await crs.patch(kind, ns, o.metadata.name, { metadata: { finalizers: null } }).catch(() => undefined);
    }
    await kc.makeApiClient(CoreV1Api).deleteNamespace({ name: ns }).catch(() => undefined);
  }
}

export interface BerthObject {
  apiVersion: string;
  kind: Kind;
  metadata: { name: string; namespace?: string; uid?: string; generation?: number; resourceVersion?: string; finalizers?: string[]; deletionTimestamp?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
  status?: {
    phase?: string;
    observedGeneration?: number;
    containerId?: string;
    ready?: number;
    replicas?: number;
    conditions?: Array<{ type: string; status: string; reason: string; message: string; observedGeneration?: number; lastTransitionTime: string }>;
  };
}

/** berth's custom resources through client-node's CustomObjectsApi. */
export class CustomResources {
  private readonly api: CustomObjectsApi;
  constructor(readonly kc: KubeConfig) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  private at(kind: Kind, namespace: string) {
    return { group: GROUP, version: VERSION, plural: KINDS[kind].plural, namespace };
  }

  create(o: BerthObject): Promise<BerthObject> {
    return this.api.createNamespacedCustomObject({ ...this.at(o.kind, o.metadata.namespace ?? 'default'), body: o }) as Promise<BerthObject>;
  }

  /** undefined when 404. */
  async get(kind: Kind, namespace: string, name: string): Promise<BerthObject | undefined> {
    try {
      return (await this.api.getNamespacedCustomObject({ ...this.at(kind, namespace), name })) as BerthObject;
    } catch (e) {
      if (e instanceof ApiException && e.code === 404) return undefined;
      throw e;
    }
  }

  async list(kind: Kind, namespace: string): Promise<BerthObject[]> {
    return ((await this.api.listNamespacedCustomObject(this.at(kind, namespace))) as { items: BerthObject[] }).items;
  }

  patch(kind: Kind, namespace: string, name: string, body: object): Promise<BerthObject> {
    return this.api.patchNamespacedCustomObject({ ...this.at(kind, namespace), name, body }, callOptions({ contentType: MERGE_PATCH })) as Promise<BerthObject>;
  }

  /** fieldManager: who the apiserver records as the writer ('berth' stands for another berth replica; kubectl sends 'kubectl-patch'). */
  patchStatus(kind: Kind, namespace: string, name: string, body: object, fieldManager?: string): Promise<BerthObject> {
    return this.api.patchNamespacedCustomObjectStatus({ ...this.at(kind, namespace), name, body, ...(fieldManager ? { fieldManager } : {}) }, callOptions({ contentType: MERGE_PATCH })) as Promise<BerthObject>;
  }

  delete(kind: Kind, namespace: string, name: string): Promise<unknown> {
    return this.api.deleteNamespacedCustomObject({ ...this.at(kind, namespace), name });
  }

  /** `kubectl wait --for=condition=TYPE`: polls the object until the condition has status (default True). */
  waitForCondition(kind: Kind, namespace: string, name: string, type: string, opts: { status?: string; timeoutMs?: number; observedGeneration?: number } = {}): Promise<BerthObject> {
    return until(
      `${kind} ${namespace}/${name} condition ${type}=${opts.status ?? 'True'}`,
      async () => {
        const o = await this.get(kind, namespace, name);
        const c = o?.status?.conditions?.find((x) => x.type === type);
        if (!o || c?.status !== (opts.status ?? 'True')) return undefined;
        if (opts.observedGeneration !== undefined && o.status?.observedGeneration !== opts.observedGeneration) return undefined;
        return o;
      },
      opts.timeoutMs ?? 60_000,
    );
  }

  /** Events about an object (core/v1), by its uid. */
  async events(namespace: string, uid: string): Promise<CoreV1Event[]> {
    return (await this.kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace, fieldSelector: `involvedObject.uid=${uid}` })).items;
  }
}

export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
