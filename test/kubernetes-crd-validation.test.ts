// The CRDs of crds/ on the real apiserver refuse what `berth validate`
// refuses: every spec of the shared corpus (test/fixtures/invalid-specs, also
// checked offline by src/spec/invalid-corpus.test.ts) is rejected by
// `kubectl apply --dry-run=server` with the same message (issue 14, item 9:
// the CRD schema stored "12 parsecs", "lots", minReady > maxSize, two probe
// kinds and berth.dev/ labels), while the examples pass.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invalidCorpus } from './support/invalid-corpus.js';
import { applyCrds, deleteNamespaces, freshNamespace, testKubeConfig, testKubeconfigPath } from './support/kube-cluster.js';
import { noKube } from './support/provided.js';

const KUBECTL = process.env['BERTH_TEST_KUBECTL'] ?? 'kubectl';

function kubectl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(KUBECTL, ['--kubeconfig', testKubeconfigPath(), ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

describe.skipIf(noKube())('CRD validation on the apiserver matches berth validate', () => {
  const kc = noKube() ? undefined! : testKubeConfig();
  let ns = '';
  let dir = '';

  beforeAll(async () => {
    await applyCrds(kc);
    ns = await freshNamespace(kc, 'berth-crd-validation');
    dir = await mkdtemp(join(tmpdir(), 'berth-crd-validation-'));
  });

  afterAll(async () => {
    if (ns) await deleteNamespaces(kc, [ns]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const c of invalidCorpus()) {
    it(`kubectl apply --dry-run=server refuses ${c.file}`, async () => {
      const file = join(dir, c.file);
      await writeFile(file, c.text);
      const r = await kubectl(['apply', '--dry-run=server', '-n', ns, '-f', file]);
      expect(r.code, r.stdout).not.toBe(0);
      expect(r.stderr).toMatch(/is invalid/);
      expect(r.stderr).toMatch(c.expect);
    });
  }

  it('kubectl apply --dry-run=server accepts valid specs (the rules refuse only what berth refuses)', async () => {
    const file = join(dir, 'valid.yaml');
    await writeFile(
      file,
      [
        'apiVersion: berth.dev/v1alpha1\nkind: Instance\nmetadata: {name: ok}\nspec: {image: x, resources: {memory: 512Mi, cpus: "1.5"}, labels: {team: a}, healthCheck: {tcp: {port: 80}}}',
        'apiVersion: berth.dev/v1alpha1\nkind: InstancePool\nmetadata: {name: ok}\nspec: {minReady: 2, maxSize: 2, template: {image: x, resources: {memory: 1073741824, cpus: 500m}}}',
      ].join('\n---\n'),
    );
    const r = await kubectl(['apply', '--dry-run=server', '-n', ns, '-f', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/instance.berth.dev\/ok created \(server dry run\)/);
  });

  it('an InstanceClaim spec is immutable: kubectl apply of a changed one is refused, the same one again is unchanged', async () => {
    const claim = (spec: string): string => `apiVersion: berth.dev/v1alpha1\nkind: InstanceClaim\nmetadata: {name: once}\nspec: ${spec}\n`;
    const file = join(dir, 'claim.yaml');
    await writeFile(file, claim('{poolRef: {name: p}}'));
    expect((await kubectl(['apply', '-n', ns, '-f', file])).code).toBe(0);
    expect((await kubectl(['apply', '-n', ns, '-f', file])).stdout).toMatch(/unchanged/);
    for (const spec of ['{poolRef: {name: other}}', '{poolRef: {name: p}, ttlSeconds: 60}']) {
      await writeFile(file, claim(spec));
      const r = await kubectl(['apply', '-n', ns, '-f', file]);
      expect(r.code, r.stdout).not.toBe(0);
      expect(r.stderr).toMatch(/an InstanceClaim spec is immutable: delete the claim and make a new one/);
    }
  });
});
