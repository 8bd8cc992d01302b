// `berth diff -f FILE|DIR`: what the controller would do, from the specs and
// the live runtime, with the cause of every action. Changes nothing. It
// plans with the controller's own code (the same observation and planners as
// a reconcile) and its flags (policy, template defaults, runtime), so the
// plan is the one a controller started with those flags would carry out.
import type { Command } from 'commander';
import { pino } from 'pino';
import { loadSpecPaths } from '../../spec/load.js';
import { Manager } from '../../manager/manager.js';
import { addRuntimeOptions, policyOf, runtimeOf, type RuntimeFlags } from '../runtime-options.js';

interface DiffFlags extends RuntimeFlags {
  filename: string[];
  controllerId: string;
  stateDir: string;
  prune: boolean;
  namespace?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('diff')
    .description('print the plan (create / replace / restart / stop / remove; pool members) for the specs against the live runtime; changes nothing')
    .requiredOption('-f, --filename <path...>', 'spec files or directories')
    .option('--controller-id <id>', 'managed-by label value of the controller', process.env.BERTH_CONTROLLER_ID ?? 'berth')
    .option('--state-dir <dir>', "the controller's state directory (restart counts, completed jobs, claim bindings)", process.env.BERTH_STATE_DIR ?? '.berth-state')
    .option('--namespace <ns>', 'with --runtime kubernetes: the namespace the controller keeps its Pods in')
    .option('--prune', 'also plan the removal of containers whose spec is not among these files', false);
  addRuntimeOptions(cmd).action(async (flags: DiffFlags) => {
    const policy = policyOf(flags);
    const { resources, errors } = await loadSpecPaths(flags.filename, { policy });
    for (const e of errors) process.stderr.write(`${e.format()}\n`);
    const runtime = await runtimeOf(flags, policy, flags.namespace !== undefined ? { kubeConfig: (await import('../../sources/kubernetes/kube-api.js')).loadKubeConfig(flags.kubeconfig), namespace: flags.namespace } : undefined);
    const manager = new Manager({
      controllerId: flags.controllerId,
      runtime,
      policy,
      stateDir: flags.stateDir,
      specDirs: [],
      workers: 1,
      maxConcurrentOps: 1,
      resyncMs: 300_000,
      logger: pino({ level: 'silent' }),
    });
    const plans = await manager.preview(
      resources.map((r) => r.resource),
      flags.prune,
      AbortSignal.timeout(30_000),
    );
    let changes = 0;
    for (const p of plans) {
      changes += p.actions;
      process.stdout.write(`${p.plan}\n`);
    }
    // Like `kubectl diff`: 0 no differences, 1 differences, >1 errors.
    process.exitCode = errors.length ? 2 : changes ? 1 : 0;
  });
}
