// The Kubernetes API the Kubernetes-mode tests run against: the in-process
// test API server (CI), or a real cluster when BERTH_TEST_KUBECONFIG points at
// its kubeconfig (kind, k3d, ...). Everything goes through client-node, so the
// same tests hold on both. Broken and stalled watches are the test server's
// control there, and a TCP proxy in front of a real cluster (the controller
// talks through it); compaction (410) and injected errors exist only on the
// test server. BERTH_TEST_PROXY=1 puts the proxy in front of the test server
// too, to check the proxy path without a cluster.
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
import { startTestApiServer, type TestApiServerControl } from './kube-apiserver/index.js';
import { proxiedKubeConfig } from './kube-proxy.js';

export const CRD_DIR = fileURLToPath(new URL('../../crds', import.meta.url));
export const EXAMPLES_DIR = fileURLToPath(new URL('../../examples', import.meta.url));

/** Faults on the controller's watches, on the test server or through the proxy. */
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
  /** For the controller under test (through the fault proxy when there is one). */
  controllerKc: KubeConfig;
  /** A real cluster (BERTH_TEST_KUBECONFIG), not the test server. */
  real: boolean;
  /** The test server's control (compaction, injected errors): undefined on a real cluster. */
  control: TestApiServerControl | undefined;
  faults: WatchFaults;
  /** A suffix unique to this run, for namespaces (a real cluster is shared). */
  runId: string;
  close(): Promise<void>;
}

export async function startTestCluster(opts: { bookmarkIntervalMs?: number } = {}): Promise<TestCluster> {
  const runId = randomBytes(3).toString('hex');
  const external = process.env['BERTH_TEST_KUBECONFIG'];
  let kubeconfigPath: string;
  let control: TestApiServerControl | undefined;
  let closeServer = async (): Promise<void> => undefined;
  if (external) {
    kubeconfigPath = external;
  } else {
    const server = await startTestApiServer({ bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 200 });
    kubeconfigPath = server.kubeconfigPath;
    control = server.control;
    closeServer = () => server.close();
  }
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  if (control && process.env['BERTH_TEST_PROXY'] !== '1') {
    const c = control;
    const faults = { breakWatches: () => c.breakWatches(), stallWatches: () => c.stallWatches('forever'), openWatches: () => c.watchCount() };
    return { kubeconfigPath, kc, controllerKc: kc, real: false, control, faults, runId, close: closeServer };
  }
  const dir = await mkdtemp(join(tmpdir(), 'berth-kube-proxy-'));
  const { proxy, kc: controllerKc } = await proxiedKubeConfig(kc, join(dir, 'kubeconfig'));
  const faults = { breakWatches: () => proxy.breakAll(), stallWatches: () => proxy.stallAll(), openWatches: () => proxy.liveCount() };
  const close = async (): Promise<void> => {
    await proxy.close();
    await rm(dir, { recursive: true, force: true });
    await closeServer();
  };
  return { kubeconfigPath, kc, controllerKc, real: Boolean(external), control, faults, runId, close };
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

export async function createNamespace(kc: KubeConfig, name: string): Promise<void> {
  try {
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name, labels: { 'berth.dev/test': 'true' } } } });
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
  metadata: { name: string; namespace?: string; uid?: string; generation?: number; resourceVersion?: string; finalizers?: string[]; deletionTimestamp?: string; labels?: Record<string, string> };
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

  patchStatus(kind: Kind, namespace: string, name: string, body: object): Promise<BerthObject> {
    return this.api.patchNamespacedCustomObjectStatus({ ...this.at(kind, namespace), name, body }, callOptions({ contentType: MERGE_PATCH })) as Promise<BerthObject>;
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
