// The informer against the in-process test API server: list, watch, resume
// after a broken or silently stalled watch without losing or repeating
// anything, re-list on 410, back off on errors.
import { ApiextensionsV1Api, CustomObjectsApi, KubeConfig, loadYaml, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApiServer, type TestApiServer } from '../../../test/support/kube-apiserver/index.js';
import { Informer } from './informer.js';
import { callOptions, MERGE_PATCH } from './kube-api.js';
import { customResourceListWatch, type KubeObject } from './list-watch.js';

const GROUP = 'informer.berth.dev';
const NS = 'default';

let server: TestApiServer;
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

/** A fresh CRD per test, so each informer starts from an empty collection. */
async function freshResource(): Promise<string> {
  const p = `things${++counter}`;
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${p}.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind: `Thing${counter}`, listKind: `Thing${counter}List`, plural: p, singular: `thing${counter}` },
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
  await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body: loadYaml<V1CustomResourceDefinition>(JSON.stringify(crd)) });
  return p;
}

const create = (name: string, spec: object = { n: 0 }) =>
  custom.createNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: NS, plural, body: { apiVersion: `${GROUP}/v1`, kind: `Thing${counter}`, metadata: { name }, spec } }) as Promise<KubeObject>;
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
  await waitFor('the watch to open', () => server.control.watchCount() >= 1);
  return { log, informer };
}

beforeAll(async () => {
  server = await startTestApiServer({ bookmarkIntervalMs: 100 });
  kc = new KubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
  custom = kc.makeApiClient(CustomObjectsApi);
});

afterEach(async () => {
  await Promise.all(running.map((i) => i.stop()));
  running = [];
});

afterAll(async () => {
  await server?.close();
});

describe('Informer', () => {
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
    const watches = server.control.requests.filter((r) => r.path.endsWith(`/${plural}`) && r.query['watch'] === 'true');
    expect(watches[0]?.query).toMatchObject({ allowWatchBookmarks: 'true' });
    expect(Number(watches[0]?.query['timeoutSeconds'])).toBeGreaterThanOrEqual(300);
  });

  it('resumes a broken watch from the last resourceVersion: nothing lost, nothing twice, no re-list', async () => {
    plural = await freshResource();
    await create('a');
    const { log, informer } = await startInformer();
    server.control.breakWatches();
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
    server.control.stallWatches('forever');
    await patch('a', { n: 1 });
    await patch('a', { n: 2 });
    await waitFor('the edits after the stall', () => log.includes('update a {"n":2}'), 5000);
    await new Promise((r) => setTimeout(r, 300));
    expect(log).toEqual(['add a {"n":0}', 'update a {"n":1}', 'update a {"n":2}']);
    expect(informer.stats.stalls).toBeGreaterThanOrEqual(1);
    expect(informer.stats.lists).toBe(1);
  });

  it('keeps a quiet watch alive through bookmarks (no false stall)', async () => {
    plural = await freshResource();
    const { informer } = await startInformer({ stallTimeoutMs: 500 });
    await new Promise((r) => setTimeout(r, 1500));
    expect(informer.stats.stalls).toBe(0);
    expect(informer.stats.watches).toBe(1);
  });

  it('re-lists after 410 Gone and emits what changed while it was not watching, deletes included', async () => {
    plural = await freshResource();
    await create('keep');
    await create('edit');
    await create('drop');
    const { log, informer } = await startInformer();
    // Cut the watch and compact history past everything it saw.
    server.control.stallWatches('forever');
    await patch('edit', { n: 5 });
    await remove('drop');
    await create('new');
    server.control.compactBefore(server.control.resourceVersion());
    server.control.breakWatches();
    await waitFor('the re-list', () => informer.stats.relists >= 1 && log.length >= 6, 5000);
    expect(log.slice(3).sort()).toEqual(['add new {"n":0}', 'delete drop', 'update edit {"n":5}']);
    expect(informer.list().map((o) => o.metadata.name).sort()).toEqual(['edit', 'keep', 'new']);
    await patch('keep', { n: 9 }); // and it watches again from the new list
    await waitFor('watching again', () => log.includes('update keep {"n":9}'));
  });

  it('backs off and retries a failing LIST (500, then 429 with Retry-After)', async () => {
    plural = await freshResource();
    await create('a');
    server.control.injectFault({ method: 'GET', path: `/${plural}`, watch: false, status: 500, times: 2 });
    server.control.injectFault({ method: 'GET', path: `/${plural}`, watch: false, status: 429, retryAfterSeconds: 1, times: 1 });
    const started = Date.now();
    const { log } = await startInformer();
    expect(log).toEqual(['add a {"n":0}']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000); // Retry-After honoured
  });
});
