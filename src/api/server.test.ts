import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecRequest } from '../runtime/types.js';
import { InstanceSchema } from '../spec/schema.js';
import { assertListenAllowed, isLoopbackHost } from './listen.js';
import { openWatch, startHarness, type Harness } from './testing/harness.js';

const NS = '/apis/berth.dev/v1alpha1/namespaces/default';
const WEB_YAML = `apiVersion: berth.dev/v1alpha1
kind: Instance
metadata:
  name: web
spec:
  image: nginx:1.27
  env:
    - name: MODE
      value: prod
`;
const webJson = (image = 'nginx:1.27') => ({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web', namespace: 'default' }, spec: { image } });

let h: Harness;
afterEach(async () => {
  await h?.stop();
});

const send = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(h.base + path, {
    method,
    headers: { ...(typeof body === 'string' ? {} : body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });

describe('apply, get, list', () => {
  it('creates from YAML (201), and an unchanged re-apply answers 200 with the same resourceVersion', async () => {
    h = await startHarness();
    const created = await send('POST', `${NS}/instances`, WEB_YAML, { 'Content-Type': 'application/yaml' });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-berth-change')).toBe('created');
    const first = (await created.json()) as any;
    expect(first.metadata).toMatchObject({ name: 'web', namespace: 'default', generation: 1 });
    expect(first.spec.env).toEqual([{ name: 'MODE', value: 'prod' }]);

    // A text/plain body (what fetch sends for a string, and what a web page can send cross-site) is refused.
    const plain = await send('PUT', `${NS}/instances/web`, WEB_YAML);
    expect(plain.status).toBe(415);
    expect(((await plain.json()) as any).reason).toBe('UnsupportedMediaType');
    const again = await send('PUT', `${NS}/instances/web`, WEB_YAML, { 'Content-Type': 'text/yaml' });
    expect(again.status).toBe(200);
    expect(again.headers.get('x-berth-change')).toBe('unchanged');
    expect(((await again.json()) as any).metadata.resourceVersion).toBe(first.metadata.resourceVersion);

    const changed = await send('PUT', `${NS}/instances/web`, webJson('nginx:1.28'));
    expect(changed.status).toBe(200);
    expect(changed.headers.get('x-berth-change')).toBe('updated');
    const third = (await changed.json()) as any;
    expect(third.metadata.generation).toBe(2);
    expect(Number(third.metadata.resourceVersion)).toBeGreaterThan(Number(first.metadata.resourceVersion));
  });

  it('gets one object and lists per namespace and across namespaces', async () => {
    h = await startHarness();
    expect((await send('PUT', `${NS}/instances/web`, webJson())).status).toBe(201);
    const other = { ...webJson(), metadata: { name: 'api', namespace: 'team-b' } };
    expect((await send('POST', '/apis/berth.dev/v1alpha1/namespaces/team-b/instances', other)).status).toBe(201);

    const one = (await (await send('GET', `${NS}/instances/web`)).json()) as any;
    expect(one).toMatchObject({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web' }, spec: { image: 'nginx:1.27' } });

    const list = (await (await send('GET', `${NS}/instances`)).json()) as any;
    expect(list.kind).toBe('InstanceList');
    expect(list.metadata.resourceVersion).toBe(h.deps.store.resourceVersion);
    expect(list.items.map((o: any) => o.metadata.name)).toEqual(['web']);

    const all = (await (await send('GET', '/apis/berth.dev/v1alpha1/instances')).json()) as any;
    expect(all.items.map((o: any) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual(['default/web', 'team-b/api']);

    const selected = (await (await send('GET', '/apis/berth.dev/v1alpha1/instances?fieldSelector=metadata.name%3Dapi')).json()) as any;
    expect(selected.items.map((o: any) => o.metadata.name)).toEqual(['api']);

    const status = await send('GET', `${NS}/instances/web/status`);
    expect(status.status).toBe(200);
  });

  it('lists by labelSelector as Kubernetes does; a bad selector is 400; a dryRun write is refused and writes nothing', async () => {
    h = await startHarness();
    const labelled = (name: string, labels: Record<string, string>) => ({ ...webJson(), metadata: { name, labels } });
    for (const [name, labels] of [['a', { app: 'x', tier: 'web' }], ['b', { app: 'y' }], ['c', {}]] as const) expect((await send('PUT', `${NS}/instances/${name}`, labelled(name, labels))).status).toBe(201);
    const names = async (selector: string) => ((await (await send('GET', `${NS}/instances?labelSelector=${encodeURIComponent(selector)}`)).json()) as any).items.map((o: any) => o.metadata.name);
    expect(await names('app=x')).toEqual(['a']);
    expect(await names('app!=x')).toEqual(['b', 'c']);
    expect(await names('app in (x, y),!tier')).toEqual(['b']);
    expect(await names('app notin (y)')).toEqual(['a', 'c']);
    expect(await names('app')).toEqual(['a', 'b']);
    expect(await names('app=nothing')).toEqual([]);
    const bad = await send('GET', `${NS}/instances?labelSelector=${encodeURIComponent('app in x')}`);
    expect([bad.status, ((await bad.json()) as any).message]).toEqual([400, 'invalid labelSelector "app in x": expected key=value, key!=value, key in (a,b), key notin (a,b), key or !key']);
    const dry = await send('PUT', `${NS}/instances/d?dryRun=All`, labelled('d', {}));
    expect(dry.status).toBe(400);
    expect((await send('DELETE', `${NS}/instances/a?dryRun=All`)).status).toBe(400);
    expect(h.deps.store.list().map((e) => e.object.metadata.name)).toEqual(['a', 'b', 'c']);
  });

  it('persists applied resources in the state dir (they survive a restart)', async () => {
    h = await startHarness();
    await send('PUT', `${NS}/instances/web`, webJson());
    const { ResourceStore } = await import('../controller/resource-store.js');
    const { ApiSource } = await import('../sources/api-source.js');
    const store = new ResourceStore();
    const dir = (h.deps.apiSource as unknown as { file: string }).file.replace(/\/applied\.json$/, '');
    expect(await new ApiSource(store, dir).load(() => undefined)).toBe(1);
  });
});

describe('errors are metav1.Status', () => {
  it('422 names the failing field paths', async () => {
    h = await startHarness();
    const res = await send('PUT', `${NS}/instances/web`, { ...webJson(), spec: { imagePullPolicy: 'Sometimes', colour: 'blue' } });
    expect(res.status).toBe(422);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Invalid', code: 422 });
    const fields = body.details.causes.map((c: any) => c.field);
    expect(fields).toEqual(expect.arrayContaining(['spec.image', 'spec.imagePullPolicy', 'spec.colour']));
    expect(body.message).toContain('Instance "web" is invalid');
    expect(body.message).toContain('spec.image: required field is missing');
  });

  it('refuses what the controller policy does not allow, with the field', async () => {
    h = await startHarness();
    const res = await send('PUT', `${NS}/instances/web`, { ...webJson(), spec: { image: 'x', security: { privileged: true } } });
    expect(res.status).toBe(422);
    expect(((await res.json()) as any).details.causes[0].field).toBe('spec.security.privileged');
  });

  it('400 when the body disagrees with the URL, or is not parseable', async () => {
    h = await startHarness();
    const ns = await send('PUT', `${NS}/instances/web`, { ...webJson(), metadata: { name: 'web', namespace: 'other' } });
    expect(ns.status).toBe(400);
    expect(((await ns.json()) as any).message).toMatch(/namespace of the object \(other\) does not match .* \(default\)/);
    const name = await send('PUT', `${NS}/instances/api`, webJson());
    expect(name.status).toBe(400);
    expect(((await name.json()) as any).reason).toBe('BadRequest');
    const kind = await send('PUT', `${NS}/instancepools/web`, webJson());
    expect(kind.status).toBe(400);
    const garbage = await send('POST', `${NS}/instances`, '{"apiVersion": ', { 'Content-Type': 'application/json' });
    expect(garbage.status).toBe(400);
    expect(((await garbage.json()) as any).message).toMatch(/cannot parse the request body as JSON/);
  });

  it('413 for a body over 1 MiB', async () => {
    h = await startHarness();
    const huge = JSON.stringify({ ...webJson(), spec: { image: 'x'.repeat(1024 * 1024 + 10) } });
    const res = await send('PUT', `${NS}/instances/web`, huge, { 'Content-Type': 'application/json' });
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).reason).toBe('RequestEntityTooLarge');
  });

  it('409 naming the spec file when a file owns the resource, for apply and delete', async () => {
    h = await startHarness();
    h.deps.store.apply(InstanceSchema.parse(webJson()), { source: 'file', file: 'specs/web.yaml', line: 3 });
    const put = await send('PUT', `${NS}/instances/web`, webJson('nginx:2'));
    expect(put.status).toBe(409);
    const body = (await put.json()) as any;
    expect(body).toMatchObject({ kind: 'Status', reason: 'Conflict', code: 409 });
    expect(body.message).toContain('specs/web.yaml:3');
    const del = await send('DELETE', `${NS}/instances/web`);
    expect(del.status).toBe(409);
    expect(h.deps.store.get({ kind: 'Instance', namespace: 'default', name: 'web' })?.resource.spec).toMatchObject({ image: 'nginx:1.27' });
  });

  it('409 when a resourceVersion precondition is stale', async () => {
    h = await startHarness();
    await send('PUT', `${NS}/instances/web`, webJson());
    const res = await send('PUT', `${NS}/instances/web`, { ...webJson('nginx:2'), metadata: { name: 'web', resourceVersion: '999' } });
    expect(res.status).toBe(409);
    expect(((await res.json()) as any).message).toContain('the object has been modified');
  });

  it('takes no uid or generation from a body; 409 when a uid precondition names another object', async () => {
    h = await startHarness();
    const created = (await (await send('POST', `${NS}/instances`, { ...webJson(), metadata: { name: 'web', uid: 'copied-from-elsewhere', generation: 9 } })).json()) as any;
    expect(created.metadata.uid).not.toBe('copied-from-elsewhere');
    expect(created.metadata.generation).toBe(1);
    const same = await send('PUT', `${NS}/instances/web`, { ...webJson('nginx:2'), metadata: { name: 'web', uid: created.metadata.uid } });
    expect(same.status).toBe(200);
    const other = await send('PUT', `${NS}/instances/web`, { ...webJson('nginx:3'), metadata: { name: 'web', uid: 'an-earlier-web' } });
    expect(other.status).toBe(409);
    expect(((await other.json()) as any).message).toContain('might have been deleted and then recreated');
    expect(h.deps.store.get({ kind: 'Instance', namespace: 'default', name: 'web' })?.resource.spec).toMatchObject({ image: 'nginx:2' });
  });

  it('404 for unknown paths and objects, 405 for a wrong method', async () => {
    h = await startHarness();
    const unknown = await send('GET', '/apis/berth.dev/v1alpha1/namespaces/default/widgets');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as any).kind).toBe('Status');
    const missing = await send('GET', `${NS}/instances/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).message).toBe('instances.berth.dev "nope" not found');
    const wrong = await send('PATCH', `${NS}/instances/web`, {});
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, PUT, DELETE');
    expect(((await wrong.json()) as any).reason).toBe('MethodNotAllowed');
    expect((await send('POST', '/apis/berth.dev/v1alpha1/instances', webJson())).status).toBe(405);
    expect((await send('PUT', `${NS}/instances/web/status`, {})).status).toBe(405);
  });
});

describe('delete', () => {
  it('deletes, then answers 404', async () => {
    h = await startHarness();
    await send('PUT', `${NS}/instances/web`, webJson());
    const del = await send('DELETE', `${NS}/instances/web`);
    expect(del.status).toBe(200);
    expect(((await del.json()) as any)).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'web' } });
    expect((await send('GET', `${NS}/instances/web`)).status).toBe(404);
    const again = await send('DELETE', `${NS}/instances/web`);
    expect(again.status).toBe(404);
    expect(((await again.json()) as any).reason).toBe('NotFound');
  });
});

describe('watch', () => {
  it('streams ADDED for what exists, then MODIFIED on setStatus, then DELETED', async () => {
    h = await startHarness();
    await send('PUT', `${NS}/instances/web`, webJson());
    const w = await openWatch(`${h.base}${NS}/instances?watch=true`);
    expect(w.statusCode).toBe(200);
    const added = await w.next();
    expect(added.type).toBe('ADDED');
    expect(added.object.metadata.name).toBe('web');

    h.deps.store.setStatus({ kind: 'Instance', namespace: 'default', name: 'web' }, { phase: 'running', restartCount: 0, conditions: [] });
    const modified = await w.next();
    expect(modified.type).toBe('MODIFIED');
    expect(modified.object.status.phase).toBe('running');

    await send('DELETE', `${NS}/instances/web`);
    const deleted = await w.next();
    expect(deleted.type).toBe('DELETED');
    expect(deleted.object.metadata.name).toBe('web');
    w.close();
  });

  it('with a resourceVersion, skips the initial ADDED; filters by fieldSelector and kind', async () => {
    h = await startHarness();
    await send('PUT', `${NS}/instances/web`, webJson());
    await send('PUT', `${NS}/instances/api`, { ...webJson(), metadata: { name: 'api' } });
    const rv = h.deps.store.resourceVersion;
    const w = await openWatch(`${h.base}${NS}/instances?watch=1&resourceVersion=${rv}&fieldSelector=metadata.name%3Dapi`);
    await send('PUT', `${NS}/instances/web`, webJson('nginx:2'));
    await send('PUT', `${NS}/instances/api`, { ...webJson('nginx:3'), metadata: { name: 'api' } });
    const e = await w.next();
    expect(e).toMatchObject({ type: 'MODIFIED', object: { metadata: { name: 'api' }, spec: { image: 'nginx:3' } } });
    expect(w.pending()).toEqual([]);
    w.close();
  });

  it('unsubscribes when the client goes away', async () => {
    h = await startHarness();
    const w = await openWatch(`${h.base}${NS}/instances?watch=true`);
    const listeners = () => (h.deps.store as unknown as { listeners: Set<unknown> }).listeners.size;
    expect(listeners()).toBe(1);
    w.close();
    await expect.poll(listeners).toBe(0);
  });

  it('close() ends open watches', async () => {
    h = await startHarness();
    const w = await openWatch(`${h.base}${NS}/instances?watch=true`);
    await h.api.close();
    await w.ended;
  });
});

describe('events', () => {
  it('lists and watches events, filtered by namespace and involvedObject.name', async () => {
    h = await startHarness();
    const { recorder } = h.deps;
    recorder.record({ type: 'Normal', reason: 'Created', message: 'created container abc', involvedObject: { kind: 'Instance', namespace: 'default', name: 'web' } });
    recorder.record({ type: 'Normal', reason: 'Created', message: 'created container def', involvedObject: { kind: 'Instance', namespace: 'other', name: 'web' } });
    recorder.record({ type: 'Warning', reason: 'BackOff', message: 'restarting', involvedObject: { kind: 'Instance', namespace: 'default', name: 'api' } });

    const list = (await (await send('GET', `${NS}/events?fieldSelector=involvedObject.name%3Dweb`)).json()) as any;
    expect(list.kind).toBe('EventList');
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({ kind: 'Event', reason: 'Created', involvedObject: { kind: 'Instance', name: 'web', namespace: 'default' }, count: 1 });
    const all = (await (await send('GET', '/apis/berth.dev/v1alpha1/events')).json()) as any;
    expect(all.items).toHaveLength(3);

    const w = await openWatch(`${h.base}${NS}/events?watch=true&resourceVersion=${list.metadata.resourceVersion}&fieldSelector=involvedObject.name%3Dapi`);
    expect((await w.next()).object.reason).toBe('BackOff'); // recorded after rv 1
    recorder.record({ type: 'Warning', reason: 'BackOff', message: 'restarting', involvedObject: { kind: 'Instance', namespace: 'default', name: 'api' } });
    const repeat = await w.next();
    expect(repeat.type).toBe('MODIFIED');
    expect(repeat.object.count).toBe(2);
    w.close();
  });

  it('400 for an unsupported field selector', async () => {
    h = await startHarness();
    const res = await send('GET', `${NS}/events?fieldSelector=spec.foo%3Dbar`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).message).toContain('field label not supported: spec.foo');
  });
});

describe('exec and log (fake runtime: only these two methods)', () => {
  const calls: { id: string; req: ExecRequest }[] = [];
  const runtime = {
    exec: async (id: string, req: ExecRequest) => {
      calls.push({ id, req });
      const out = req.command.join(' ');
      return { exitCode: 3, stdout: out.repeat(10), stderr: 'warn', durationMs: 12, timedOut: false, truncated: false };
    },
    logs: async (_id: string, opts: { tail?: number; follow?: boolean }) => Readable.from([`tail=${opts.tail} follow=${opts.follow}\n`, 'line 2\n']),
  };

  async function withContainer(): Promise<void> {
    await send('PUT', `${NS}/instances/web`, webJson());
    h.deps.store.setStatus({ kind: 'Instance', namespace: 'default', name: 'web' }, { phase: 'running', containerId: 'c0ffee1234567890', restartCount: 0, conditions: [] });
  }

  it('409 when the instance has no container, 404 when it does not exist', async () => {
    h = await startHarness({ runtime });
    expect((await send('POST', `${NS}/instances/web/exec`, { command: ['ls'] })).status).toBe(404);
    await send('PUT', `${NS}/instances/web`, webJson());
    const res = await send('POST', `${NS}/instances/web/exec`, { command: ['ls'] });
    expect(res.status).toBe(409);
    expect(((await res.json()) as any).message).toContain('instance has no running container');
  });

  it('runs with the default timeout and caps output', async () => {
    calls.length = 0;
    h = await startHarness({ runtime, execCapBytes: 8 });
    await withContainer();
    const res = await send('POST', `${NS}/instances/web/exec`, { command: ['echo', 'hi'] });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ exitCode: 3, stdout: 'echo hie', stderr: 'warn', durationMs: 12, timedOut: false, truncated: true });
    expect(calls[0]).toMatchObject({ id: 'c0ffee1234567890', req: { command: ['echo', 'hi'], timeoutMs: 30_000, outputCapBytes: 8 } });
  });

  it('422 for a bad exec request (timeout above 600 s, unknown field)', async () => {
    h = await startHarness({ runtime });
    await withContainer();
    const res = await send('POST', `${NS}/instances/web/exec`, { command: ['ls'], timeoutSeconds: 601, tty: true });
    expect(res.status).toBe(422);
    const fields = ((await res.json()) as any).details.causes.map((c: any) => c.field);
    expect(fields).toEqual(['timeoutSeconds', 'tty']);
  });

  it('streams logs with tailLines and follow', async () => {
    h = await startHarness({ runtime });
    await withContainer();
    const res = await send('GET', `${NS}/instances/web/log?tailLines=5&follow=true`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('tail=5 follow=true\nline 2\n');
    expect((await send('GET', `${NS}/instances/web/log?tailLines=-2`)).status).toBe(400);
  });
});

describe('health, readiness, metrics, auth', () => {
  it('serves /healthz, /readyz (503 when not ready) and /metrics with the request histogram', async () => {
    h = await startHarness();
    expect(await (await send('GET', '/healthz')).text()).toBe('ok\n');
    expect((await send('GET', '/readyz')).status).toBe(200);
    h.ready.value = false;
    const notReady = await send('GET', '/readyz');
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as any).kind).toBe('Status');
    await send('GET', `${NS}/instances`);
    await send('GET', `${NS}/instances/nope`);
    const metrics = await send('GET', '/metrics');
    expect(metrics.headers.get('content-type')).toBe(h.deps.registry.contentType);
    const text = await metrics.text();
    expect(text).toContain('berth_api_request_duration_seconds_count{verb="list",resource="instances",code="200"} 1');
    expect(text).toContain('berth_api_request_duration_seconds_count{verb="get",resource="instances",code="404"} 1');
  });

  it('needs the bearer token everywhere but /healthz and /readyz', async () => {
    h = await startHarness({ token: 's3cret' });
    expect((await send('GET', '/healthz')).status).toBe(200);
    expect((await send('GET', '/readyz')).status).toBe(200);
    const none = await send('GET', `${NS}/instances`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect(((await none.json()) as any)).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    expect((await send('GET', `${NS}/instances`, undefined, { Authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await send('GET', '/metrics')).status).toBe(401);
    expect((await send('GET', `${NS}/instances`, undefined, { Authorization: 'Bearer s3cret' })).status).toBe(200);
    const w = await openWatch(`${h.base}${NS}/instances?watch=true`);
    expect(w.statusCode).toBe(401);
    w.close();
  });
});

describe('assertListenAllowed', () => {
  it('allows loopback without a token file', () => {
    for (const host of ['127.0.0.1', 'localhost', '::1', '[::1]', '127.0.0.53']) {
      expect(isLoopbackHost(host)).toBe(true);
      expect(() => assertListenAllowed(host)).not.toThrow();
    }
  });
  it('refuses any other address without a token file, saying what to do', () => {
    for (const host of ['0.0.0.0', '::', '', '192.168.1.10', 'example.com']) {
      expect(() => assertListenAllowed(host)).toThrow(/refusing to listen on .* without authentication.*--token-file/);
    }
    expect(() => assertListenAllowed('0.0.0.0', '/etc/berth/token')).not.toThrow();
  });
});
