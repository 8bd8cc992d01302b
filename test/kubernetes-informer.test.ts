// The informer against the real apiserver (BERTH_TEST_KUBECONFIG), through
// the fault proxy (kube-fault-proxy.ts): list, watch, resume after a broken or
// silently stalled watch without losing or repeating anything, re-list on 410
// Expired, back off on errors. Each test gets a CRD of its own (deleted
// afterwards) so each informer starts from an empty collection.
import { randomBytes } from 'node:crypto';
import { ApiextensionsV1Api, CustomObjectsApi, KubeConfig, loadYaml, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Informer } from '../src/sources/kubernetes/informer.js';
import { callOptions, MERGE_PATCH } from '../src/sources/kubernetes/kube-api.js';
import { customResourceListWatch, type KubeObject } from '../src/sources/kubernetes/list-watch.js';
import { deleteNamespaces, freshNamespace, testKubeConfig, until } from './support/kube-cluster.js';
import { startFaultProxy, type KubeFaultProxy } from './support/kube-fault-proxy.js';
import { noKube } from './support/provided.js';

const GROUP = 'informer.berth.dev';
const RUN = randomBytes(3).toString('hex');
let NS = '';

let server: KubeFaultProxy;
let direct: KubeConfig;
const crds: string[] = [];
let kc: KubeConfig;
let custom: CustomObjectsApi;
let plural = '';
let counter = 0;

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// Kinds are unique per run as plurals are: a CRD left by an interrupted run
// holding the same kind in the group is a name conflict, never Established.
const kind = () => `Thing${counter}X${RUN}`;

/** A fresh CRD per test, so each informer starts from an empty collection. */
async function freshResource(): Promise<string> {
  const p = `things${++counter}x${RUN}`;
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${p}.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind: kind(), listKind: `${kind()}List`, plural: p, singular: p },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } },
        },
      ],
    },
  };
  const api = direct.makeApiClient(ApiextensionsV1Api);
  await api.createCustomResourceDefinition({ body: loadYaml<V1CustomResourceDefinition>(JSON.stringify(crd)) });
  crds.push(crd.metadata.name);
  await until(`CRD ${crd.metadata.name} Established`, async () => ((await api.readCustomResourceDefinition({ name: crd.metadata.name })).status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined));
  // Served: a list answers (discovery lags Established by a moment).
  await until(`${p} served`, () => custom.listNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: NS, plural: p }).then(() => true, () => undefined));
  return p;
}

const create = (name: string, spec: object = { n: 0 }) =>
  custom.createNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: NS, plural, body: { apiVersion: `${GROUP}/v1`, kind: kind(), metadata: { name }, spec } }) as Promise<KubeObject>;
const patch = (name: string, spec: object) =>
  custom.patchNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: NS, plural, name, body: { spec } }, callOptions({ contentType: MERGE_PATCH })) as Promise<KubeObject>;
const remove = (name: string) => custom.deleteNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: NS, plural, name });

interface Recorded {
  log: string[];
  informer: Informer<KubeObject>;
}

let running: Informer<KubeObject>[] = [];

async function startInformer(opts: { stallTimeoutMs?: number } = {}): Promise<Recorded> {
  const log: string[] = [];
  const spec = (o: KubeObject) => JSON.stringify(o['spec']);
  const informer = new Informer<KubeObject>({
    listWatch: customResourceListWatch<KubeObject>(kc, { group: GROUP, version: 'v1', plural, namespace: NS }),
    handlers: {
      onAdd: (o) => log.push(`add ${o.metadata.name} ${spec(o)}`),
      onUpdate: (_old, o) => log.push(`update ${o.metadata.name} ${spec(o)}`),
      onDelete: (o) => log.push(`delete ${o.metadata.name}`),
    },
    stallTimeoutMs: opts.stallTimeoutMs ?? 2000,
    backoff: { initialMs: 50, maxMs: 500 },
  });
  running.push(informer);
  await informer.start();
  // start() resolves after the LIST; the WATCH opens right after. Faults below are for open watches.
  await waitFor('the watch to open', () => server.watchCount() >= 1);
  return { log, informer };
}

beforeAll(async () => {
  if (noKube()) return;
  direct = testKubeConfig();
  NS = await freshNamespace(direct, 'berth-informer');
  // CRDs an interrupted run of this file left behind (its afterAll never ran).
  const api = direct.makeApiClient(ApiextensionsV1Api);
  const stale = (await api.listCustomResourceDefinition()).items.filter((c) => c.spec.group === GROUP);
  for (const c of stale) await api.deleteCustomResourceDefinition({ name: c.metadata!.name! }).catch(() => undefined);
  ({ proxy: server, kc } = await startFaultProxy(direct));
  custom = kc.makeApiClient(CustomObjectsApi);
});

afterEach(async () => {
  await Promise.all(running.map((i) => i.stop()));
  running = [];
});

afterAll(async () => {
  await server?.close();
  if (!direct) return;
  for (const name of crds) await direct.makeApiClient(ApiextensionsV1Api).deleteCustomResourceDefinition({ name }).catch(() => undefined);
  await deleteNamespaces(direct, [NS]);
});

describe.skipIf(noKube())('Informer', () => {
  it('lists what exists, then watches adds, updates and deletes from the list resourceVersion', async () => {
    plural = await freshResource();
    await create('a');
    const { log, informer } = await startInformer();
    expect(log).toEqual(['add a {"n":0}']);
    expect(informer.hasSynced).toBe(true);
    await create('b');
    await patch('a', { n: 1 });
    await remove('b');
    await waitFor('3 more events', () => log.length >= 4);
    expect(log).toEqual(['add a {"n":0}', 'add b {"n":0}', 'update a {"n":1}', 'delete b']);
    expect(informer.get(NS, 'a')?.['spec']).toEqual({ n: 1 });
    expect(informer.get(NS, 'b')).toBeUndefined();
    const watches = server.requests.filter((r) => r.path.endsWith(`/${plural}`) && r.query['watch'] === 'true');
    expect(watches[0]?.query).toMatchObject({ allowWatchBookmarks: 'true' });
    // Below the watchdog (2 s here): the apiserver ends an idle watch before it could be taken for stalled.
    expect(Number(watches[0]?.query['timeoutSeconds'])).toBeLessThan(2);
  });

  it('resumes a broken watch from the last resourceVersion: nothing lost, nothing twice, no re-list', async () => {
    plural = await freshResource();
    await create('a');
    const { log, informer } = await startInformer();
    server.breakWatches();
    await patch('a', { n: 1 }); // while no watch is open
    await create('c');
    await waitFor('both changes', () => log.length >= 3);
    await new Promise((r) => setTimeout(r, 300));
    expect(log).toEqual(['add a {"n":0}', 'update a {"n":1}', 'add c {"n":0}']);
    expect(informer.stats).toMatchObject({ lists: 1, relists: 0 });
    expect(informer.stats.errors).toBeGreaterThanOrEqual(1);
  });

  it('detects a silently stalled watch (no event, no bookmark) and resumes: an edit made meanwhile arrives exactly once', async () => {
    plural = await freshResource();
    await create('a');
    const { log, informer } = await startInformer({ stallTimeoutMs: 600 });
    server.stallWatches();
    await patch('a', { n: 1 });
    await patch('a', { n: 2 });
    await waitFor('the edits after the stall', () => log.includes('update a {"n":2}'), 5000);
    await new Promise((r) => setTimeout(r, 300));
    expect(log).toEqual(['add a {"n":0}', 'update a {"n":1}', 'update a {"n":2}']);
    expect(informer.stats.stalls).toBeGreaterThanOrEqual(1);
    expect(informer.stats.lists).toBe(1);
  });

  it('a quiet watch restarted by its watchdog resumes from its resourceVersion: no re-list, nothing lost', async () => {
    // A real apiserver sends bookmarks about once a minute: a shorter watchdog restarts a quiet watch, which must cost nothing.
    plural = await freshResource();
    const { log, informer } = await startInformer({ stallTimeoutMs: 500 });
    await waitFor('a watchdog restart', () => informer.stats.stalls >= 1, 5000);
    await create('late');
    await waitFor('the create after the restart', () => log.includes('add late {"n":0}'));
    expect(informer.stats.lists).toBe(1);
    expect(informer.stats.relists).toBe(0);
  });

  it('re-lists after 410 Gone and emits what changed while it was not watching, deletes included', async () => {
    plural = await freshResource();
    await create('keep');
    await create('edit');
    await create('drop');
    const { log, informer } = await startInformer();
    // Cut the watch and compact history past everything it saw.
    server.stallWatches();
    await patch('edit', { n: 5 });
    await remove('drop');
    await create('new');
    server.expireNextWatches(1); // the resumed watch hears 410 Expired, as from a compacted resourceVersion
    server.breakWatches();
    await waitFor('the re-list', () => informer.stats.relists >= 1 && log.length >= 6, 5000);
    expect(log.slice(3).sort()).toEqual(['add new {"n":0}', 'delete drop', 'update edit {"n":5}']);
    expect(informer.list().map((o) => o.metadata.name).sort()).toEqual(['edit', 'keep', 'new']);
    await patch('keep', { n: 9 }); // and it watches again from the new list
    await waitFor('watching again', () => log.includes('update keep {"n":9}'));
  });

  it('backs off and retries a failing LIST (500, then 429 with Retry-After)', async () => {
    plural = await freshResource();
    await create('a');
    server.injectFault({ method: 'GET', path: `/${plural}`, watch: false, status: 500, times: 2 });
    server.injectFault({ method: 'GET', path: `/${plural}`, watch: false, status: 429, retryAfterSeconds: 1, times: 1 });
    const started = Date.now();
    const { log } = await startInformer();
    expect(log).toEqual(['add a {"n":0}']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000); // Retry-After honoured
  });
});
