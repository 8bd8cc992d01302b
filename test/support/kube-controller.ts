// A controller in Kubernetes mode, in-process: custom resources as the source,
// the real Docker engine as the runtime, optionally with leader election.
// Each test file has its own controller id and state dir; containers are
// removed by label afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Manager } from '../../src/manager/manager.js';
import { DEFAULT_POLICY } from '../../src/spec/policy.js';
import { DockerRuntime } from '../../src/runtime/docker/docker-runtime.js';
import { KubernetesRuntime } from '../../src/runtime/kubernetes/kubernetes-runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { ControllerRunner, type LeaderElectionConfig } from '../../src/manager/controller-runner.js';
import { BERTH_BIN } from './controller.js';

export interface KubeControllerOptions {
  kc: KubeConfig;
  controllerId: string;
  namespace?: string;
  leaderElection?: LeaderElectionConfig;
  stallTimeoutMs?: number;
  onExit?: (code: number) => void;
  name?: string;
  /** docker (default: the real engine) or kubernetes (Pods, owned by their custom resource). */
  runtime?: 'docker' | 'kubernetes';
  /** Controller policy flags beyond the defaults (e.g. allowRootUser). */
  policy?: Partial<typeof DEFAULT_POLICY>;
}

export interface KubeController {
  runner: ControllerRunner;
  stateDir: string;
  /** Graceful stop (lease released), and the state dir removed. */
  stop(): Promise<void>;
}

export async function startKubeController(o: KubeControllerOptions): Promise<KubeController> {
  const stateDir = await mkdtemp(join(tmpdir(), 'berth-kube-it-'));
  await mkdir(stateDir, { recursive: true });
  const logger = pino({ level: process.env['BERTH_TEST_LOG'] ?? 'silent', base: { replica: o.name ?? 'controller' } });
  let runner: ControllerRunner | undefined;
  // As the CLI does: a namespace-scoped controller's Pods live (and are listed) in its namespace only.
  const policy = { ...DEFAULT_POLICY, ...o.policy };
  const { allowForeignVolumes } = policy;
  const runtime: Runtime =
    o.runtime === 'kubernetes'
      ? new KubernetesRuntime({ kubeConfig: o.kc, allowForeignVolumes, ...(o.namespace ? { namespace: o.namespace } : {}), ownerReference: (labels) => runner?.ownerReference(labels) })
      : new DockerRuntime({ allowForeignVolumes });
  runner = new ControllerRunner({
    kubeConfig: o.kc,
    createManager: (onPruned) =>
      new Manager({
        controllerId: o.controllerId,
        runtime,
        policy,
        stateDir,
        specDirs: [],
        workers: 4,
        maxConcurrentOps: 8,
        resyncMs: 300_000,
        logger,
        onPruned,
        claimRecord: 'source',
      }),
    kubernetesSource: {
      ...(o.namespace ? { namespace: o.namespace } : {}),
      // As the CLI does: the source validates specs with the same policy the controller enforces.
      policy,
      logger,
      statusCoalesceMs: 20,
      // Long server-side watch timeouts: with the short watchdogs here, the default (60-90 % of the
      // watchdog) would renew every watch each second, and a fault meant for "the open watches" could
      // miss one that was being renewed at that moment.
      informer: { stallTimeoutMs: o.stallTimeoutMs ?? 5_000, backoff: { initialMs: 100, maxMs: 2_000 }, watchTimeoutSeconds: () => 300 },
    },
    ...(o.leaderElection ? { leaderElection: o.leaderElection } : {}),
    onLost: 'restart',
    onExit: o.onExit ?? (() => undefined),
    logger,
  });
  await runner.start();
  const started = runner;
  return {
    runner: started,
    stateDir,
    stop: async () => {
      await started.stop();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

export interface KubeControllerProcess {
  child: ChildProcess;
  server: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** `berth controller --source kubernetes ...` as a process (needs `npm run build`). */
export async function spawnKubeController(o: { kubeconfigPath: string; controllerId: string; stateDir: string; port: number; args?: string[]; env?: Record<string, string>; runtime?: 'docker' | 'kubernetes' }): Promise<KubeControllerProcess> {
  await mkdir(o.stateDir, { recursive: true });
  const child = spawn(
    process.execPath,
    [BERTH_BIN, 'controller', '--source', 'kubernetes', '--runtime', o.runtime ?? 'docker', '--kubeconfig', o.kubeconfigPath, '--state-dir', o.stateDir, '--controller-id', o.controllerId, '--listen', `127.0.0.1:${o.port}`, ...(o.args ?? [])],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(o.env ?? {}) } },
  );
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, server: `http://127.0.0.1:${o.port}`, output: () => out, exited };
}
