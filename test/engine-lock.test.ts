// One controller id per engine (issue 10, item 2): a second controller with an
// active id refuses to start instead of pruning the first one's containers; a
// holder killed with SIGKILL does not block a restart, even before its parent
// reaps it (a zombie); --force-takeover.
import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../src/runtime/types.js';
import { LOCK_HOLDER_LABEL, LOCK_LABEL, lockVolumeName } from '../src/runtime/docker/engine-lock.js';
import { noEngine } from './support/provided.js';
import { eventually } from './support/runtime-contract.js';
import { testDocker } from './support/engine.js';
import { freePort, instanceYaml, killController, managedContainers, removeDirs, spawnController, testDirs, writeSpec, type ControllerProcess, type TestDirs } from './support/controller.js';

const readyOf = async (server: string, name: string): Promise<boolean> => {
  const r = await fetch(`${server}/apis/berth.dev/v1alpha1/namespaces/default/instances/${name}`).catch(() => undefined);
  if (!r?.ok) return false;
  const o = (await r.json()) as { status?: { conditions?: Array<{ type: string; status: string }> } };
  return o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
};

const lockExists = async (id: string): Promise<boolean> =>
  (await testDocker().listVolumes({ filters: { name: [lockVolumeName(id)] } })).Volumes?.some((v) => v.Name === lockVolumeName(id)) ?? false;

describe.skipIf(noEngine())('engine lock: one controller id per engine', () => {
  let d: TestDirs;
  let other: TestDirs;
  let a: ControllerProcess | undefined;
  let b: ControllerProcess | undefined;
  let xId = '';

  beforeAll(async () => {
    d = await testDirs();
    other = { ...d, specDir: join(d.root, 'other-specs'), stateDir: join(d.root, 'other-state') };
    await mkdir(other.specDir, { recursive: true });
    await writeSpec(d, 'x.yaml', instanceYaml('x'));
    await writeSpec(other, 'y.yaml', instanceYaml('y'));
  });

  afterAll(async () => {
    await killController(a);
    await killController(b);
    if (d) await removeDirs(d);
  });

  it('a second controller with the same id and other specs refuses to start, and prunes nothing', async () => {
    a = await spawnController(d, await freePort());
    await eventually('x Ready', () => readyOf(a!.server, 'x').then((r) => r || undefined), 60_000);
    xId = (await managedContainers(d.controllerId)).find((c) => c.labels[LABEL.name] === 'x')!.id;
    b = await spawnController(other, await freePort());
    const code = await b.exited;
    expect(code).toBe(1);
    expect(b.output()).toMatch(new RegExp(`another berth controller with --controller-id ${d.controllerId} is active on this engine \\(pid ${a.child.pid} on host .*--force-takeover`));
    const after = await managedContainers(d.controllerId);
    expect(after.map((c) => [c.id, c.labels[LABEL.name], c.state])).toEqual([[xId, 'x', 'running']]);
    expect(a.child.exitCode).toBeNull();
  });

  it('after SIGKILL the same controller restarts at once: its dead holder does not block it', async () => {
    a!.child.kill('SIGKILL');
    await a!.exited;
    expect(await lockExists(d.controllerId)).toBe(true);
    const started = Date.now();
    a = await spawnController(d, await freePort());
    await eventually('ready after restart', () => (/initial resync done; ready/.test(a!.output()) ? true : undefined), 15_000);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(a.output()).toMatch(/took over the engine lock/);
    await eventually('x Ready', () => readyOf(a!.server, 'x').then((r) => r || undefined), 30_000);
    expect((await managedContainers(d.controllerId)).map((c) => c.id)).toEqual([xId]);
  });

  it('SIGTERM releases the lock; a holder that cannot be proven gone needs --force-takeover', async () => {
    a!.child.kill('SIGTERM');
    expect(await a!.exited).toBe(0);
    expect(await lockExists(d.controllerId)).toBe(false);
    // A holder on another machine sharing this engine: nothing here can tell whether it still runs.
    const holder = { host: 'another-machine', bootId: 'x', pid: 1, startTicks: '1', since: new Date().toISOString() };
    await testDocker().createVolume({ Name: lockVolumeName(d.controllerId), Labels: { [LABEL.managedBy]: d.controllerId, [LOCK_LABEL]: 'controller', [LOCK_HOLDER_LABEL]: JSON.stringify(holder) } });
    a = await spawnController(d, await freePort());
    expect(await a.exited).toBe(1);
    expect(a.output()).toMatch(/pid 1 on host another-machine/);
    a = await spawnController(d, await freePort(), ['--force-takeover']);
    await eventually('x Ready', () => readyOf(a!.server, 'x').then((r) => r || undefined), 30_000);
    expect((await managedContainers(d.controllerId)).map((c) => c.id)).toEqual([xId]);
  });

  it('a holder SIGKILLed and not yet reaped by its parent (a zombie) does not block a restart', async () => {
    a!.child.kill('SIGTERM');
    expect(await a!.exited).toBe(0);
    // The holder's parent never waits for it (exec'd into sleep), as a shell or an init that reaps late.
    const parent = spawn('sh', ['-c', 'sleep 300 & echo $!; exec sleep 300'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (b: Buffer) => resolve(b.toString().trim()))));
      const stat = async (): Promise<string[]> => {
        const text = await readFile(`/proc/${pid}/stat`, 'utf8');
        return text.slice(text.lastIndexOf(')') + 2).split(' ');
      };
      const holder = { host: hostname(), bootId: (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim(), pid, startTicks: (await stat())[19]!, since: new Date().toISOString() };
      process.kill(pid, 'SIGKILL');
      await eventually('the holder is a zombie', async () => ((await stat())[0] === 'Z' ? true : undefined), 5_000);
      await testDocker().createVolume({ Name: lockVolumeName(d.controllerId), Labels: { [LABEL.managedBy]: d.controllerId, [LOCK_LABEL]: 'controller', [LOCK_HOLDER_LABEL]: JSON.stringify(holder) } });
      a = await spawnController(d, await freePort());
      await eventually('ready after taking over', () => (/initial resync done; ready/.test(a!.output()) ? true : undefined), 15_000);
      expect(a.output()).toMatch(/took over the engine lock/);
      expect((await stat())[0]).toBe('Z');
      await eventually('x Ready', () => readyOf(a!.server, 'x').then((r) => r || undefined), 30_000);
      expect((await managedContainers(d.controllerId)).map((c) => c.id)).toEqual([xId]);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
