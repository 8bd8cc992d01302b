// `berth controller`: berth's main job. Keeps the engine converged to the specs
// forever, serves the HTTP API, and exits 0 on SIGTERM leaving workloads running.
// Desired state comes from spec files (--source files) or Kubernetes custom
// resources (--source kubernetes); with --leader-elect only the replica holding
// the Lease acts, and losing it ends the process (exit 1) at once.
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { pino } from 'pino';
import { Manager } from '../../manager/manager.js';
import { LEADER_ELECTION_DEFAULTS } from '../../sources/kubernetes/leader-election-defaults.js';
import type { ControllerPolicy } from '../../spec/policy.js';
import { DockerRuntime } from '../../runtime/docker/docker-runtime.js';
import { EngineLock } from '../../runtime/docker/engine-lock.js';
import type { Runtime } from '../../runtime/types.js';
import { createApiServer, assertListenAllowed, readTokenFile } from '../../api/server.js';
import { ControllerRunner } from '../../manager/controller-runner.js';
import { formatDuration, parseDuration } from '../../spec/duration.js';
import { addRuntimeOptions, policyOf, runtimeKind, runtimeOf, type RuntimeFlags } from '../runtime-options.js';
import { CliError } from '../errors.js';
import { parseMemory } from '../../spec/quantity.js';

interface ControllerFlags extends RuntimeFlags {
  specs: string[];
  stateDir: string;
  listen: string;
  tokenFile?: string;
  controllerId: string;
  workers: string;
  maxConcurrentOps: string;
  resync: string;
  logLevel: string;
  maxCopySize: string;
  source?: string;
  namespace?: string;
  allNamespaces?: boolean;
  leaderElect?: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  leaseDuration: string;
  renewDeadline: string;
  retryPeriod: string;
  watchStallTimeout: string;
  forceTakeover?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function register(program: Command): void {
  const cmd = program
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
    .option('--max-copy-size <quantity>', 'largest archive berth cp moves in or out of a container (e.g. 64Mi)', '64Mi')
    .option('--log-level <level>', 'trace|debug|info|warn|error', process.env.BERTH_LOG_LEVEL ?? 'info')
    .option('--source <source>', 'where desired state comes from: files (--specs, the API) or kubernetes (custom resources)')
    .option('--namespace <ns>', 'with --source kubernetes: watch only this namespace')
    .option('--all-namespaces', 'with --source kubernetes: watch every namespace (the default)')
    .option('--leader-elect', 'act only while holding a coordination.k8s.io Lease, so one of several replicas acts')
    .option('--leader-election-namespace <ns>', 'namespace of the Lease', process.env.POD_NAMESPACE || 'berth-system')
    .option('--leader-election-id <name>', 'name of the Lease', 'berth-leader')
    .option('--lease-duration <duration>', 'how long followers wait before taking over an unrenewed lease', formatDuration(LEADER_ELECTION_DEFAULTS.leaseDurationMs))
    .option('--renew-deadline <duration>', 'how long the leader retries renewing before it stops acting', formatDuration(LEADER_ELECTION_DEFAULTS.renewDeadlineMs))
    .option('--retry-period <duration>', 'interval between lease attempts', formatDuration(LEADER_ELECTION_DEFAULTS.retryPeriodMs))
    .option('--watch-stall-timeout <duration>', 'a watch with no event and no bookmark for this long is restarted', '90s')
    .option('--force-takeover', 'start even if another controller with this --controller-id seems active on the engine (it would prune what this one does not declare)');
  addRuntimeOptions(cmd).action(async (flags: ControllerFlags) => {
      await runController(flags);
    });
}

async function runController(flags: ControllerFlags): Promise<void> {
  const logger = pino({ level: flags.logLevel, base: { controller: flags.controllerId } }, pino.destination(2));
  const [host, portText] = splitHostPort(flags.listen);
  const token = flags.tokenFile ? await readTokenFile(flags.tokenFile) : undefined;
  assertListenAllowed(host, flags.tokenFile);
  const policy: ControllerPolicy = policyOf(flags);
  const mode = resolveMode(flags);
  const stateDir = resolve(flags.stateDir);
  await mkdir(stateDir, { recursive: true });
  // Kubernetes modules load only in Kubernetes modes (they cost ~70 MiB of RSS).
  const kubeConfig = mode.needsKube ? (await import('../../sources/kubernetes/kube-api.js')).loadKubeConfig(flags.kubeconfig) : undefined;
  // Pods are owned by their custom resource (kubectl, garbage collection): the runner knows its uid.
  let runner: ControllerRunner | undefined;
  const runtime: Runtime = await runtimeOf(flags, policy, kubeConfig && {
    kubeConfig,
    // A namespace-scoped controller lists, watches and creates Pods in its namespace only: listing
    // cluster-wide, two controllers scoped to two namespaces pruned each other's Pods.
    ...(mode.source === 'kubernetes' && flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
    ownerReference: (labels) => runner?.ownerReference(labels),
  });
  // One controller id per engine (with --leader-elect the Lease is the lock; Pods have no engine to lock).
  const engineLock = runtime instanceof DockerRuntime && !flags.leaderElect ? new EngineLock(runtime.docker, flags.controllerId, runtime.timeouts) : undefined;
  if (engineLock) {
    const { tookOverFrom } = await engineLock.acquire({ force: flags.forceTakeover ?? false });
    if (tookOverFrom) logger.warn({ previous: tookOverFrom }, 'took over the engine lock of a controller with this id that is gone (or --force-takeover)');
  }
  const identity = process.env.POD_NAME || `${hostname()}_${process.pid}`;
  runner = new ControllerRunner({
    createManager: (onPruned) =>
      new Manager({
        controllerId: flags.controllerId,
        runtime,
        policy,
        stateDir,
        specDirs: flags.specs.map((d) => resolve(d)),
        workers: positiveInt(flags.workers, '--workers'),
        maxConcurrentOps: positiveInt(flags.maxConcurrentOps, '--max-concurrent-ops'),
        resyncMs: positiveInt(flags.resync, '--resync') * 1000,
        logger,
        onPruned,
        // Kubernetes: a claim's binding is its status in the apiserver, not a file in this Pod's state dir.
        claimRecord: mode.source === 'kubernetes' ? 'source' : 'state-dir',
      }),
    ...(kubeConfig ? { kubeConfig } : {}),
    ...(mode.source === 'kubernetes'
      ? {
          kubernetesSource: {
            namespace: flags.namespace,
            policy,
            identity,
            logger,
            informer: { stallTimeoutMs: parseDuration(flags.watchStallTimeout) },
          },
        }
      : {}),
    ...(flags.leaderElect
      ? {
          leaderElection: {
            namespace: flags.leaderElectionNamespace,
            name: flags.leaderElectionId,
            identity,
            leaseDurationMs: parseDuration(flags.leaseDuration),
            renewDeadlineMs: parseDuration(flags.renewDeadline),
            retryPeriodMs: parseDuration(flags.retryPeriod),
          },
        }
      : {}),
    // controller-runtime's behaviour: a replica that lost the lease exits and restarts as a follower.
    onLost: 'exit',
    onExit: (code) => {
      logger.flush();
      process.exit(code);
    },
    logger,
  });
  // The Manager of an 'exit'-mode runner never changes: the API serves its store throughout.
  const manager = runner.manager;
  const api = createApiServer({
    store: manager.store,
    apiSource: manager.apiSource,
    recorder: manager.recorder,
    runtime,
    archive: runtime,
    archiveLimitBytes: copyLimit(flags.maxCopySize),
    registry: manager.metrics.registry,
    policy,
    isReady: () => runner.ready,
    // A follower has not loaded the sources: 503 with Retry-After, never an empty list.
    isLoaded: () => manager.sourcesLoaded,
    degradedSources: () => manager.degradedSources(),
    notServing: () => runner.notServing(),
    role: () => (runner.leaderElector ? (runner.leaderElector.isLeader ? 'leader' : 'follower') : 'standalone'),
    // Under --source kubernetes the custom resources are the only desired state: API writes become them.
    ...(mode.source === 'kubernetes' ? { writer: new (await import('../../sources/kubernetes/api-writer.js')).KubernetesResourceWriter(kubeConfig!) } : {}),
    resolveInstance: (namespace, name) => manager.binder.resolveInstance(namespace, name),
    ...(token ? { token } : {}),
    logger,
  });
  try {
    await api.listen(host, Number(portText));
  } catch (e) {
    await engineLock?.release().catch(() => undefined);
    // Not "cannot reach the controller": this is the controller, and it cannot listen.
    throw new CliError(`cannot listen on ${flags.listen}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}${(e as NodeJS.ErrnoException).code === 'ENOTFOUND' ? ` (${host} does not resolve on this machine; use an IP address such as 127.0.0.1)` : ''}`, 1, [], { cause: e });
  }
  logger.info(
    { listen: flags.listen, source: mode.source, runtime: mode.runtime, specs: flags.specs, namespace: flags.namespace ?? (mode.source === 'kubernetes' ? '(all)' : undefined), leaderElect: flags.leaderElect ?? false, identity, stateDir },
    'berth controller started',
  );

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: in-flight operations are aborted, containers keep running');
    void (async () => {
      await runner.stop(); // stops acting, then releases the lease
      await engineLock?.release().catch((e: Error) => logger.warn({ err: e.message }, 'could not release the engine lock; the next start sees this process gone and takes it over'));
      await api.close();
      logger.info('stopped');
      logger.flush();
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  try {
    await runner.start();
  } catch (e) {
    if (stopping) return; // SIGTERM before the first list finished
    throw e;
  }
  if (flags.leaderElect) logger.info({ lease: `${flags.leaderElectionNamespace}/${flags.leaderElectionId}` }, 'campaigning for the leader lease');
  else logger.info('initial resync done; ready');
}

interface Mode {
  source: 'files' | 'kubernetes';
  runtime: 'docker' | 'kubernetes';
  needsKube: boolean;
}

function resolveMode(flags: ControllerFlags): Mode {
  const source = flags.source ?? 'files';
  if (source !== 'files' && source !== 'kubernetes') throw new Error(`--source ${source}: expected files or kubernetes`);
  const runtime = runtimeKind(flags);
  if (source === 'kubernetes' && flags.specs.length) throw new Error('--specs and --source kubernetes exclude each other: a resource comes from one source');
  if (flags.namespace !== undefined && flags.allNamespaces) throw new Error('--namespace and --all-namespaces exclude each other');
  if ((flags.namespace !== undefined || flags.allNamespaces) && source !== 'kubernetes') throw new Error('--namespace and --all-namespaces need --source kubernetes');
  for (const f of ['leaseDuration', 'renewDeadline', 'retryPeriod', 'watchStallTimeout'] as const) parseDuration(flags[f]);
  return { source, runtime, needsKube: source === 'kubernetes' || runtime === 'kubernetes' || flags.leaderElect === true };
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

function copyLimit(text: string): number {
  const n = parseMemory(text);
  if (n === undefined || n <= 0) throw new CliError(`--max-copy-size: ${JSON.stringify(text)} is not a size such as 64Mi or 1048576`);
  return n;
}
