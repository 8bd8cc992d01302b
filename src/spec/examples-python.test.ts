// The code-runner example (examples/code-runner.yaml, examples/run-code.sh,
// scripts/build-python-image.sh): the pool loads, is a hardened sandbox gated
// by an interpreter probe, and the three files agree on the image, the pool and
// its namespace. (Running it for real needs the engine and a local image build.)
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { desiredPool } from '../reconcile/desired.js';
import { loadSpecPaths } from './load.js';
import type { InstancePool } from './schema.js';

const root = (path: string) => relative(process.cwd(), fileURLToPath(new URL(`../../${path}`, import.meta.url)));
const IMAGE = 'berth-examples/python:3';

async function pool(): Promise<InstancePool> {
  const r = await loadSpecPaths([root('examples/code-runner.yaml')]);
  expect(r.errors.map(String)).toEqual([]);
  expect(r.resources).toHaveLength(1);
  const resource = r.resources[0]!.resource;
  if (resource.kind !== 'InstancePool') throw new Error(`expected an InstancePool, got ${resource.kind}`);
  return resource;
}

describe('examples/code-runner.yaml', () => {
  it('is the python-runners pool in sandboxes, warm and bounded', async () => {
    const p = await pool();
    expect(`${p.metadata.namespace}/${p.metadata.name}`).toBe('sandboxes/python-runners');
    expect(p.spec).toMatchObject({ minReady: 2, maxSize: 6, recycle: { policy: 'Replace' }, claimTimeoutSeconds: 10, maxAgeSeconds: 3600, idleTimeoutSeconds: 600 });
    expect(desiredPool(p).hash.hash).toMatch(/^v1-/);
  });

  it('runs the locally built image, never pulled, as a hardened sandbox', async () => {
    const t = (await pool()).spec.template;
    expect(t.image).toBe(IMAGE);
    expect(t.imagePullPolicy).toBe('Never');
    expect(t).toMatchObject({ network: 'none', user: '65534', resources: { cpus: '0.5', memory: '128Mi', pids: 64 } });
    expect(t.security).toMatchObject({ readOnlyRootFilesystem: true, capDrop: ['ALL'], noNewPrivileges: true, privileged: false });
    expect(t.mounts).toEqual([{ type: 'tmpfs', target: '/tmp', readOnly: false }]);
    // PID 1 stays up until SIGTERM and then exits at once.
    expect(t.command?.[0]).toBe('python3');
    expect(t.command?.join(' ')).toMatch(/SIGTERM/);
  });

  it('is Ready only when the interpreter runs', async () => {
    const h = (await pool()).spec.template.healthCheck;
    expect(h?.exec?.command).toEqual(['python3', '-c', "print('HEALTH_OK')"]);
    expect(h?.periodSeconds).toBe(5);
  });
});

describe('the code-runner files agree', () => {
  it('run-code.sh claims from that pool and namespace, releases on exit, and runs python3', async () => {
    const script = await readFile(root('examples/run-code.sh'), 'utf8');
    expect(script).toContain('pool=${RUN_POOL:-python-runners}');
    expect(script).toContain('ns=${RUN_NAMESPACE:-sandboxes}');
    expect(script).toMatch(/^trap release EXIT$/m);
    expect(script).toContain('-- python3 -c "$code"');
  });

  it('build-python-image.sh builds the image the pool runs, and setup.sh calls it after the test images', async () => {
    const build = await readFile(root('scripts/build-python-image.sh'), 'utf8');
    expect(build).toContain(`IMAGE=${IMAGE}\n`);
    const setup = (await readFile(root('scripts/setup.sh'), 'utf8')).split('\n');
    const testImages = setup.indexOf('bash scripts/build-test-images.sh');
    const pythonImage = setup.indexOf('bash scripts/build-python-image.sh');
    expect(testImages).toBeGreaterThanOrEqual(0);
    expect(pythonImage).toBeGreaterThan(testImages);
  });
});
