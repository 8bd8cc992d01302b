// The custom-resource source against the test cluster's apiserver (through
// the fault proxy), with the real CRDs of crds/ and a bare ResourceStore
// standing in for the Manager (no engine needed): what it puts in the store,
// what it writes back.
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ResourceStore } from '../src/controller/resource-store.js';
import { EventRecorder } from '../src/controller/event-recorder.js';
import { GROUP, VERSION, type ResourceKey } from '../src/spec/schema.js';
import { CustomResourceSource, desiredChanged, FINALIZER } from '../src/sources/kubernetes/custom-resource-source.js';
import { callOptions, MERGE_PATCH } from '../src/sources/kubernetes/kube-api.js';
import type { KubeObject } from '../src/sources/kubernetes/list-watch.js';
import { applyCrds, deleteNamespaces, freshNamespace, testKubeConfig } from './support/kube-cluster.js';
import { startFaultProxy, type KubeFaultProxy } from './support/kube-fault-proxy.js';
import { noKube } from './support/provided.js';

let server: KubeFaultProxy;
let direct: KubeConfig;
const namespaces: string[] = [];
let kc: KubeConfig;
let custom: CustomObjectsApi;
let nsCounter = 0;
let sources: CustomResourceSource[] = [];

async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const at = (namespace: string) => ({ group: GROUP, version: VERSION, plural: 'instances', namespace });
const instance = (name: string, env = 'a', extra: object = {}) => ({ apiVersion: `${GROUP}/${VERSION}`, kind: 'Instance', metadata: { name }, spec: { image: 'busybox:1', env: [{ name: 'V', value: env }], ...extra } });
const get = (ns: string, name: string) => custom.getNamespacedCustomObject({ ...at(ns), name }).then((o) => o as KubeObject & { status?: Record<string, unknown> }, () => undefined);
const patch = (ns: string, name: string, body: object) => custom.patchNamespacedCustomObject({ ...at(ns), name, body }, callOptions({ contentType: MERGE_PATCH }));

async function setup(opts: { stallTimeoutMs?: number } = {}) {
  const ns = await freshNamespace(direct, `berth-src-${++nsCounter}`);
  namespaces.push(ns);
  const store = new ResourceStore();
  const recorder = new EventRecorder();
  const enqueued: string[] = [];
  const source = new CustomResourceSource({
    kubeConfig: kc,
    store,
    recorder,
    enqueue: (k) => enqueued.push(`${k.kind}/${k.namespace}/${k.name}`),
    namespace: ns,
    statusCoalesceMs: 10,
    informer: { stallTimeoutMs: opts.stallTimeoutMs ?? 5000, backoff: { initialMs: 50, maxMs: 500 } },
  });
  sources.push(source);
  await source.start();
  await waitFor('watches open', () => server.watchCount() >= 3);
  const key = (name: string): ResourceKey => ({ kind: 'Instance', namespace: ns, name });
  return { ns, store, recorder, source, enqueued, key };
}

beforeAll(async () => {
  if (noKube()) return;
  direct = testKubeConfig();
  await applyCrds(direct);
  ({ proxy: server, kc } = await startFaultProxy(direct));
  custom = kc.makeApiClient(CustomObjectsApi);
});

afterEach(async () => {
  await Promise.all(sources.map((s) => s.stop()));
  sources = [];
  await waitFor('the watches to close', () => (server?.watchCount() ?? 0) === 0);
});

afterAll(async () => {
  await server?.close();
  if (direct) await deleteNamespaces(direct, namespaces);
});

describe.skipIf(noKube())('CustomResourceSource', () => {
  it('lists into the store (origin kubernetes, the object generation and uid) and adds its finalizer', async () => {
    const { ns, store, key } = await setup();
    const created = (await custom.createNamespacedCustomObject({ ...at(ns), body: instance('web') })) as KubeObject;
    const entry = await waitFor('web in the store', () => store.get(key('web')));
    expect(entry.origin).toEqual({ source: 'kubernetes' });
    expect(entry.object.metadata).toMatchObject({ uid: created.metadata.uid, generation: 1 });
    expect(entry.resource.spec).toMatchObject({ image: 'busybox:1', imagePullPolicy: 'IfNotPresent' }); // defaults applied
    const withFinalizer = await waitFor('the finalizer', async () => ((await get(ns, 'web'))?.metadata.finalizers?.includes(FINALIZER) ? true : undefined));
    expect(withFinalizer).toBe(true);
  });

  it('writes status through /status with observedGeneration in the object generation, even when edits were collapsed', async () => {
    const { ns, store, key, source } = await setup();
    await custom.createNamespacedCustomObject({ ...at(ns), body: instance('web') });
    await waitFor('web in the store', () => store.get(key('web')));
    await waitFor('the finalizer', async () => ((await get(ns, 'web'))?.metadata.finalizers?.includes(FINALIZER) ? true : undefined));
    // Two edits while the watches are stalled, then history compacted: the re-list shows only the last one.
    server.stallWatches();
    await patch(ns, 'web', { spec: { env: [{ name: 'V', value: 'b' }] } });
    const edited = (await patch(ns, 'web', { spec: { env: [{ name: 'V', value: 'c' }] } })) as KubeObject;
    expect(edited.metadata.generation).toBe(3);
    server.compactBefore(edited.metadata.resourceVersion!); // the resumed watches hear 410 Expired: history was compacted
    server.breakWatches();
    const entry = await waitFor('the edit in the store', () => (store.get(key('web'))?.resource.spec as { env: { value: string }[] }).env[0]?.value === 'c' && store.get(key('web')));
    expect(entry.object.metadata.generation).toBe(2); // the store counted one change
    // What the reconciler would write, in store generations.
    const g = entry.object.metadata.generation;
    store.setStatus(key('web'), { phase: 'Ready', restartCount: 0, observedGeneration: g, conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: '', observedGeneration: g, lastTransitionTime: new Date().toISOString() }] });
    const o = await waitFor('status on the server', async () => ((await get(ns, 'web'))?.status?.['phase'] === 'Ready' ? get(ns, 'web') : undefined));
    expect(o!.status).toMatchObject({ phase: 'Ready', observedGeneration: 3, conditions: [{ type: 'Ready', observedGeneration: 3 }] });
    expect(source.status.stats.writes).toBe(1);
  });

  it('coalesces a burst of status changes, sends only differences, and ignores status-only updates', async () => {
    const { ns, store, key, source } = await setup();
    await custom.createNamespacedCustomObject({ ...at(ns), body: instance('web') });
    const entry = await waitFor('web in the store', () => store.get(key('web')));
    const rv = entry.object.metadata.resourceVersion;
    const path = `/apis/${GROUP}/${VERSION}/namespaces/${ns}/instances/web/status`;
    const patches = () => server.requests.filter((r) => r.method === 'PATCH' && r.path === path).length;
    for (let i = 0; i < 20; i++) store.setStatus(key('web'), { phase: 'Creating', restartCount: i, conditions: [] });
    await source.status.idle();
    expect(patches()).toBeLessThanOrEqual(2);
    expect((await get(ns, 'web'))?.status).toMatchObject({ phase: 'Creating', restartCount: 19 });
    // Our own status write came back through the watch: the store did not change.
    await new Promise((r) => setTimeout(r, 300));
    expect(store.get(key('web'))?.object.metadata.resourceVersion).not.toBe(rv); // setStatus bumped it...
    const after = store.get(key('web'))!.object;
    await custom.patchNamespacedCustomObjectStatus({ ...at(ns), name: 'web', body: { status: { phase: 'Elsewhere' } } }, callOptions({ contentType: MERGE_PATCH }));
    await new Promise((r) => setTimeout(r, 300));
    expect(store.get(key('web'))!.object.metadata.resourceVersion).toBe(after.metadata.resourceVersion); // ...status-only updates do not
    // An unchanged status sends nothing.
    const before = patches();
    store.setStatus(key('web'), { phase: 'Creating', restartCount: 19, conditions: [] });
    await source.status.idle();
    expect(patches()).toBe(before);
  });

  it('deletion: drops the resource from the store and removes the finalizer only when the containers are gone (onPruned)', async () => {
    const { ns, store, key, source } = await setup();
    await custom.createNamespacedCustomObject({ ...at(ns), body: instance('web') });
    await waitFor('the finalizer', async () => ((await get(ns, 'web'))?.metadata.finalizers?.includes(FINALIZER) ? true : undefined));
    await custom.deleteNamespacedCustomObject({ ...at(ns), name: 'web' });
    await waitFor('web out of the store', () => !store.get(key('web')));
    await new Promise((r) => setTimeout(r, 300));
    expect((await get(ns, 'web'))?.metadata.deletionTimestamp).toBeTruthy(); // held until pruned
    source.onPruned(key('web'));
    await waitFor('web gone', async () => ((await get(ns, 'web')) ? undefined : true));
  });

  it('a resource deleted with nothing in the store asks the controller to look (it reports onPruned)', async () => {
    const { ns, key, source, enqueued } = await setup();
    // Invalid from the start: never in the store.
    await custom.createNamespacedCustomObject({ ...at(ns), body: instance('bad', 'a', { mounts: [{ type: 'bind', source: '/etc', target: '/x' }] }) });
    await waitFor('the finalizer', async () => ((await get(ns, 'bad'))?.metadata.finalizers?.includes(FINALIZER) ? true : undefined));
    await custom.deleteNamespacedCustomObject({ ...at(ns), name: 'bad' });
    await waitFor('enqueued', () => enqueued.includes(`Instance/${ns}/bad`));
    source.onPruned(key('bad'));
    await waitFor('bad gone', async () => ((await get(ns, 'bad')) ? undefined : true));
  });

  it('an invalid edit keeps the last valid spec in the store and reports InvalidSpec (status and a Warning)', async () => {
    const { ns, store, key, recorder } = await setup();
    await custom.createNamespacedCustomObject({ ...at(ns), body: instance('web') });
    await waitFor('web in the store', () => store.get(key('web')));
    // Refused by policy (bind mounts not allowed), which the CRD's rules cannot see.
    await patch(ns, 'web', { spec: { mounts: [{ type: 'bind', source: '/etc', target: '/x' }] } });
    const o = await waitFor('InvalidSpec', async () => {
      const x = await get(ns, 'web');
      return (x?.status?.['conditions'] as { reason: string }[] | undefined)?.some((c) => c.reason === 'InvalidSpec') ? x : undefined;
    });
    expect(o.status).toMatchObject({ observedGeneration: 2, conditions: [{ type: 'Ready', status: 'False', reason: 'InvalidSpec' }] });
    expect(JSON.stringify(o.status)).toContain('spec.mounts[0].type: bind mounts are refused');
    expect((store.get(key('web'))!.resource.spec as { mounts: object[] }).mounts).toEqual([]);
    expect(recorder.list({ name: 'web' }).filter((e) => e.reason === 'InvalidSpec').map((e) => e.type)).toEqual(['Warning']);
    // Fixed again: the condition goes away.
    await patch(ns, 'web', { spec: { mounts: null, resources: { memory: '64Mi' } } });
    await waitFor('the fix in the store', () => (store.get(key('web'))!.resource.spec as { resources: { memory?: string } }).resources.memory === '64Mi');
  });

  it('mirrors events about its resources to core/v1 Events, folding repeats into a count', async () => {
    const { ns, store, key, recorder, source } = await setup();
    const created = (await custom.createNamespacedCustomObject({ ...at(ns), body: instance('web') })) as KubeObject;
    await waitFor('web in the store', () => store.get(key('web')));
    const involved = { kind: 'Instance' as const, namespace: ns, name: 'web' };
    recorder.record({ type: 'Normal', reason: 'Created', message: 'created container abc', involvedObject: involved });
    recorder.record({ type: 'Warning', reason: 'HealthCheckFailed', message: 'probe failed', involvedObject: involved });
    recorder.record({ type: 'Normal', reason: 'Created', message: 'created container abc', involvedObject: involved });
    recorder.record({ type: 'Normal', reason: 'Created', message: 'not ours', involvedObject: { kind: 'Controller', namespace: '', name: 'x' } });
    await source.events!.idle();
    const events = (await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.uid=${created.metadata.uid}` })).items;
    expect(events.map((e) => `${e.type} ${e.reason} ${e.count}`).sort()).toEqual(['Normal Created 2', 'Warning HealthCheckFailed 1']);
    expect(events[0]?.involvedObject).toMatchObject({ apiVersion: `${GROUP}/${VERSION}`, kind: 'Instance', name: 'web', namespace: ns });
  });
});

describe('desiredChanged (the predicate)', () => {
  const base: KubeObject = { metadata: { name: 'a', generation: 1, labels: { x: '1' }, resourceVersion: '1' }, spec: { image: 'x' }, status: { phase: 'A' } };
  it('ignores status, finalizers and resourceVersion; sees spec, generation, labels, annotations, deletion', () => {
    expect(desiredChanged(base, { ...base, metadata: { ...base.metadata, resourceVersion: '2', finalizers: ['f'] }, status: { phase: 'B' } })).toBe(false);
    expect(desiredChanged(base, { ...base, metadata: { ...base.metadata, generation: 2 } })).toBe(true);
    expect(desiredChanged(base, { ...base, metadata: { ...base.metadata, labels: { x: '2' } } })).toBe(true);
    expect(desiredChanged(base, { ...base, metadata: { ...base.metadata, annotations: { a: 'b' } } })).toBe(true);
    expect(desiredChanged(base, { ...base, metadata: { ...base.metadata, deletionTimestamp: 'now' } })).toBe(true);
  });
});
