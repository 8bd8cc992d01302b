// Runs a real controller for integration tests: in-process (a Manager on the
// real engine) or as a child process (`node bin/berth.js controller`) for the
// tests that kill it. Each has its own controller id, spec dir and state dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Manager } from '../../src/manager/manager.js';
import { DEFAULT_POLICY } from '../../src/spec/policy.js';
import { DockerRuntime } from '../../src/runtime/docker/docker-runtime.js';
import type { InstanceStatus } from '../../src/spec/status.js';
import type { Runtime } from '../../src/runtime/types.js';
import { cleanupByLabel, TEST_IMAGE, testDocker, uniqueControllerId } from './engine.js';

export const BERTH_BIN = fileURLToPath(new URL('../../bin/berth.js', import.meta.url));

export interface TestDirs {
  controllerId: string;
  specDir: string;
  stateDir: string;
  root: string;
}

export async function testDirs(): Promise<TestDirs> {
  const root = await mkdtemp(join(tmpdir(), 'berth-it-'));
  return { controllerId: uniqueControllerId(), specDir: join(root, 'specs'), stateDir: join(root, 'state'), root };
}

export async function removeDirs(d: TestDirs): Promise<void> {
  await cleanupByLabel(d.controllerId);
  await rm(d.root, { recursive: true, force: true });
}

export async function startManager(d: TestDirs, opts: { resyncMs?: number; socketPath?: string; runtime?: Runtime } = {}): Promise<Manager> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(d.specDir, { recursive: true });
  const manager = new Manager({
    controllerId: d.controllerId,
    runtime: opts.runtime ?? new DockerRuntime(opts.socketPath ? { socketPath: opts.socketPath, timeouts: { list: 2000, inspect: 2000, create: 5000, start: 5000, remove: 5000, ping: 1000 } } : {}),
    policy: DEFAULT_POLICY,
    stateDir: d.stateDir,
    specDirs: [d.specDir],
    workers: 4,
    maxConcurrentOps: 8,
    resyncMs: opts.resyncMs ?? 300_000,
    logger: pino({ level: process.env['BERTH_TEST_LOG'] ?? 'silent' }),
  });
  await manager.start();
  return manager;
}

/** A long-running Instance spec on the test image; `extra` is merged into spec. */
export function instanceYaml(name: string, extra: Record<string, unknown> = {}, namespace = 'default'): string {
  const spec = { image: TEST_IMAGE, command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"], stopGracePeriodSeconds: 2, ...extra };
  return JSON.stringify({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name, namespace }, spec }) + '\n';
}

export async function writeSpec(d: TestDirs, file: string, text: string): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(d.specDir, { recursive: true });
  await writeFile(join(d.specDir, file), text);
}

/**
 * The process tests' sandbox pool: busybox members whose PID 1 exits at once
 * on SIGTERM, probed by exec every 2 s; `spec` gives sizes and policies.
 */
export function sandboxPool(name: string, spec: Record<string, unknown>): object {
  return {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'InstancePool',
    metadata: { name },
    spec: {
      ...spec,
      template: {
        image: TEST_IMAGE,
        command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"],
        network: 'none',
        stopGracePeriodSeconds: 1,
        healthCheck: { exec: { command: ['sh', '-c', 'echo OK'] }, periodSeconds: 2 },
      },
    },
  };
}

export function statusOf(m: Manager, name: string, namespace = 'default'): InstanceStatus | undefined {
  return m.store.get({ kind: 'Instance', namespace, name })?.object.status as InstanceStatus | undefined;
}

export const isReady = (s: InstanceStatus | undefined): boolean => s?.conditions.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Containers carrying this controller's label, straight from the engine. */
export async function managedContainers(controllerId: string): Promise<Array<{ id: string; name: string; state: string; labels: Record<string, string> }>> {
  const list = await testDocker().listContainers({ all: true, filters: { label: [`berth.dev/managed-by=${controllerId}`] } });
  return list.map((c) => ({ id: c.Id, name: (c.Names[0] ?? '').replace(/^\//, ''), state: c.State, labels: c.Labels }));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface ControllerProcess {
  child: ChildProcess;
  server: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts `berth controller` as a process (needs `npm run build`). */
export async function spawnController(d: TestDirs, port: number, extraArgs: string[] = []): Promise<ControllerProcess> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(d.specDir, { recursive: true });
  const child = spawn(process.execPath, [BERTH_BIN, 'controller', '--specs', d.specDir, '--state-dir', d.stateDir, '--controller-id', d.controllerId, '--listen', `127.0.0.1:${port}`, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, server: `http://127.0.0.1:${port}`, output: () => out, exited };
}

/** Runs the berth CLI and returns its exit code and output. */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BERTH_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
}

/** Kills a controller process the test started, if it still runs (SIGKILL: nothing is cleaned up by it). */
export async function killController(proc: ControllerProcess | undefined): Promise<void> {
  if (proc && proc.child.exitCode === null) {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
}
