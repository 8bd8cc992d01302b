// The controller as a process: SIGKILL at several points during convergence
// and replacement must end, after a restart, with exactly the desired
// containers; SIGTERM exits 0 and leaves workloads running; `berth wait`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noEngine } from './support/provided.js';
import { eventually } from './support/runtime-contract.js';
import { freePort, killController, instanceYaml, managedContainers, removeDirs, runCli, spawnController, testDirs, writeSpec, type ControllerProcess, type TestDirs } from './support/controller.js';

const N = 6;
const names = Array.from({ length: N }, (_, i) => `svc-${i}`);
const specs = (mode: string): string => names.map((n) => instanceYaml(n, { env: [{ name: 'MODE', value: mode }] })).join('---\n');

async function readyNames(server: string): Promise<string[]> {
  const r = await fetch(`${server}/apis/berth.dev/v1alpha1/namespaces/default/instances`).catch(() => undefined);
  if (!r?.ok) return [];
  const list = (await r.json()) as { items: Array<{ metadata: { name: string }; status?: { conditions?: Array<{ type: string; status: string }> } }> };
  return list.items.filter((i) => i.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((i) => i.metadata.name).sort();
}

describe.skipIf(noEngine())('controller process', () => {
  let d: TestDirs;
  let port: number;
  let proc: ControllerProcess | undefined;

  beforeAll(async () => {
    d = await testDirs();
    port = await freePort();
  });

  afterAll(async () => {
    await killController(proc);
    if (d) await removeDirs(d);
  });

  it('killed with SIGKILL at several points during convergence and replacement, it ends with exactly the desired containers', async () => {
    await writeSpec(d, 'svcs.yaml', specs('one'));
    for (const [i, delayMs] of [150, 400, 700, 1200].entries()) {
      // Every other round edits the specs first, so the kill lands in a replacement.
      if (i % 2 === 1) await writeSpec(d, 'svcs.yaml', specs(`round-${i}`));
      proc = await spawnController(d, port);
      await new Promise((r) => setTimeout(r, delayMs));
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
    await writeSpec(d, 'svcs.yaml', specs('final'));
    proc = await spawnController(d, port);
    await eventually('all Ready after restarts', async () => ((await readyNames(proc!.server)).length === N ? true : undefined), 60_000);
    const list = await eventually('exactly one container per Instance', async () => {
      const l = await managedContainers(d.controllerId);
      return l.length === N ? l : undefined;
    }, 30_000);
    expect(list.map((c) => c.labels['berth.dev/name']).sort()).toEqual(names);
    expect(new Set(list.map((c) => c.labels['berth.dev/config-hash'])).size).toBe(1);
    expect(list.every((c) => c.state === 'running')).toBe(true);
    expect(list.map((c) => c.name).sort()).toEqual(names.map((n) => `berth-default-${n}`));
  });

  it('berth wait returns when Ready, and fails with a clear message on timeout', async () => {
    const env = { BERTH_SERVER: proc!.server };
    const ok = await runCli(['wait', 'instance/svc-0', '--for=condition=Ready', '--timeout=30s'], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('condition met');
    await writeSpec(d, 'never.yaml', instanceYaml('never-ready', { healthCheck: { exec: { command: ['false'] }, periodSeconds: 1 } }));
    const timedOut = await runCli(['wait', 'instance/never-ready', '--for=condition=Ready', '--timeout=3s'], env);
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toMatch(/timed out waiting for the condition on instance\/never-ready/);
  });

  it('berth get lists Ready instances', async () => {
    const r = await runCli(['get', 'instances'], { BERTH_SERVER: proc!.server });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/svc-0\s+Ready\s+True/);
  });

  it('SIGTERM exits 0 and leaves the workloads running', async () => {
    const before = (await managedContainers(d.controllerId)).filter((c) => c.state === 'running').map((c) => c.id).sort();
    proc!.child.kill('SIGTERM');
    expect(await proc!.exited).toBe(0);
    const after = (await managedContainers(d.controllerId)).filter((c) => c.state === 'running').map((c) => c.id).sort();
    expect(after).toEqual(before);
  });

  it('a CLI command that needs the controller says how to start it when it cannot be reached', async () => {
    const r = await runCli(['get', 'instances'], { BERTH_SERVER: `http://127.0.0.1:${port}` });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('berth controller');
  });
});
