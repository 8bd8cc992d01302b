// `berth controller`: berth's main job. Keeps the engine converged to the specs
// forever, serves the HTTP API, and exits 0 on SIGTERM leaving workloads running.
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { pino } from 'pino';
import { Manager } from '../../controller/manager.js';
import { DEFAULT_POLICY, type ControllerPolicy } from '../../spec/policy.js';
import { DockerRuntime } from '../../runtime/docker/docker-runtime.js';
import { createApiServer, assertListenAllowed, readTokenFile } from '../../api/server.js';

interface ControllerFlags {
  specs: string[];
  stateDir: string;
  listen: string;
  tokenFile?: string;
  controllerId: string;
  workers: string;
  maxConcurrentOps: string;
  resync: string;
  allowPrivileged?: boolean;
  allowHostNetwork?: boolean;
  allowBindMounts?: boolean;
  defaultCpus: string;
  defaultMemory: string;
  defaultPids: string;
  logLevel: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function register(program: Command): void {
  program
    .command('controller')
    .description('run the controller: converge the engine to the specs and serve the API')
    .option('--specs <dir>', 'a directory of YAML specs to watch (repeatable)', collect, [])
    .option('--state-dir <dir>', 'where applied resources and controller memory are kept', process.env.BERTH_STATE_DIR ?? '.berth-state')
    .option('--listen <host:port>', 'API address (non-loopback needs --token-file)', '127.0.0.1:7070')
    .option('--token-file <file>', 'bearer token required on every API request except health')
    .option('--controller-id <id>', 'value of the berth.dev/managed-by label this controller owns', process.env.BERTH_CONTROLLER_ID ?? 'berth')
    .option('--workers <n>', 'concurrent reconciles', '8')
    .option('--max-concurrent-ops <n>', 'concurrent engine operations', '16')
    .option('--resync <seconds>', 'periodic full resync', '300')
    .option('--allow-privileged', 'allow privileged containers')
    .option('--allow-host-network', 'allow network: host')
    .option('--allow-bind-mounts', 'allow bind mounts')
    .option('--default-cpus <cpus>', 'CPU limit of templates that set none', DEFAULT_POLICY.defaults.cpus)
    .option('--default-memory <quantity>', 'memory limit of templates that set none', DEFAULT_POLICY.defaults.memory)
    .option('--default-pids <n>', 'pids limit of templates that set none', String(DEFAULT_POLICY.defaults.pids))
    .option('--log-level <level>', 'trace|debug|info|warn|error', process.env.BERTH_LOG_LEVEL ?? 'info')
    .action(async (flags: ControllerFlags) => {
      await runController(flags);
    });
}

async function runController(flags: ControllerFlags): Promise<void> {
  const logger = pino({ level: flags.logLevel, base: { controller: flags.controllerId } }, pino.destination(2));
  const [host, portText] = splitHostPort(flags.listen);
  const token = flags.tokenFile ? await readTokenFile(flags.tokenFile) : undefined;
  assertListenAllowed(host, flags.tokenFile);
  const policy: ControllerPolicy = {
    ...DEFAULT_POLICY,
    defaults: { cpus: flags.defaultCpus, memory: flags.defaultMemory, pids: Number(flags.defaultPids) },
    allowPrivileged: flags.allowPrivileged ?? false,
    allowHostNetwork: flags.allowHostNetwork ?? false,
    allowBindMounts: flags.allowBindMounts ?? false,
  };
  const stateDir = resolve(flags.stateDir);
  await mkdir(stateDir, { recursive: true });
  const runtime = new DockerRuntime({});
  const manager = new Manager({
    controllerId: flags.controllerId,
    runtime,
    policy,
    stateDir,
    specDirs: flags.specs.map((d) => resolve(d)),
    workers: positiveInt(flags.workers, '--workers'),
    maxConcurrentOps: positiveInt(flags.maxConcurrentOps, '--max-concurrent-ops'),
    resyncMs: positiveInt(flags.resync, '--resync') * 1000,
    logger,
  });
  const api = createApiServer({
    store: manager.store,
    apiSource: manager.apiSource,
    recorder: manager.recorder,
    runtime,
    registry: manager.metrics.registry,
    policy,
    isReady: () => manager.ready,
    resolveInstance: (namespace, name) => manager.binder.resolveInstance(namespace, name),
    ...(token ? { token } : {}),
    logger,
  });
  await api.listen(host, Number(portText));
  logger.info({ listen: flags.listen, specs: flags.specs, stateDir }, 'berth controller started');

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: in-flight operations are aborted, containers keep running');
    void (async () => {
      await manager.stop();
      await api.close();
      logger.info('stopped');
      logger.flush();
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await manager.start();
  logger.info('initial resync done; ready');
}

function splitHostPort(listen: string): [string, string] {
  const i = listen.lastIndexOf(':');
  if (i < 0) throw new Error(`--listen ${listen}: expected host:port`);
  return [listen.slice(0, i).replace(/^\[|\]$/g, ''), listen.slice(i + 1)];
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: expected a positive integer, got ${JSON.stringify(text)}`);
  return n;
}
