// The test Kubernetes API server, exercised through @kubernetes/client-node the
// way berth's Kubernetes mode uses it. No Docker needed. Every expectation here
// is documented API-server behaviour, so the same calls hold against a cluster.
import { Writable } from 'node:stream';
import {
  ApiException,
  ApiextensionsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  Exec,
  KubeConfig,
  KubernetesObjectApi,
  makeInformer,
  PatchStrategy,
  V1MicroTime,
  loadYaml,
  type V1CustomResourceDefinition,
  Watch,
  setHeaderOptions,
  type KubernetesObject,
  type V1Status,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApiServer, type RequestLogEntry, type TestApiServer } from './support/kube-apiserver/index.js';

const GROUP = 'test.berth.dev';
const VERSION = 'v1';
const PLURAL = 'widgets';
const NS = 'default';

const WIDGET_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${PLURAL}.${GROUP}` },
  spec: {
    group: GROUP,
    names: { kind: 'Widget', listKind: 'WidgetList', plural: PLURAL, singular: 'widget', shortNames: ['wd'] },
    scope: 'Namespaced',
    versions: [
      {
        name: VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              spec: {
                type: 'object',
                required: ['image'],
                properties: {
                  image: { type: 'string', minLength: 1 },
                  size: { type: 'integer', minimum: 1, default: 1 },
                  color: { type: 'string', enum: ['red', 'blue'] },
                },
              },
              status: {
                type: 'object',
                properties: { phase: { type: 'string' }, observedGeneration: { type: 'integer' } },
              },
            },
            required: ['spec'],
          },
        },
      },
    ],
  },
};

interface Widget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; generation?: number; labels?: Record<string, string>; finalizers?: string[]; deletionTimestamp?: string; deletionGracePeriodSeconds?: number; uid?: string };
  spec: { image: string; size?: number; color?: string; bogus?: unknown };
  status?: { phase?: string; observedGeneration?: number };
}

interface WatchEvent {
  type: string;
  object: { metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string>; deletionTimestamp?: string }; [k: string]: unknown };
}

let server: TestApiServer;
let kc: KubeConfig;
let crds: ApiextensionsV1Api;
let custom: CustomObjectsApi;
let core: CoreV1Api;
let coordination: CoordinationV1Api;

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The metav1.Status of a failed call (client-node 1.x puts the raw body text in ApiException.body). */
function statusOf(e: unknown): { code: number; reason?: string; message?: string; details?: { causes?: { field?: string; reason?: string }[] } } {
  if (!(e instanceof ApiException)) throw e;
  const body: unknown = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
  return { ...(body as object), code: e.code };
}

async function failure(p: Promise<unknown>): Promise<ReturnType<typeof statusOf>> {
  try {
    await p;
  } catch (e) {
    return statusOf(e);
  }
  throw new Error('expected the call to fail');
}

/** An open watch through client-node's Watch, collecting events. */
async function openWatch(path: string, query: Record<string, string | number | boolean> = {}) {
  const events: WatchEvent[] = [];
  let resolveDone!: (err: unknown) => void;
  const done = new Promise<unknown>((r) => (resolveDone = r));
  // Resolves once the response headers arrived; the server registers a watch before sending them.
  const controller = await new Watch(kc).watch(path, query, (type, object) => events.push({ type, object: object as WatchEvent['object'] }), (err) => resolveDone(err ?? null));
  return {
    events,
    done,
    stop: () => controller.abort(),
    next: (n: number, timeoutMs = 3000) => waitFor(`${n} watch events (have ${events.length})`, () => events.length >= n && events.slice(0, n), timeoutMs),
  };
}

const widgetsPath = `/apis/${GROUP}/${VERSION}/namespaces/${NS}/${PLURAL}`;

function widget(name: string, spec: Widget['spec'] = { image: 'busybox:1' }, labels?: Record<string, string>): Widget {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: 'Widget', metadata: { name, ...(labels ? { labels } : {}) }, spec };
}

const create = (w: Widget) => custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, body: w }) as Promise<Widget>;
const get = (name: string) => custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name }) as Promise<Widget>;
const patch = (name: string, body: object) => custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name, body }, merge) as Promise<Widget>;
const patchStatus = (name: string, body: object) => custom.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name, body }, merge) as Promise<Widget>;
const replace = (w: Widget) => custom.replaceNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: w.metadata.name, body: w }) as Promise<Widget>;
const remove = (name: string) => custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name }) as Promise<Widget>;

beforeAll(async () => {
  server = await startTestApiServer({ bookmarkIntervalMs: 100 });
  kc = new KubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
  crds = kc.makeApiClient(ApiextensionsV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  coordination = kc.makeApiClient(CoordinationV1Api);
  // Through loadYaml: the typed API serializes V1JSONSchemaProps by its TypeScript
  // names (_default, _enum, x_kubernetes_*), so a plain object loses those fields.
  await crds.createCustomResourceDefinition({ body: loadYaml<V1CustomResourceDefinition>(JSON.stringify(WIDGET_CRD)) });
  await waitFor('the CRD to be Established', async () => {
    const crd = await crds.readCustomResourceDefinition({ name: `${PLURAL}.${GROUP}` });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
  });
});

afterAll(async () => {
  await server?.close();
});

describe('test Kubernetes API server through client-node', () => {
  it('rejects requests without the bearer token (401 Status)', async () => {
    const res = await fetch(`${server.url}/api/v1/namespaces`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401 });
  });

  it('serves the registered CRD and validates custom resources against its schema', async () => {
    const list = await crds.listCustomResourceDefinition();
    expect(list.items.map((c) => c.metadata?.name)).toContain(`${PLURAL}.${GROUP}`);

    const missing = await failure(create(widget('bad-1', { image: '' , size: 0 })));
    expect(missing).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(missing.message).toContain('Widget.test.berth.dev "bad-1" is invalid');
    expect(missing.details?.causes?.map((c) => c.field)).toEqual(expect.arrayContaining(['spec.image', 'spec.size']));

    const wrongType = await failure(create(widget('bad-2', { image: 'x', size: 'big' as unknown as number })));
    expect(wrongType.code).toBe(422);
    expect(wrongType.details?.causes).toEqual([expect.objectContaining({ field: 'spec.size', reason: 'FieldValueTypeInvalid' })]);

    const notInEnum = await failure(create(widget('bad-3', { image: 'x', color: 'green' })));
    expect(notInEnum.details?.causes).toEqual([expect.objectContaining({ field: 'spec.color', reason: 'FieldValueNotSupported' })]);

    const noSpec = await failure(custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Widget', metadata: { name: 'bad-4' } } }));
    expect(noSpec.details?.causes).toEqual([expect.objectContaining({ field: 'spec', reason: 'FieldValueRequired' })]);

    const unknownType = await failure(custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'gadgets' }));
    expect(unknownType).toMatchObject({ code: 404, reason: 'NotFound' });
  });

  it('creates, gets, lists and merge-patches a custom object; prunes unknown fields and applies defaults', async () => {
    const created = await create({ ...widget('alpha', { image: 'busybox:1', bogus: 'dropped' }), metadata: { name: 'alpha', labels: { tier: 'web' } } });
    expect(created.metadata).toMatchObject({ name: 'alpha', namespace: NS, generation: 1 });
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.spec).toEqual({ image: 'busybox:1', size: 1 }); // bogus pruned, size defaulted
    expect(await failure(create(widget('alpha')))).toMatchObject({ code: 409, reason: 'AlreadyExists' });

    const got = await get('alpha');
    expect(got.metadata.resourceVersion).toBe(created.metadata.resourceVersion);

    const patched = await patch('alpha', { spec: { color: 'blue' } });
    expect(patched.spec).toEqual({ image: 'busybox:1', size: 1, color: 'blue' });
    expect(Number(patched.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));

    const list = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL })) as { kind: string; metadata: { resourceVersion: string }; items: Widget[] };
    expect(list.kind).toBe('WidgetList');
    expect(list.items.find((w) => w.metadata.name === 'alpha')).toMatchObject({ apiVersion: `${GROUP}/${VERSION}`, kind: 'Widget' });
    expect(Number(list.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(patched.metadata.resourceVersion));

    const cluster = (await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as { items: Widget[] };
    expect(cluster.items.some((w) => w.metadata.name === 'alpha')).toBe(true);
  });

  it('bumps metadata.generation on spec changes only', async () => {
    const w = await create(widget('gen'));
    expect(w.metadata.generation).toBe(1);
    const labelled = await patch('gen', { metadata: { labels: { a: 'b' } } });
    expect(labelled.metadata.generation).toBe(1);
    const resized = await patch('gen', { spec: { size: 3 } });
    expect(resized.metadata.generation).toBe(2);
    const status = await patchStatus('gen', { status: { phase: 'Ready' } });
    expect(status.metadata.generation).toBe(2);
    // A write that changes nothing is a no-op: same resourceVersion.
    const same = await patch('gen', { spec: { size: 3 } });
    expect(same.metadata.resourceVersion).toBe(status.metadata.resourceVersion);
  });

  it('isolates the status subresource both ways', async () => {
    await create(widget('iso'));
    const viaMain = await patch('iso', { spec: { size: 2 }, status: { phase: 'Hacked' } });
    expect(viaMain.spec.size).toBe(2);
    expect(viaMain.status).toBeUndefined();

    const viaStatus = await patchStatus('iso', { spec: { size: 9 }, metadata: { labels: { x: 'y' } }, status: { phase: 'Running', observedGeneration: 2 } });
    expect(viaStatus.status).toEqual({ phase: 'Running', observedGeneration: 2 });
    expect(viaStatus.spec.size).toBe(2);
    expect(viaStatus.metadata.labels).toBeUndefined();

    // A full update keeps the status the status writer set.
    const current = await get('iso');
    const replaced = await replace({ ...current, spec: { ...current.spec, size: 4 }, status: { phase: 'Nope' } });
    expect(replaced.status).toEqual({ phase: 'Running', observedGeneration: 2 });
    expect(replaced.spec.size).toBe(4);
  });

  it('answers 409 Conflict to an update with a stale resourceVersion; without one the update is unconditional', async () => {
    const first = await create(widget('conflict'));
    await patch('conflict', { spec: { size: 5 } });
    const stale = await failure(replace({ ...first, spec: { image: 'other' } }));
    expect(stale).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(stale.message).toContain('the object has been modified');
    const { resourceVersion: _ignored, ...metaWithoutRv } = first.metadata;
    const forced = await replace({ ...first, metadata: metaWithoutRv, spec: { image: 'other' } });
    expect(forced.spec.image).toBe('other');
    // A merge patch carrying a resourceVersion is a precondition too.
    expect(await failure(patch('conflict', { metadata: { resourceVersion: first.metadata.resourceVersion }, spec: { size: 7 } }))).toMatchObject({ code: 409 });
  });

  it('runs the finalizer delete flow: deletionTimestamp + MODIFIED, then DELETED when the finalizers are emptied', async () => {
    const w = await create({ ...widget('fin'), metadata: { name: 'fin', finalizers: ['test.berth.dev/cleanup'] } });
    const watch = await openWatch(widgetsPath, { resourceVersion: w.metadata.resourceVersion!, fieldSelector: 'metadata.name=fin' });

    const deleting = await remove('fin');
    expect(deleting.metadata.deletionTimestamp).toBeDefined();
    expect(deleting.metadata.deletionGracePeriodSeconds).toBe(0);
    expect(deleting.metadata.generation).toBe(2); // marking for deletion bumps generation, as the real registry does
    expect((await get('fin')).metadata.deletionTimestamp).toBe(deleting.metadata.deletionTimestamp);

    // New finalizers are refused once deletion started; spec updates are still allowed.
    const added = await failure(patch('fin', { metadata: { finalizers: ['test.berth.dev/cleanup', 'test.berth.dev/late'] } }));
    expect(added).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(added.details?.causes).toEqual([expect.objectContaining({ field: 'metadata.finalizers', reason: 'FieldValueForbidden' })]);
    await patch('fin', { spec: { size: 2 } });

    await patch('fin', { metadata: { finalizers: null } });
    await expect(get('fin')).rejects.toMatchObject({ code: 404 });
    const events = await watch.next(3);
    expect(events.map((e) => e.type)).toEqual(['MODIFIED', 'MODIFIED', 'DELETED']);
    expect(events[0]!.object.metadata?.deletionTimestamp).toBeDefined();
    watch.stop();
  });

  it('deletes an object without finalizers at once and returns it', async () => {
    await create(widget('gone'));
    const deleted = await remove('gone');
    expect(deleted.metadata.name).toBe('gone');
    expect(await failure(get('gone'))).toMatchObject({ code: 404, reason: 'NotFound', message: 'widgets.test.berth.dev "gone" not found' });
  });

  it('replays the events after a resourceVersion in order, then streams live ones', async () => {
    const start = server.control.resourceVersion();
    await create(widget('w-1'));
    await create(widget('w-2'));
    await patch('w-1', { spec: { size: 2 } });
    await remove('w-2');
    const watch = await openWatch(widgetsPath, { resourceVersion: start });
    await create(widget('w-3'));
    const events = await watch.next(5);
    expect(events.map((e) => `${e.type} ${e.object.metadata?.name}`)).toEqual(['ADDED w-1', 'ADDED w-2', 'MODIFIED w-1', 'DELETED w-2', 'ADDED w-3']);
    const rvs = events.map((e) => Number(e.object.metadata?.resourceVersion));
    expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
    watch.stop();
  });

  it('starts a watch without resourceVersion with synthetic ADDED events for what exists', async () => {
    await create(widget('existing-1', undefined, { batch: 'initial' }));
    await create(widget('existing-2', undefined, { batch: 'initial' }));
    const watch = await openWatch(widgetsPath, { labelSelector: 'batch=initial' });
    const events = await watch.next(2);
    expect(events.map((e) => `${e.type} ${e.object.metadata?.name}`)).toEqual(['ADDED existing-1', 'ADDED existing-2']);
    watch.stop();
  });

  it('ends a watch from a compacted resourceVersion with a 410 Expired ERROR event', async () => {
    const old = server.control.resourceVersion();
    await create(widget('compacted'));
    server.control.compactBefore(server.control.resourceVersion());
    const watch = await openWatch(widgetsPath, { resourceVersion: old });
    const [event] = await watch.next(1);
    expect(event).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    await watch.done;
    // A watch from the compaction point itself is fine.
    const ok = await openWatch(widgetsPath, { resourceVersion: server.control.resourceVersion() });
    await patch('compacted', { spec: { size: 3 } });
    expect((await ok.next(1))[0]!.type).toBe('MODIFIED');
    ok.stop();
  });

  it('sends BOOKMARK events when asked to', async () => {
    const watch = await openWatch(widgetsPath, { resourceVersion: server.control.resourceVersion(), allowWatchBookmarks: true });
    const [bookmark] = await watch.next(1);
    expect(bookmark!.type).toBe('BOOKMARK');
    expect(bookmark!.object).toMatchObject({ kind: 'Widget', apiVersion: `${GROUP}/${VERSION}` });
    expect(Number(bookmark!.object.metadata?.resourceVersion)).toBe(Number(server.control.resourceVersion()));
    watch.stop();
  });

  it('ends watches after timeoutSeconds', async () => {
    const watch = await openWatch(widgetsPath, { resourceVersion: server.control.resourceVersion(), timeoutSeconds: 0.2 });
    expect(await watch.done).toBeNull();
  });

  it('breakWatches ends every open stream (client-node calls done)', async () => {
    const watch = await openWatch(widgetsPath, { resourceVersion: server.control.resourceVersion() });
    server.control.breakWatches();
    await watch.done;
    expect(server.control.watchCount()).toBe(0);
  });

  it('stallWatches holds events back without closing the stream', async () => {
    const watch = await openWatch(widgetsPath, { resourceVersion: server.control.resourceVersion() });
    server.control.stallWatches(300);
    await create(widget('stalled'));
    await new Promise((r) => setTimeout(r, 150));
    expect(watch.events).toHaveLength(0);
    const events = await watch.next(1);
    expect(events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'stalled' } } });
    watch.stop();
  });

  it('applies label selectors to lists and to watches (objects leaving the selector are DELETED for the watch)', async () => {
    await create(widget('sel-a', undefined, { app: 'a', env: 'prod' }));
    await create(widget('sel-b', undefined, { app: 'b', env: 'dev' }));
    await create(widget('sel-c', undefined, { app: 'c' }));
    const names = async (labelSelector: string) =>
      ((await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, labelSelector })) as { items: Widget[] }).items.map((w) => w.metadata.name).sort();
    expect(await names('app=a')).toEqual(['sel-a']);
    expect(await names('app in (a,b)')).toEqual(['sel-a', 'sel-b']);
    expect(await names('app,!env')).toEqual(['sel-c']);
    expect(await names('app,env!=prod')).toEqual(['sel-b', 'sel-c']);
    expect(await failure(names('app in ('))).toMatchObject({ code: 400, reason: 'BadRequest' });

    const watch = await openWatch(widgetsPath, { resourceVersion: server.control.resourceVersion(), labelSelector: 'env=prod' });
    await patch('sel-b', { spec: { size: 2 } }); // not selected: nothing
    await patch('sel-a', { spec: { size: 2 } });
    await patch('sel-b', { metadata: { labels: { env: 'prod' } } }); // enters the selection
    await patch('sel-a', { metadata: { labels: { env: 'dev' } } }); // leaves it
    const events = await watch.next(3);
    expect(events.map((e) => `${e.type} ${e.object.metadata?.name}`)).toEqual(['MODIFIED sel-a', 'ADDED sel-b', 'DELETED sel-a']);
    watch.stop();
  });

  it('pages lists with limit/continue over a consistent snapshot', async () => {
    for (const n of ['page-1', 'page-2', 'page-3']) await create(widget(n, undefined, { paged: 'yes' }));
    const page = (cont?: string) =>
      custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, labelSelector: 'paged=yes', limit: 2, ...(cont ? { _continue: cont } : {}) }) as Promise<{
        metadata: { continue?: string; resourceVersion: string };
        items: Widget[];
      }>;
    const first = await page();
    expect(first.items.map((w) => w.metadata.name)).toEqual(['page-1', 'page-2']);
    await create(widget('page-4', undefined, { paged: 'yes' })); // after the snapshot: not in page 2
    const second = await page(first.metadata.continue);
    expect(second.items.map((w) => w.metadata.name)).toEqual(['page-3']);
    expect(second.metadata.continue).toBeUndefined();
    expect(second.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
  });

  it('plays the kubelet for Pods: Pending on create, setPodPhase, graceful deletion, logs, exec', async () => {
    const pod = await core.createNamespacedPod({ namespace: NS, body: { metadata: { generateName: 'runner-', labels: { app: 'runner' } }, spec: { containers: [{ name: 'main', image: 'busybox:1' }] } } });
    const name = pod.metadata!.name!;
    expect(name).toMatch(/^runner-[a-z0-9]{5}$/);
    expect(pod.status?.phase).toBe('Pending');

    const watch = await openWatch(`/api/v1/namespaces/${NS}/pods`, { resourceVersion: pod.metadata!.resourceVersion!, labelSelector: 'app=runner' });
    server.control.setPodPhase(NS, name, 'Running', true);
    const running = await core.readNamespacedPod({ namespace: NS, name });
    expect(running.status?.phase).toBe('Running');
    expect(running.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(running.spec?.nodeName).toBeTruthy();

    // Pod spec is immutable apart from images and a few fields.
    const specChange = await failure(core.patchNamespacedPod({ namespace: NS, name, body: { spec: { restartPolicy: 'Never' } } }, strategic));
    expect(specChange).toMatchObject({ code: 422, reason: 'Invalid' });
    // Strategic merge patch unions finalizers (a merge patch would replace them).
    await core.patchNamespacedPod({ namespace: NS, name, body: { metadata: { finalizers: ['test.berth.dev/a'] } } }, strategic);
    const both = await core.patchNamespacedPod({ namespace: NS, name, body: { metadata: { finalizers: ['test.berth.dev/b'] } } }, strategic);
    expect(both.metadata?.finalizers).toEqual(['test.berth.dev/a', 'test.berth.dev/b']);
    await core.patchNamespacedPod({ namespace: NS, name, body: { metadata: { finalizers: null } } }, merge);

    server.control.setPodLog(NS, name, 'one\ntwo\nthree\n');
    expect(await core.readNamespacedPodLog({ namespace: NS, name, tailLines: 2 })).toBe('two\nthree\n');

    server.control.setExecHandler((_ns, _pod, container, command) =>
      command.join(' ') === 'sh -c exit 3' ? { stderr: 'boom', exitCode: 3 } : { stdout: `${container}:${command.join(' ')}`, exitCode: 0 },
    );
    const exec = async (command: string[]) => {
      let out = '';
      let err = '';
      const sink = (f: (s: string) => void) => new Writable({ write: (chunk: Buffer, _e, cb) => (f(chunk.toString()), cb()) });
      const status = await new Promise<V1Status>((resolve, reject) => {
        new Exec(kc).exec(NS, name, 'main', command, sink((s) => (out += s)), sink((s) => (err += s)), null, false, resolve).catch(reject);
      });
      return { out, err, status };
    };
    expect(await exec(['echo', 'hi'])).toEqual({ out: 'main:echo hi', err: '', status: { metadata: {}, status: 'Success' } });
    const failed = await exec(['sh', '-c', 'exit 3']);
    expect(failed.err).toBe('boom');
    expect(failed.status).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });

    // A scheduled, running Pod terminates gracefully: MODIFIED with deletionTimestamp, then DELETED.
    const deleting = await core.deleteNamespacedPod({ namespace: NS, name });
    expect(deleting.metadata?.deletionTimestamp).toBeDefined();
    expect(deleting.metadata?.deletionGracePeriodSeconds).toBe(30);
    await waitFor('the pod to be gone', async () => (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=runner' })).items.length === 0);
    const types = watch.events.map((e) => e.type);
    expect(types[0]).toBe('MODIFIED');
    expect(types.at(-1)).toBe('DELETED');
    watch.stop();
  });

  it('keeps Leases with resourceVersion conflicts and MicroTime fields', async () => {
    const now = new V1MicroTime();
    const lease = await coordination.createNamespacedLease({
      namespace: NS,
      body: { metadata: { name: 'berth-leader' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: now, renewTime: now } },
    });
    expect(lease.spec?.holderIdentity).toBe('a');
    const renewed = await coordination.replaceNamespacedLease({ namespace: NS, name: 'berth-leader', body: { ...lease, spec: { ...lease.spec, renewTime: new V1MicroTime() } } });
    const stale = await failure(coordination.replaceNamespacedLease({ namespace: NS, name: 'berth-leader', body: { ...lease, spec: { ...lease.spec, holderIdentity: 'b' } } }));
    expect(stale).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(Number(renewed.metadata?.resourceVersion)).toBeGreaterThan(Number(lease.metadata?.resourceVersion));
    // A plain Date serializes with milliseconds only, which a real server refuses for MicroTime.
    const plainDate = await failure(coordination.replaceNamespacedLease({ namespace: NS, name: 'berth-leader', body: { ...renewed, spec: { ...renewed.spec, renewTime: new Date() } } }));
    expect(plainDate).toMatchObject({ code: 400, reason: 'BadRequest' });
  });

  it('stores core/v1 Events and serves them converted as events.k8s.io/v1', async () => {
    await core.createNamespacedEvent({
      namespace: NS,
      body: {
        metadata: { name: 'alpha.1' },
        involvedObject: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Widget', name: 'alpha', namespace: NS },
        reason: 'Created',
        message: 'created the container',
        type: 'Normal',
        source: { component: 'berth' },
        count: 1,
      },
    });
    const list = await core.listNamespacedEvent({ namespace: NS, fieldSelector: 'involvedObject.name=alpha,reason=Created' });
    expect(list.items.map((e) => e.message)).toEqual(['created the container']);
    const v1 = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: NS, fieldSelector: 'regarding.name=alpha' });
    expect(v1.items[0]).toMatchObject({ note: 'created the container', regarding: { kind: 'Widget', name: 'alpha' }, deprecatedCount: 1 });
    const missingNs = await failure(core.createNamespacedEvent({ namespace: 'nope', body: { metadata: { name: 'x' }, involvedObject: {} } }));
    expect(missingNs).toMatchObject({ code: 404, message: 'namespaces "nope" not found' });
  });

  it('lets a client-node informer recover from a broken watch and from 410 Expired', async () => {
    const listFn = () => custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, labelSelector: 'inf=yes' }) as Promise<{ metadata: { resourceVersion: string }; items: Widget[] }>;
    const informer = makeInformer<KubernetesObject>(kc, widgetsPath, listFn as never, 'inf=yes');
    const errors: unknown[] = [];
    let restart = true;
    // client-node's informer does not restart after a watch error: its ERROR handler must.
    // (stop() aborts the watch, which reports an AbortError there too.)
    informer.on('error', (err) => {
      errors.push(err);
      if (restart) setTimeout(() => void informer.start(), 10);
    });
    await informer.start();
    await create(widget('inf-1', undefined, { inf: 'yes' }));
    await waitFor('inf-1 in the cache', () => informer.get('inf-1', NS));

    server.control.breakWatches();
    await waitFor('the watch error', () => errors.length > 0);
    await create(widget('inf-2', undefined, { inf: 'yes' }));
    await waitFor('inf-2 after the restart', () => informer.get('inf-2', NS));

    // A compacted resourceVersion: the next watch gets 410, the informer relists.
    restart = false;
    await informer.stop();
    await create(widget('inf-3', undefined, { inf: 'yes' }));
    server.control.compactBefore(server.control.resourceVersion());
    const isList = (r: RequestLogEntry) => r.method === 'GET' && r.path === widgetsPath && r.query['watch'] === undefined && r.query['labelSelector'] === 'inf=yes';
    await new Promise((r) => setTimeout(r, 50)); // let the aborted watch report
    const listsBefore = server.control.requests.filter(isList).length;
    restart = true;
    await informer.start();
    await waitFor('inf-3 after the relist', () => informer.get('inf-3', NS));
    expect(server.control.requests.filter(isList).length).toBe(listsBefore + 1);
    restart = false;
    await informer.stop();
  });

  it('answers injected faults with Status bodies and Retry-After', async () => {
    const removeFault = server.control.injectFault({ method: 'GET', path: `/${PLURAL}/alpha`, status: 429, retryAfterSeconds: 2 });
    const e = await get('alpha').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ApiException);
    expect((e as ApiException<unknown>).headers['retry-after']).toBe('2');
    expect(statusOf(e)).toMatchObject({ code: 429, reason: 'TooManyRequests', details: { retryAfterSeconds: 2 } });
    expect((await get('alpha')).metadata.name).toBe('alpha'); // times: 1 by default
    removeFault();
  });

  it('terminates a namespace: contents deleted (finalizers honoured), new content refused, then gone', async () => {
    await core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    await core.createNamespacedPod({ namespace: 'doomed', body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox:1' }] } } });
    await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'doomed', plural: PLURAL, body: { ...widget('held'), metadata: { name: 'held', finalizers: ['test.berth.dev/hold'] } } });
    // Typed as V1Status by client-node; the server answers with the Namespace.
    const ns = (await core.deleteNamespace({ name: 'doomed' })) as unknown as { status?: { phase?: string } };
    expect(ns.status?.phase).toBe('Terminating');
    await waitFor('the pod to be deleted', async () => (await core.listNamespacedPod({ namespace: 'doomed' })).items.length === 0);
    const refused = await failure(core.createNamespacedPod({ namespace: 'doomed', body: { metadata: { name: 'q' }, spec: { containers: [{ name: 'c', image: 'busybox:1' }] } } }));
    expect(refused).toMatchObject({ code: 403, reason: 'Forbidden' });
    const held = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'doomed', plural: PLURAL, name: 'held' })) as Widget;
    expect(held.metadata.deletionTimestamp).toBeDefined();
    await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'doomed', plural: PLURAL, name: 'held', body: { metadata: { finalizers: null } } }, merge);
    await waitFor('the namespace to be gone', () => core.readNamespace({ name: 'doomed' }).then(() => false, (err: unknown) => statusOf(err).code === 404));
  });

  it('deletes a CRD with its custom resources, after which the resource is no longer served', async () => {
    const gizmos = { ...WIDGET_CRD, metadata: { name: `gizmos.${GROUP}` }, spec: { ...WIDGET_CRD.spec, names: { kind: 'Gizmo', plural: 'gizmos' } } };
    await crds.createCustomResourceDefinition({ body: loadYaml<V1CustomResourceDefinition>(JSON.stringify(gizmos)) });
    const objects = kc.makeApiClient(KubernetesObjectApi); // discovers plurals through /apis/{group}/{version}
    await waitFor('gizmos to be served', () => objects.create({ apiVersion: `${GROUP}/${VERSION}`, kind: 'Gizmo', metadata: { name: 'g1', namespace: NS }, spec: { image: 'x' } } as never).then(() => true, () => false));
    // KubernetesObjectApi.patch defaults to strategic merge patch, which custom resources refuse (415), as on a real server.
    const smp = await failure(objects.patch({ apiVersion: `${GROUP}/${VERSION}`, kind: 'Gizmo', metadata: { name: 'g1', namespace: NS }, spec: { size: 2 } } as never));
    expect(smp).toMatchObject({ code: 415, reason: 'UnsupportedMediaType' });
    await crds.deleteCustomResourceDefinition({ name: `gizmos.${GROUP}` });
    await waitFor('the CRD to be gone', () => crds.readCustomResourceDefinition({ name: `gizmos.${GROUP}` }).then(() => false, (err: unknown) => statusOf(err).code === 404));
    expect(await failure(custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'gizmos' }))).toMatchObject({ code: 404 });
  });

  it('logs every request', () => {
    const creates = server.control.requests.filter((r) => r.method === 'POST' && r.path === `/apis/${GROUP}/${VERSION}/namespaces/${NS}/${PLURAL}`);
    expect(creates.length).toBeGreaterThan(5);
    expect(server.control.requests.some((r) => r.query['watch'] === 'true')).toBe(true);
  });
});
