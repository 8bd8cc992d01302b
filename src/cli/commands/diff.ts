// `berth diff -f FILE|DIR`: what the controller would do, from the specs and
// the live engine, with the cause of every action. Changes nothing.
import type { Command } from 'commander';
import { loadSpecPaths } from '../../spec/load.js';
import { containerNameFor, desiredInstance } from '../../spec/desired.js';
import { DEFAULT_POLICY } from '../../spec/policy.js';
import { keyOf, keyString, type Instance, type ResourceKey } from '../../spec/schema.js';
import { DockerRuntime } from '../../runtime/docker/docker-runtime.js';
import { planInstance } from '../../reconcile/plan-instance.js';
import { formatPlan } from '../../reconcile/format.js';
import { MemoryStore } from '../../controller/memory-store.js';
import type { DesiredInstance } from '../../reconcile/types.js';

export function register(program: Command): void {
  program
    .command('diff')
    .description('print the plan (create / replace / restart / stop / remove) for the specs against the live engine; changes nothing')
    .requiredOption('-f, --filename <path...>', 'spec files or directories')
    .option('--controller-id <id>', 'managed-by label value of the controller', process.env.BERTH_CONTROLLER_ID ?? 'berth')
    .option('--state-dir <dir>', "the controller's state directory (restart counts, completed jobs)", process.env.BERTH_STATE_DIR ?? '.berth-state')
    .option('--prune', 'also plan the removal of containers whose spec is not among these files', false)
    .action(async (opts: { filename: string[]; controllerId: string; stateDir: string; prune: boolean }) => {
      const { resources, errors } = await loadSpecPaths(opts.filename);
      for (const e of errors) process.stderr.write(`${e.format()}\n`);
      const memory = new MemoryStore(opts.stateDir);
      await memory.load();
      const runtime = new DockerRuntime({});
      const observed = await runtime.list({ managedBy: opts.controllerId, kind: 'Instance' }, AbortSignal.timeout(30_000));
      const desired = new Map<string, DesiredInstance>();
      for (const r of resources) if (r.resource.kind === 'Instance') desired.set(keyString(keyOf(r.resource)), desiredInstance(r.resource as Instance, DEFAULT_POLICY));
      const keys = new Map<string, ResourceKey>([...desired.values()].map((d) => [keyString(d.key), d.key]));
      if (opts.prune) for (const c of observed) keys.set(keyString({ kind: 'Instance', namespace: c.namespace, name: c.owner }), { kind: 'Instance', namespace: c.namespace, name: c.owner });
      let changes = 0;
      const now = Date.now();
      for (const [id, key] of [...keys].sort(([a], [b]) => a.localeCompare(b))) {
        const plan = planInstance({
          controllerId: opts.controllerId,
          desired: desired.get(id),
          key,
          observed: observed.filter((c) => c.namespace === key.namespace && c.owner === key.name),
          memory: memory.get(key),
          now,
          containerName: containerNameFor(key),
        });
        changes += plan.actions.length;
        process.stdout.write(`${formatPlan(plan)}\n`);
      }
      // Like `kubectl diff`: 0 no differences, 1 differences, >1 errors.
      process.exitCode = errors.length ? 2 : changes ? 1 : 0;
    });
}
