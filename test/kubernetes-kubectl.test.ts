// Kubernetes mode driven by the real kubectl binary, as a user would: apply the
// CRDs and the examples, `kubectl wait` for Ready, the printer columns of
// `kubectl get`, a spec edit through `kubectl apply` (generation,
// observedGeneration, a replaced container), `kubectl delete --wait` (the
// container is gone once the resource is). The controller runs with custom
// resources as its source and the real Docker engine as its runtime.
//
// Against the real cluster of BERTH_TEST_KUBECONFIG (skipped without one
// outside CI, a failure under CI=true: see global-setup.ts). kubectl is
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
import { noEngine, noKube } from './support/provided.js';
import { cleanupByLabel, TEST_IMAGE, uniqueControllerId } from './support/engine.js';
import { managedContainers } from './support/controller.js';
import { CRD_DIR, CustomResources, deleteNamespaces, EXAMPLES_DIR, testKubeconfigPath, until, type BerthObject } from './support/kube-cluster.js';
import { startKubeController, type KubeController } from './support/kube-controller.js';

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

describe.skipIf(!KUBECTL || noEngine() || noKube())('kubectl against the API server: apply, wait, get, edit, delete', () => {
  const kubectlPath = KUBECTL!;
  const runId = randomBytes(3).toString('hex');
  const controllerId = uniqueControllerId();
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
    kubeconfigPath = testKubeconfigPath();
    kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    crs = new CustomResources(kc);
    const version = await kubectl(['version', '--client']);
    process.stdout.write(`kubectl ${kubectlPath}: ${version.stdout.trim().split('\n')[0]}\n`);
  });

  afterAll(async () => {
    await controller?.stop();
    if (kc) await deleteNamespaces(kc, namespaces).catch(() => undefined);
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
