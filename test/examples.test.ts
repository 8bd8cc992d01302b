// The seed workloads of examples/, end to end on the real engine: each
// example's README block (examples/README.md) is read from the file and run
// as written, with `berth` on the PATH, from a copy of the checkout's
// examples/ that a controller process watches; then the engine and the API
// are checked for what the block claims.
import { spawn } from 'node:child_process';
import { chmod, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDocker } from './support/engine.js';
import { noEngine } from './support/provided.js';
import { eventually } from './support/runtime-contract.js';
import { BERTH_BIN, freePort, killController, removeDirs, spawnController, testDirs, type ControllerProcess, type TestDirs } from './support/controller.js';

const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const API = '/apis/berth.dev/v1alpha1';
const PYTHON_IMAGE = 'berth-examples/python:3';

/** The ```sh block under `<!-- example-test: NAME -->` in examples/README.md. */
export function exampleBlock(readme: string, name: string): string {
  const m = new RegExp(`<!-- example-test: ${name} -->\\n\`\`\`sh\\n([\\s\\S]*?)\\n\`\`\``).exec(readme);
  if (!m) throw new Error(`examples/README.md has no block marked <!-- example-test: ${name} -->`);
  return m[1]!;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function imagePresent(image: string): Promise<boolean> {
  return testDocker()
    .getImage(image)
    .inspect()
    .then(() => true, () => false);
}

describe.skipIf(noEngine())('the seed workloads in examples/', () => {
  let d: TestDirs;
  let proc: ControllerProcess;
  let work: string;
  let readme: string;
  let env: Record<string, string>;

  const run = (name: string, timeoutMs = 300_000): Promise<Run> =>
    new Promise((resolve) => {
      const child = spawn('bash', ['-euo', 'pipefail', '-c', exampleBlock(readme, name)], { cwd: work, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  const api = async <T>(path: string): Promise<T> => (await (await fetch(`${proc.server}${path}`)).json()) as T;

  beforeAll(async () => {
    readme = await readFile(join(EXAMPLES, 'README.md'), 'utf8');
    d = await testDirs();
    work = join(d.root, 'checkout');
    await cp(EXAMPLES, join(work, 'examples'), { recursive: true });
    // `berth` on the PATH, as the README asks.
    const bin = join(d.root, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'berth'), `#!/bin/sh\nexec "${process.execPath}" "${BERTH_BIN}" "$@"\n`);
    await chmod(join(bin, 'berth'), 0o755);
    proc = await spawnController({ ...d, specDir: join(work, 'examples') }, await freePort());
    env = { PATH: `${bin}:${process.env['PATH']}`, BERTH_SERVER: proc.server, BERTH_CONTROLLER_ID: d.controllerId };
  }, 60_000);

  afterAll(async () => {
    await killController(proc);
    if (d) await removeDirs(d);
  });

  it('per-user bots: an env change recreates only that user\'s container', async () => {
    const ids = async () => {
      const list = await api<{ items: Array<{ metadata: { name: string }; status?: { containerId?: string; lastDrift?: { fields: string[] } } }> }>(`${API}/namespaces/tenants/instances`);
      return Object.fromEntries(list.items.map((i) => [i.metadata.name, i.status]));
    };
    await eventually('both bots have containers', async () => {
      const s = await ids().catch(() => ({}) as Record<string, undefined>);
      return s['alice-bot']?.containerId && s['bob-bot']?.containerId ? true : undefined;
    }, 120_000);
    // The block waits for Ready itself; the ids are taken once both run.
    const r = await run('bots');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('bot of alice (chat)\n');
    expect(r.stdout).toContain('bot of alice (support)\n');
    expect(r.stdout).toMatch(/alice-bot\s+Ready/);
    expect(r.stdout).toMatch(/bob-bot\s+Ready/);
    const after = await ids();
    expect(after['alice-bot']?.lastDrift?.fields).toEqual(['env']);
    expect(after['bob-bot']?.lastDrift).toBeUndefined();
    const containers = await testDocker().listContainers({ all: true, filters: { label: [`berth.dev/managed-by=${d.controllerId}`, 'berth.dev/namespace=tenants'] } });
    expect(containers.map((c) => c.Labels['berth.dev/name']).sort()).toEqual(['alice-bot', 'bob-bot']);
    // Bob's container was started before alice's change and never touched since.
    const bob = await testDocker().getContainer(after['bob-bot']!.containerId!).inspect();
    expect(bob.RestartCount).toBe(0);
    expect(Date.parse(bob.State.StartedAt)).toBeLessThan(Date.parse((await testDocker().getContainer(after['alice-bot']!.containerId!).inspect()).Created));
  }, 300_000);

  it('python code runner: runs code in a warm sandbox, a file copied in with berth cp, and kills a runaway', async () => {
    if (!(await imagePresent(PYTHON_IMAGE))) {
      if (process.env['CI'] === 'true') throw new Error(`CI=true but ${PYTHON_IMAGE} is missing: .ci/run must run scripts/build-python-image.sh`);
      console.warn(`\n*** SKIPPING the code-runner example: ${PYTHON_IMAGE} is missing (bash scripts/build-python-image.sh builds it) ***\n`);
      return;
    }
    await eventually('two warm python runners', async () => {
      const p = await api<{ status?: { ready?: number } }>(`${API}/namespaces/sandboxes/instancepools/python-runners`).catch(() => undefined);
      return (p?.status?.ready ?? 0) >= 2 ? true : undefined;
    }, 120_000);
    const r = await run('code-runner');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${2n ** 100n}\nhello from /tmp/main.py\nexit 124\n`);
    expect(r.stderr).toMatch(/claim python-runners-[0-9a-f]{8} bound to python-runners-/);
    expect(r.stderr.match(/released python-runners-/g)?.length).toBe(3);
  }, 300_000);

  it('CI agent sandboxes: copy in, test inside, copy out; claims beyond maxSize wait FIFO', async () => {
    await eventually('a warm ci agent', async () => {
      const p = await api<{ status?: { ready?: number } }>(`${API}/namespaces/agents/instancepools/ci-agents`).catch(() => undefined);
      return (p?.status?.ready ?? 0) >= 1 ? true : undefined;
    }, 120_000);
    // Sample while the block runs: never more than maxSize agents bound at once (the seed's
    // MAX_CONCURRENT_AGENTS), and how many containers the pool had (released ones still stopping included).
    let mostBound = 0;
    let mostContainers = 0;
    let seen = '';
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const claims = await api<{ items: Array<{ status?: { phase?: string } }> }>(`${API}/namespaces/agents/instanceclaims`);
        mostBound = Math.max(mostBound, claims.items.filter((c) => c.status?.phase === 'Bound').length);
        const members = await testDocker().listContainers({ all: true, filters: { label: [`berth.dev/managed-by=${d.controllerId}`, 'berth.dev/name=ci-agents'] } });
        if (members.length > mostContainers) seen = members.map((m) => `${m.Labels['berth.dev/member']}:${m.State}`).join(' ');
        mostContainers = Math.max(mostContainers, members.length);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const r = await run('ci-agent').finally(() => (sampling = false));
    await sampler;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('repository: /tmp/repo\n');
    expect(r.stdout).toContain('runner: uid 65534, network: lo \n');
    expect(r.stdout).toContain('ok   mul 6 7\n');
    expect(r.stdout.endsWith('RESULT: PASS\nRESULT: PASS\nRESULT: PASS\nRESULT: PASS\n'.slice('RESULT: PASS\n'.length))).toBe(true);
    expect(r.stdout.match(/RESULT: PASS/g)?.length).toBe(4);
    // Four agents ran, never more than maxSize at once: the third concurrent claim waited for a release.
    const claims = await api<{ items: unknown[] }>(`${API}/namespaces/agents/instanceclaims`);
    expect(claims.items).toEqual([]); // all released
    expect([...r.stderr.matchAll(/claim (ci-agents-[0-9a-f]{8}) bound/g)].length).toBe(4);
    console.info(`[examples] ci-agents: at most ${mostBound} claims bound and ${mostContainers} containers at once (${seen})`);
    expect(mostBound, 'agents bound at once (maxSize 2)').toBe(2);
    // The third of three concurrent claims waited for a release: its wait is at least one agent's run.
    const events = await api<{ items: Array<{ reason: string; message: string; involvedObject: { name: string } }> }>(`${API}/namespaces/agents/events`);
    const waited = events.items.filter((e) => e.reason === 'Bound').map((e) => Number(/after (\d+) ms/.exec(e.message)?.[1] ?? NaN));
    expect(waited).toHaveLength(4);
    expect(Math.max(...waited)).toBeGreaterThanOrEqual(1_000);
    const members = await testDocker().listContainers({ all: true, filters: { label: [`berth.dev/managed-by=${d.controllerId}`, 'berth.dev/name=ci-agents'] } });
    expect(members.length).toBeLessThanOrEqual(2);
    const one = await testDocker().getContainer(members[0]!.Id).inspect();
    expect(one.HostConfig).toMatchObject({ NetworkMode: 'none', ReadonlyRootfs: true, NanoCpus: 1e9, Memory: 2 * 1024 ** 3, PidsLimit: 1000 });
  }, 400_000);

  it('run-to-completion job: succeeds once, its container removed after the ttl', async () => {
    const r = await run('job');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('report for 2026-02-01: started\n');
    expect(r.stdout).toContain('report for 2026-02-01: done\n');
    expect(r.stdout).not.toContain('2026-01-31');
    expect(r.stdout).toMatch(/nightly-report\s+Succeeded/);
    const left = await testDocker().listContainers({ all: true, filters: { label: [`berth.dev/managed-by=${d.controllerId}`, 'berth.dev/name=nightly-report'] } });
    expect(left).toEqual([]);
  }, 300_000);
});
