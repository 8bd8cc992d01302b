// Kubernetes mode driven by the real kubectl binary, as a user would: apply the
// CRDs and the examples, `kubectl wait` for Ready, the printer columns of
// `kubectl get`, a spec edit through `kubectl apply` (generation,
// observedGeneration, a replaced container), `kubectl delete --wait` (the
// container is gone once the resource is). The controller runs with custom
// resources as its source and the real Docker engine as its runtime.
//
// Against BERTH_TEST_KUBECONFIG when set, else the in-process test API server
// over TLS (kubectl sends a token only over https). kubectl is
// $BERTH_TEST_KUBECTL, else the first on PATH; without one this file fails in
// CI (CI=true: .ci/run installs Debian's kubernetes-client) and is skipped,
// loudly, elsewhere.
import { execFile } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noEngine } from './support/provided.js';
import { cleanupByLabel, TEST_IMAGE, uniqueControllerId } from './support/engine.js';
import { managedContainers } from './support/controller.js';
import { CRD_DIR, CustomResources, deleteNamespaces, EXAMPLES_DIR, until, type BerthObject } from './support/kube-cluster.js';
import { startKubeController, type KubeController } from './support/kube-controller.js';
import { startTestApiServer, type TestApiServer } from './support/kube-apiserver/index.js';

function findKubectl(): string | undefined {
  const explicit = process.env['BERTH_TEST_KUBECTL'];
  if (explicit) return explicit;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'kubectl');
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const KUBECTL = findKubectl();
const IN_CI = process.env['CI'] === 'true';

if (!KUBECTL && !IN_CI) {
  const line = '!'.repeat(78);
  process.stderr.write(`\n${line}\n!!  NO kubectl on PATH: test/kubernetes-kubectl.test.ts IS SKIPPED.\n!!  Install one (Debian: apt-get install kubernetes-client) or set BERTH_TEST_KUBECTL.\n!!  (with CI=true this is a failure, not a skip)\n${line}\n\n`);
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Splits kubectl's table output into cells (columns are separated by 2+ spaces). */
function table(text: string): { header: string[]; rows: string[][] } {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const cells = (l: string) => l.trim().split(/\s{2,}/);
  return { header: cells(lines[0] ?? ''), rows: lines.slice(1).map(cells) };
}

const sleeper = (name: string, namespace: string, mode: string): BerthObject => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Instance',
  metadata: { name, namespace },
  spec: { image: TEST_IMAGE, command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"], env: [{ name: 'MODE', value: mode }], stopGracePeriodSeconds: 1 },
});

describe.runIf(!KUBECTL && IN_CI)('kubectl', () => {
  it('is on PATH (CI=true never skips)', () => {
    throw new Error("kubectl was not found on PATH (nor BERTH_TEST_KUBECTL): in CI the kubectl tests must run. .ci/run installs Debian's kubernetes-client when kubectl is missing.");
  });
});

describe.skipIf(!KUBECTL || noEngine())('kubectl against the API server: apply, wait, get, edit, delete', () => {
  const kubectlPath = KUBECTL!;
  const runId = randomBytes(3).toString('hex');
  const controllerId = uniqueControllerId();
  let server: TestApiServer | undefined;
  let kubeconfigPath = '';
  let kc: KubeConfig;
  let crs: CustomResources;
  let controller: KubeController | undefined;
  let work = '';
  let manifest = '';
  const ns = `berth-kubectl-${runId}`;
  const tenants = `tenants-${runId}`;
  const sandboxes = `sandboxes-${runId}`;
  const namespaces = [ns, tenants, sandboxes];

  const kubectl = (args: string[], timeoutMs = 120_000): Promise<Run> =>
    new Promise((resolve) => {
      execFile(kubectlPath, ['--kubeconfig', kubeconfigPath, '--cache-dir', join(work, 'cache'), ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      });
    });
  /** kubectl that must exit 0; its stdout. */
  const ok = async (args: string[], timeoutMs?: number): Promise<string> => {
    const r = await kubectl(args, timeoutMs);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  };
  const jsonpath = (args: string[], path: string) => ok([...args, '-o', `jsonpath=${path}`]);
  const containersOf = async (name: string, namespace: string) =>
    (await managedContainers(controllerId)).filter((c) => c.labels['berth.dev/name'] === name && c.labels['berth.dev/namespace'] === namespace);

  /** bots.yaml and sandboxes.yaml (berth-test/busybox:1, built by global setup), namespaces suffixed with the run id, and our own Instance. */
  const writeManifest = async (mode: string): Promise<void> => {
    const docs: unknown[] = namespaces.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'berth.dev/test': 'true' } } }));
    for (const file of ['bots.yaml', 'sandboxes.yaml']) {
      for (const d of parseAllDocuments(await readFile(join(EXAMPLES_DIR, file), 'utf8'))) {
        const o = d.toJSON() as BerthObject | null;
        if (!o?.kind) continue;
        const suffixed = `${o.metadata.namespace ?? 'default'}-${runId}`;
        expect(namespaces).toContain(suffixed);
        docs.push({ ...o, metadata: { ...o.metadata, namespace: suffixed } });
      }
    }
    docs.push(sleeper('web', ns, mode));
    await writeFile(manifest, docs.map((d) => stringify(d)).join('---\n'));
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-kubectl-'));
    manifest = join(work, 'resources.yaml');
    const external = process.env['BERTH_TEST_KUBECONFIG'];
    if (external) kubeconfigPath = external;
    else {
      server = await startTestApiServer({ tls: true, bookmarkIntervalMs: 200 });
      kubeconfigPath = server.kubeconfigPath;
    }
    kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    crs = new CustomResources(kc);
    const version = await kubectl(['version', '--client']);
    process.stdout.write(`kubectl ${kubectlPath}: ${version.stdout.trim().split('\n')[0]}\n`);
  });

  afterAll(async () => {
    await controller?.stop();
    if (kc) await deleteNamespaces(kc, namespaces).catch(() => undefined);
    await server?.close();
    await cleanupByLabel(controllerId);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('kubectl apply -f crds/ and -k crds/ succeed; the CRDs become Established', async () => {
    const files = (await ok(['apply', '-f', CRD_DIR])).trim().split('\n');
    expect(files).toHaveLength(3);
    for (const name of ['instances', 'instancepools', 'instanceclaims']) {
      expect(files.some((l) => new RegExp(`^customresourcedefinition\\.apiextensions\\.k8s\\.io/${name}\\.berth\\.dev (created|configured|unchanged)$`).test(l))).toBe(true);
    }
    // kubectl apply -k crds/ too (crds/Kustomization lists the three).
    const again = await ok(['apply', '-k', CRD_DIR]);
    expect(again.trim().split('\n')).toHaveLength(3);
    await ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd/instances.berth.dev', 'crd/instancepools.berth.dev', 'crd/instanceclaims.berth.dev']);
    const crds = table(await ok(['get', 'crds']));
    expect(crds.header[0]).toBe('NAME');
    expect(crds.rows.map((r) => r[0])).toEqual(expect.arrayContaining(['instances.berth.dev', 'instancepools.berth.dev', 'instanceclaims.berth.dev']));
  });

  it('kubectl apply -f of the examples and an Instance; the controller converges them; kubectl wait returns', async () => {
    controller = await startKubeController({ kc, controllerId });
    await writeManifest('a');
    const applied = await ok(['apply', '-f', manifest]);
    process.stdout.write(`$ kubectl apply -f resources.yaml\n${applied}`);
    for (const line of [`namespace/${ns}`, 'instance.berth.dev/alice-bot', 'instance.berth.dev/bob-bot', 'instancepool.berth.dev/runners', 'instance.berth.dev/web']) {
      expect(applied).toMatch(new RegExp(`^${line.replace(/\./g, '\\.')} created$`, 'm'));
    }
    const waited = await ok(['wait', '--for=condition=Ready', 'instance/web', '-n', ns, '--timeout=90s']);
    expect(waited.trim()).toBe('instance.berth.dev/web condition met');
    await ok(['wait', '--for=condition=Ready', 'instances', '--all', '-n', tenants, '--timeout=90s']);
    await ok(['wait', '--for=condition=Ready', 'instancepool/runners', '-n', sandboxes, '--timeout=90s']);
  });

  it('kubectl get instances / instancepools show the printer columns', async () => {
    const text = await ok(['get', 'instances', '-n', ns]);
    process.stdout.write(`$ kubectl get instances -n ${ns}\n${text}`);
    const t = table(text);
    expect(t.header).toEqual(['NAME', 'PHASE', 'READY', 'HASH', 'AGE']);
    const web = t.rows.find((r) => r[0] === 'web')!;
    const hash = await jsonpath(['get', 'instance', 'web', '-n', ns], '{.status.configHash}');
    expect(hash).not.toBe('');
    expect(web.slice(0, 4)).toEqual(['web', 'Ready', 'True', hash]);
    expect(web[4]).toMatch(/^\d+(s|m\d*s?)$/);

    const wide = table(await ok(['get', 'instances', '-n', ns, '-o', 'wide']));
    expect(wide.header).toEqual(['NAME', 'PHASE', 'READY', 'HASH', 'AGE', 'IMAGE', 'CONTAINER']);
    const containerId = await jsonpath(['get', 'instance', 'web', '-n', ns], '{.status.containerId}');
    expect(wide.rows.find((r) => r[0] === 'web')?.slice(5)).toEqual([TEST_IMAGE, containerId]);

    const all = await ok(['get', 'instances', '-A']);
    process.stdout.write(`$ kubectl get instances -A\n${all}`);
    const allT = table(all);
    expect(allT.header).toEqual(['NAMESPACE', 'NAME', 'PHASE', 'READY', 'HASH', 'AGE']);
    const mine = allT.rows.filter((r) => namespaces.includes(r[0]!)).map((r) => `${r[0]}/${r[1]} ${r[2]} ${r[3]}`).sort();
    expect(mine).toEqual([`${ns}/web Ready True`, `${tenants}/alice-bot Ready True`, `${tenants}/bob-bot Ready True`].sort());

    const pools = await ok(['get', 'instancepools', '-n', sandboxes]);
    process.stdout.write(`$ kubectl get instancepools -n ${sandboxes}\n${pools}`);
    const p = table(pools);
    expect(p.header).toEqual(['NAME', 'READY', 'MINREADY', 'CLAIMED', 'REPLICAS', 'AGE']);
    expect(p.rows.find((r) => r[0] === 'runners')?.slice(0, 5)).toEqual(['runners', '2', '2', '0', '2']);
    // Short names and categories come from discovery.
    expect(table(await ok(['get', 'ipool', '-n', sandboxes])).rows.map((r) => r[0])).toEqual(['runners']);
    expect(table(await ok(['get', 'berth', '-n', tenants])).rows.map((r) => r[0]).sort()).toEqual(['instance.berth.dev/alice-bot', 'instance.berth.dev/bob-bot']);
  });

  it('a spec edit with kubectl apply bumps generation; the container is replaced and status.observedGeneration follows', async () => {
    const before = await jsonpath(['get', 'instance', 'web', '-n', ns], '{.status.containerId}');
    expect((await containersOf('web', ns)).map((c) => c.id)).toEqual([before]);
    await writeManifest('b');
    const applied = await ok(['apply', '-f', manifest]);
    expect(applied).toMatch(/^instance\.berth\.dev\/web configured$/m);
    expect(await jsonpath(['get', 'instance', 'web', '-n', ns], '{.metadata.generation}')).toBe('2');
    expect(await jsonpath(['get', 'instance', 'web', '-n', ns], '{.spec.env[0].value}')).toBe('b');
    await until('status.observedGeneration 2', async () => ((await jsonpath(['get', 'instance', 'web', '-n', ns], '{.status.observedGeneration}')) === '2' ? true : undefined), 60_000, 200);
    await ok(['wait', '--for=condition=Ready', 'instance/web', '-n', ns, '--timeout=60s']);
    const after = await jsonpath(['get', 'instance', 'web', '-n', ns], '{.status.containerId}');
    expect(after).not.toBe(before);
    expect((await containersOf('web', ns)).map((c) => c.id)).toEqual([after]);
    expect(await jsonpath(['get', 'instance', 'web', '-n', ns], '{.status.conditions[?(@.type=="Ready")].observedGeneration}')).toBe('2');
    // The other resources were not disturbed by re-applying them.
    expect(await jsonpath(['get', 'instance', 'alice-bot', '-n', tenants], '{.metadata.generation}')).toBe('1');
  });

  it('kubectl delete --wait returns once the resource is gone, and by then its container is gone', async () => {
    expect(await containersOf('web', ns)).toHaveLength(1);
    // Sampled while kubectl waits: the resource never disappears before the container.
    const seen: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [cr, containers] = await Promise.all([crs.get('Instance', ns, 'web'), containersOf('web', ns)]);
        seen.push(`${cr ? (cr.metadata.deletionTimestamp ? 'deleting' : 'live') : 'gone'}/${containers.length}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    let deleted: string;
    try {
      deleted = await ok(['delete', 'instance', 'web', '-n', ns, '--wait=true', '--timeout=60s']);
    } finally {
      sampling = false;
      await sampler;
    }
    expect(await containersOf('web', ns)).toEqual([]);
    expect(deleted.trim()).toBe('instance.berth.dev "web" deleted');
    const gone = await kubectl(['get', 'instance', 'web', '-n', ns]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('NotFound');
    expect(seen.filter((s) => s.startsWith('gone/') && s !== 'gone/0')).toEqual([]);
    expect(seen.some((s) => s.startsWith('deleting/'))).toBe(true);
  });
});

// What kubectl relies on in the test API server, checked on the wire (no
// kubectl, no engine): server-side printing, output negotiation, OpenAPI.
describe('test API server: Table output, negotiation and OpenAPI for kubectl', () => {
  let server: TestApiServer;
  const GROUP = 'print.berth.dev';
  const CRD = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `gadgets.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind: 'Gadget', plural: 'gadgets', shortNames: ['gd'], categories: ['berth-print'] },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } },
          additionalPrinterColumns: [
            { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: 'Size', type: 'integer', jsonPath: '.spec.size', description: 'how big' },
            { name: 'Ratio', type: 'number', jsonPath: '.spec.ratio' },
            { name: 'On', type: 'boolean', jsonPath: '.spec.on' },
            { name: 'Tags', type: 'string', jsonPath: '.spec.tags' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            { name: 'Missing', type: 'string', jsonPath: '.status.nothing', priority: 1 },
            { name: 'App', type: 'string', jsonPath: '.metadata.labels.app\\.kubernetes\\.io/name', priority: 1 },
          ],
        },
      ],
    },
  };
  const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
  const call = async (path: string, init: { method?: string; accept?: string; body?: unknown; contentType?: string } = {}) => {
    const headers: Record<string, string> = { Authorization: `Bearer ${server.token}` };
    if (init.accept) headers['Accept'] = init.accept;
    if (init.body !== undefined) headers['Content-Type'] = init.contentType ?? 'application/json';
    const res = await fetch(`${server.url}${path}`, { method: init.method ?? 'GET', headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
    const buf = Buffer.from(await res.arrayBuffer());
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, type, buf, json: type === 'application/json' ? (JSON.parse(buf.toString('utf8')) as Record<string, any>) : undefined };
  };
  const base = `/apis/${GROUP}/v1/namespaces/default/gadgets`;

  beforeAll(async () => {
    server = await startTestApiServer();
    expect((await call('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { method: 'POST', body: CRD })).status).toBe(201);
    await until('gadgets served', async () => ((await call(base)).status === 200 ? true : undefined));
    const gadget = (name: string, spec: Record<string, unknown>, labels?: Record<string, string>) => ({ apiVersion: `${GROUP}/v1`, kind: 'Gadget', metadata: { name, ...(labels ? { labels } : {}) }, spec });
    expect((await call(base, { method: 'POST', body: gadget('a', { size: 3, ratio: 0.5, on: true, tags: ['x', 'y'] }, { 'app.kubernetes.io/name': 'shop' }) })).status).toBe(201);
    expect((await call(base, { method: 'POST', body: gadget('b', { size: 2.7 }) })).status).toBe(201);
    const st = await call(`${base}/a/status`, { method: 'PATCH', contentType: 'application/merge-patch+json', body: { status: { conditions: [{ type: 'Synced', status: 'False' }, { type: 'Ready', status: 'True' }] } } });
    expect(st.status).toBe(200);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('a list as a meta.k8s.io/v1 Table: Name, then the printer columns; cells by JSONPath; PartialObjectMetadata rows', async () => {
    const r = await call(base, { accept: TABLE });
    expect(r.status).toBe(200);
    const t = r.json!;
    expect(t).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: server.control.resourceVersion() } });
    expect(t['columnDefinitions'][0]).toMatchObject({ name: 'Name', type: 'string', format: 'name', priority: 0 });
    expect(t['columnDefinitions'].map((c: { name: string; type: string; priority: number }) => `${c.name}:${c.type}:${c.priority}`)).toEqual([
      'Name:string:0',
      'Ready:string:0',
      'Size:integer:0',
      'Ratio:number:0',
      'On:boolean:0',
      'Tags:string:0',
      'Age:date:0',
      'Missing:string:1',
      'App:string:1',
    ]);
    expect(t['columnDefinitions'][2].description).toBe('how big');
    expect(t['columnDefinitions'][1].description).toBe('Custom resource definition column (in JSONPath format): .status.conditions[?(@.type=="Ready")].status');
    const [a, b] = t['rows'];
    expect(a.cells).toEqual(['a', 'True', 3, 0.5, true, '["x","y"]', expect.stringMatching(/^\d+s$/), null, 'shop']);
    expect(b.cells).toEqual(['b', null, 2, null, null, null, expect.stringMatching(/^\d+s$/), null, null]);
    expect(a.object).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'a', namespace: 'default' } });
    expect(a.object.spec).toBeUndefined();
    const full = (await call(`${base}?includeObject=Object`, { accept: TABLE })).json!;
    expect(full['rows'][0].object).toMatchObject({ apiVersion: `${GROUP}/v1`, kind: 'Gadget', spec: { size: 3 } });
    expect((await call(`${base}?includeObject=None`, { accept: TABLE })).json!['rows'][0].object).toBeNull();
    expect((await call(`${base}?includeObject=Everything`, { accept: TABLE })).status).toBe(400);
  });

  it('one object as a one-row Table; the first acceptable media range wins; 406 when none is', async () => {
    const one = (await call(`${base}/a`, { accept: TABLE })).json!;
    expect(one['rows']).toHaveLength(1);
    expect(one['metadata'].resourceVersion).toBe((await call(`${base}/a`)).json!['metadata'].resourceVersion);
    expect((await call(base, { accept: 'application/json;as=Table;v=v1beta1;g=meta.k8s.io' })).json).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1beta1' });
    // Protobuf is not served; an unknown conversion is passed over: plain JSON.
    expect((await call(base, { accept: 'application/vnd.kubernetes.protobuf,application/json' })).json).toMatchObject({ kind: 'GadgetList' });
    expect((await call(base, { accept: 'application/json;as=Frobnicated;v=v1;g=meta.k8s.io, application/json' })).json).toMatchObject({ kind: 'GadgetList' });
    expect((await call(base, { accept: 'application/json;q=0.5, application/json;as=Table;v=v1;g=meta.k8s.io' })).json).toMatchObject({ kind: 'Table' });
    const refused = await call(base, { accept: 'application/vnd.kubernetes.protobuf' });
    expect(refused.status).toBe(406);
    expect(refused.json).toMatchObject({ kind: 'Status', reason: 'NotAcceptable', code: 406 });
    expect((await call(base, { accept: 'application/yaml' })).buf.toString()).toContain('kind: GadgetList');
    expect((await call(base, { accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io' })).json).toMatchObject({
      kind: 'PartialObjectMetadataList',
      items: [{ kind: 'PartialObjectMetadata', metadata: { name: 'a' } }, { kind: 'PartialObjectMetadata', metadata: { name: 'b' } }],
    });
    expect((await call(`${base}/a`, { accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io' })).status).toBe(406);
  });

  it('built-in types print too: namespaces (Name, Status, Age), CRDs (Name, Created At)', async () => {
    const ns = (await call('/api/v1/namespaces/default', { accept: TABLE })).json!;
    expect(ns['columnDefinitions'].map((c: { name: string }) => c.name)).toEqual(['Name', 'Status', 'Age']);
    expect(ns['rows'][0].cells).toEqual(['default', 'Active', expect.stringMatching(/^\d+s$/)]);
    const crd = (await call(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.${GROUP}`, { accept: TABLE })).json!;
    expect(crd['columnDefinitions'].map((c: { name: string }) => c.name)).toEqual(['Name', 'Created At']);
    expect(crd['rows'][0].cells[1]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  });

  it('a watch as Tables: column definitions in the first event only', async () => {
    const rv = (await call(base)).json!['metadata'].resourceVersion as string;
    const ac = new AbortController();
    const res = await fetch(`${server.url}${base}?watch=true&resourceVersion=${rv}`, { headers: { Authorization: `Bearer ${server.token}`, Accept: TABLE }, signal: ac.signal });
    const reader = res.body!.getReader();
    for (const size of [4, 5]) await call(`${base}/b`, { method: 'PATCH', contentType: 'application/merge-patch+json', body: { spec: { size } } });
    let text = '';
    while (text.split('\n').filter(Boolean).length < 2) text += Buffer.from((await reader.read()).value!).toString('utf8');
    ac.abort();
    const events = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; object: Record<string, any> });
    expect(events.map((e) => [e.type, e.object['kind'], e.object['rows'][0].cells[2], Boolean(e.object['columnDefinitions'])])).toEqual([
      ['MODIFIED', 'Table', 4, true],
      ['MODIFIED', 'Table', 5, false],
    ]);
  });

  it('OpenAPI: /openapi/v3 indexes the group versions; a PATCH operation declares fieldValidation; /openapi/v2 in protobuf', async () => {
    const index = (await call('/openapi/v3', { accept: 'application/json' })).json!;
    const url = index['paths'][`apis/${GROUP}/v1`].serverRelativeURL as string;
    expect(url).toMatch(new RegExp(`^/openapi/v3/apis/${GROUP.replace(/\./g, '\\.')}/v1\\?hash=[0-9A-F]+$`));
    expect(Object.keys(index['paths'])).toEqual(expect.arrayContaining(['api/v1', 'apis/apiextensions.k8s.io/v1', 'apis/coordination.k8s.io/v1']));
    const doc = (await call(url, { accept: 'application/json' })).json!;
    const patch = doc['paths'][`/apis/${GROUP}/v1/namespaces/{namespace}/gadgets/{name}`].patch;
    expect(patch['x-kubernetes-group-version-kind']).toEqual({ group: GROUP, version: 'v1', kind: 'Gadget' });
    expect(patch.parameters.map((p: { name: string }) => p.name)).toContain('fieldValidation');
    expect(Object.keys(patch.requestBody.content)).toEqual(['application/json-patch+json', 'application/merge-patch+json']);
    expect(doc['components'].schemas[`dev.berth.print.v1.Gadget`]['x-kubernetes-group-version-kind']).toEqual([{ group: GROUP, kind: 'Gadget', version: 'v1' }]);
    const core = (await call('/openapi/v3/api/v1')).json!;
    expect(Object.keys(core['paths']['/api/v1/namespaces/{namespace}/pods/{name}'].patch.requestBody.content)).toContain('application/strategic-merge-patch+json');
    const v2 = await call('/openapi/v2', { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' });
    expect(v2.type).toBe('application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    expect(v2.buf.subarray(0, 5)).toEqual(Buffer.from([0x0a, 0x03, 0x32, 0x2e, 0x30])); // field 1: "2.0"
    expect((await call('/openapi/v2', { accept: 'application/json' })).json).toMatchObject({ swagger: '2.0', paths: {} });
    expect((await call('/openapi/v3/apis/nothing.example.com/v1')).status).toBe(404);
  });

  it('rejects a CRD whose printer column is not a simple JSONPath or has an unknown type', async () => {
    const bad = structuredClone(CRD) as any;
    bad.metadata.name = `things.${GROUP}`;
    bad.spec.names = { kind: 'Thing', plural: 'things' };
    bad.spec.versions[0].additionalPrinterColumns = [
      { name: 'A', type: 'string', jsonPath: 'status.phase' },
      { name: 'B', type: 'color', jsonPath: '.status.phase' },
    ];
    const r = await call('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { method: 'POST', body: bad });
    expect(r.status).toBe(422);
    expect(r.json!['details'].causes.map((c: { field: string }) => c.field)).toEqual(['spec.versions[0].additionalPrinterColumns[0].jsonPath', 'spec.versions[0].additionalPrinterColumns[1].type']);
  });
});
