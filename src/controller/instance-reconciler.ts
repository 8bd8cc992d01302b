// The steps of one Instance reconcile (the order is Reconciler's): observe
// the Instance's containers once, plan with the pure Instance rules, carry
// the plan out through the lifecycle supervisor (awaiting each action: one
// container, one thing at a time), and the status from what came of it.
import { containerNameFor, desiredInstance, ownerLabels } from '../reconcile/desired.js';
import type { ControllerPolicy } from '../spec/policy.js';
import { keyString, type Instance, type ResourceKey } from '../spec/schema.js';
import type { Action, DesiredInstance, Plan, PlanInput } from '../reconcile/types.js';
import { keptContainer, planInstance } from '../reconcile/plan-instance.js';
import { formatPlan } from '../reconcile/format.js';
import { instanceStatus } from '../reconcile/instance-status.js';
import type { InstanceStatus } from '../spec/status.js';
import type { ObservedContainer, Runtime } from '../runtime/types.js';
import { RuntimeError, isRuntimeError } from '../runtime/errors.js';
import { errorReason } from './error-reason.js';
import { phaseOf, type Supervisor } from '../lifecycle/supervisor.js';
import type { ResourceStore, StoredEntry } from './resource-store.js';
import type { EventRecorder } from './event-recorder.js';
import type { RestartMemoryStore, OwnerMemory } from '../state/restart-memory-store.js';
import type { Clock } from '../time/clock.js';
import { DesiredCache } from './desired-cache.js';
import type { PlanContext, ReconcileSteps, StatusInput } from './reconciler.js';
import { UsageSampler, type Usage } from './usage-sampler.js';
import { id12 } from '../reconcile/container.js';
import type { ExitNotices } from './exit-notices.js';

export interface InstanceStepsDeps {
  controllerId: string;
  store: ResourceStore;
  runtime: Runtime;
  supervisor: Supervisor;
  recorder: EventRecorder;
  memory: RestartMemoryStore;
  policy: ControllerPolicy;
  clock: Clock;
  /** Look at the Instance again (a probe answered what status does not show yet). */
  wake: (key: ResourceKey) => void;
  /** Overrides the plan's probe wait for a replacement (tests). */
  replaceReadyTimeoutMs?: number;
  usageRefreshMs?: number;
  /** Deaths the engine told of before its list shows them: inspected instead of listed. */
  exits?: ExitNotices;
}

/** What one Instance reconcile observed: its containers, and what berth remembers of it. */
export interface InstanceWorld {
  containers: ObservedContainer[];
  memory: OwnerMemory;
  /** Consecutive failed probes per container id, from the lifecycle actors. */
  probeFailures: Record<string, number>;
  /** The last resource usage sample per container id. */
  usage: Record<string, Usage>;
}

const USAGE_REFRESH_MS = 30_000;

export class InstanceSteps implements ReconcileSteps<DesiredInstance, InstanceWorld, Plan> {
  private readonly desiredOf = new DesiredCache<Instance, DesiredInstance>((r) => desiredInstance(r, this.d.policy));
  readonly recheckAfterPrune = true;
  private readonly usage = new UsageSampler();

  constructor(private readonly d: InstanceStepsDeps) {}

  desired(entry: StoredEntry): DesiredInstance {
    return this.desiredOf.get(entry.resource as Instance);
  }

  async observe(key: ResourceKey, desired: DesiredInstance | undefined, signal: AbortSignal): Promise<InstanceWorld> {
    // Without the list's start time the supervisor cannot tell a vanished container's actor from one newer than the list, and kept it forever.
    const listStartedAt = performance.now();
    const listed = await this.d.runtime.list({ managedBy: this.d.controllerId, kind: 'Instance', namespace: key.namespace, name: key.name }, signal);
    const containers = this.d.exits ? await this.d.exits.correct(listed, signal) : listed;
    this.d.supervisor.observe(key, containers, desired?.template.healthCheck, desired?.template.stopGracePeriodSeconds ?? 10, listStartedAt);
    const running = containers.find((c) => c.state === 'running');
    if (desired && running) this.sampleUsage(key, running.id);
    return this.snapshotWorld(key, containers);
  }

  /** The world a list shows, without touching the actors (also for needsReconcile). */
  snapshotWorld(key: ResourceKey, containers: ObservedContainer[]): InstanceWorld {
    const probeFailures: Record<string, number> = {};
    for (const c of containers) {
      const failures = this.d.supervisor.snapshot(c.id)?.context.probe.failures;
      if (failures) probeFailures[c.id] = failures;
    }
    const usage: Record<string, Usage> = {};
    for (const c of containers) {
      const sample = this.usage.get(keyString(key), c.id);
      if (sample) usage[c.id] = sample;
    }
    return { containers, memory: this.d.memory.get(key), probeFailures, usage };
  }

  plan(ctx: PlanContext<DesiredInstance, InstanceWorld>): Plan {
    const input = this.planInput(ctx.key, ctx.desired, ctx.world, ctx.now, ctx.pruneDisabled);
    const current = keptContainer(input);
    input.memory = { ...input.memory, probeFailures: current ? (ctx.world.probeFailures[current.id] ?? 0) : 0 };
    return planInstance(input);
  }

  describe(plan: Plan): string {
    return formatPlan(plan);
  }

  async execute(ctx: PlanContext<DesiredInstance, InstanceWorld>, plan: Plan, signal: AbortSignal): Promise<{ world: InstanceWorld; error?: unknown }> {
    const acted: ObservedContainer[] = [...ctx.world.containers];
    try {
      for (const action of plan.actions) await this.act(ctx.key, ctx.desired, action, acted, signal);
      return { world: { ...ctx.world, containers: acted, memory: this.d.memory.get(ctx.key) } };
    } catch (e) {
      // What kept the container from running, as a Warning Event too (repeats fold into its count):
      // `kubectl describe` shows why a Pod never started, not only the status.
      if (ctx.desired && !signal.aborted) {
        const { reason, message } = errorReason(e);
        this.d.recorder.record({ type: 'Warning', reason, message, involvedObject: { kind: ctx.key.kind, namespace: ctx.key.namespace, name: ctx.key.name } });
      }
      return { world: { ...ctx.world, containers: acted, memory: this.d.memory.get(ctx.key) }, error: e };
    }
  }

  status(input: StatusInput<DesiredInstance, InstanceWorld, Plan>): InstanceStatus {
    const { key, desired, world } = input;
    const { supervisor, clock } = this.d;
    const previous = input.previous as InstanceStatus | undefined;
    const current = world ? keptContainer(this.planInput(key, desired, world, clock.now(), false)) : undefined;
    const snap = current ? supervisor.snapshot(current.id) : undefined;
    const last = snap?.context.probe.last;
    const mem = world?.memory ?? this.d.memory.get(key);
    const usage = current && current.state === 'running' ? (this.usage.get(keyString(key), current.id) ?? world?.usage[current.id]) : undefined;
    return instanceStatus({
      desired,
      generation: input.generation,
      ...(current ? { current } : {}),
      ...(snap ? { phase: phaseOf(snap) } : {}),
      ...(last ? { lastProbe: steadyProbe(previous?.containerId === current?.id ? previous?.lastProbe : undefined, last) } : previous?.lastProbe && current && previous.containerId === current.id ? { lastProbe: previous.lastProbe } : {}),
      plan: input.plan ?? { key, actions: [] },
      ...(input.actError ? { actError: input.actError } : {}),
      memory: mem,
      ...(previous ? { previous } : {}),
      ...(usage ? { usage } : {}),
      ...(mem.lastDrift ? { lastDrift: mem.lastDrift } : {}),
      notEnforced: notEnforcedBy(this.d.runtime.name, desired),
      now: input.now,
    });
  }

  pruned(plan: Plan): boolean {
    return plan.actions.length === 0;
  }

  forget(key: ResourceKey): void {
    this.d.memory.delete(key);
    this.usage.forget(keyString(key));
  }

  /**
   * A probe answered: status shows its answer, so when the answer (ok,
   * message) is not the one status holds, the Instance is looked at again.
   */
  probeAnswered(key: ResourceKey, containerId: string, result: { ok: boolean; message: string }): void {
    const status = this.d.store.get(key)?.object.status as InstanceStatus | undefined;
    if (!status || status.containerId !== containerId) return;
    if (status.lastProbe?.ok === result.ok && status.lastProbe.message === result.message) return;
    this.d.wake(key);
  }

  private planInput(key: ResourceKey, desired: DesiredInstance | undefined, world: InstanceWorld, now: number, pruneDisabled: boolean): PlanInput {
    return { controllerId: this.d.controllerId, desired, key, observed: world.containers, memory: world.memory, now, containerName: containerNameFor(key), pruneDisabled };
  }

  /**
   * Usage costs a stats call per container, so a sample is taken at most
   * every 30 s, off the reconcile path; status shows the last sample, written
   * as it arrives (a status-only write: it wakes nothing).
   */
  private sampleUsage(key: ResourceKey, containerId: string): void {
    const id = keyString(key);
    const now = this.d.clock.now();
    if (this.usage.due(id, now, this.d.usageRefreshMs ?? USAGE_REFRESH_MS)) {
      this.usage.taking(id, now);
      this.d.runtime.usage(containerId, AbortSignal.timeout(5000)).then(
        (u) => {
          const usage = {
            ...(u.cpuPercent !== undefined ? { cpu: `${u.cpuPercent.toFixed(1)}%` } : {}),
            ...(u.memoryBytes !== undefined ? { memory: `${Math.round(u.memoryBytes / 1024 / 1024)}Mi` } : {}),
            ...(u.pids !== undefined ? { pids: u.pids } : {}),
          };
          this.usage.set(id, containerId, usage);
          // A sample changes nothing the planner decides: status shows it without a reconcile (a list, a plan) per sample.
          // A reconcile in flight reads the sampler when it writes status, so it does not put the old one back.
          const status = this.d.store.get(key)?.object.status as InstanceStatus | undefined;
          if (status?.containerId === containerId && this.d.supervisor.knowsRunning(containerId)) this.d.store.setStatus(key, { ...status, usage });
        },
        () => undefined,
      );
    }
  }

  private async act(key: ResourceKey, desired: DesiredInstance | undefined, action: Action, world: ObservedContainer[], signal: AbortSignal): Promise<void> {
    const { supervisor, runtime, recorder, memory, clock } = this.d;
    const involved = { kind: 'Instance' as const, namespace: key.namespace, name: key.name };
    switch (action.type) {
      case 'create': {
        const id = await this.createContainer(key, desired!, action.name, signal);
        recorder.record({ type: 'Normal', reason: 'Created', message: `created container ${id12(id)} (${action.cause})`, involvedObject: involved });
        world.push(await runtime.inspect(id, signal));
        return;
      }
      case 'replace': {
        const fields = action.driftedFields?.length ? action.driftedFields.join(', ') : undefined;
        recorder.record({
          type: 'Normal',
          reason: action.reason,
          message: `replacing container ${id12(action.containerId)}: ${action.cause}${fields && !action.cause.includes(fields) ? ` (changed: ${fields})` : ''}`,
          involvedObject: involved,
        });
        if (action.driftedFields?.length) memory.update(key, { lastDrift: { fields: action.driftedFields, at: new Date(clock.now()).toISOString() } });
        const old = world.find((c) => c.id === action.containerId);
        if (action.stopFirst) {
          await supervisor.remove(key, action.containerId, signal);
          dropFrom(world, action.containerId);
          const id = await this.createContainer(key, desired!, action.name, signal);
          world.push(await runtime.inspect(id, signal));
        } else {
          // Create the new one beside the old under a temporary name, let it pass its probe, then swap.
          const id = await this.createContainer(key, desired!, action.tempName, signal);
          const readyTimeoutMs = this.d.replaceReadyTimeoutMs ?? action.readyTimeoutMs;
          if (!(await supervisor.waitReady(key, id, readyTimeoutMs, signal)) && readyTimeoutMs > 0) {
            recorder.record({ type: 'Warning', reason: 'ReplacementNotReady', message: `container ${id12(id)} did not pass its probe within ${Math.round(readyTimeoutMs / 1000)}s; replacing ${id12(action.containerId)} anyway`, involvedObject: involved });
          }
          await supervisor.remove(key, action.containerId, signal);
          dropFrom(world, action.containerId);
          await runtime.promote(id, old?.name ?? action.name, signal);
          world.push(await runtime.inspect(id, signal));
        }
        memory.update(key, { restartCount: 0, lastRestartAt: undefined });
        recorder.record({ type: 'Normal', reason: 'Replaced', message: `container ${id12(action.containerId)} replaced`, involvedObject: involved });
        return;
      }
      case 'restart': {
        memory.update(key, { restartCount: action.attempt, lastRestartAt: clock.now() });
        recorder.record({ type: 'Warning', reason: 'Restarted', message: `restarting container ${id12(action.containerId)} (attempt ${action.attempt}): ${action.cause}`, involvedObject: involved });
        const c = world.find((x) => x.id === action.containerId);
        if (c && c.state === 'running') await supervisor.stop(key, action.containerId, signal);
        await supervisor.start(key, action.containerId, signal);
        replaceIn(world, await runtime.inspect(action.containerId, signal));
        return;
      }
      case 'start': {
        await supervisor.start(key, action.containerId, signal);
        replaceIn(world, await runtime.inspect(action.containerId, signal));
        return;
      }
      case 'rename': {
        await runtime.promote(action.containerId, action.name, signal);
        return;
      }
      case 'stop': {
        await supervisor.stop(key, action.containerId, signal);
        recorder.record({ type: 'Normal', reason: 'Stopped', message: `stopped container ${id12(action.containerId)}: ${action.cause}`, involvedObject: involved });
        replaceIn(world, await runtime.inspect(action.containerId, signal));
        return;
      }
      case 'remove': {
        await supervisor.remove(key, action.containerId, signal);
        dropFrom(world, action.containerId);
        if (action.completed) memory.update(key, { completed: action.completed });
        recorder.record({ type: 'Normal', reason: desired ? 'Removed' : 'Pruned', message: `removed container ${id12(action.containerId)}: ${action.cause}`, involvedObject: involved });
        return;
      }
    }
  }

  private async createContainer(key: ResourceKey, desired: DesiredInstance, name: string, signal: AbortSignal): Promise<string> {
    const labels = ownerLabels(this.d.controllerId, key, desired.hash, this.d.clock.now());
    try {
      return await this.d.supervisor.create(key, { name, template: desired.template, labels }, desired.template.healthCheck, signal);
    } catch (e) {
      if (isRuntimeError(e, 'ImagePullFailed')) throw e;
      if (isRuntimeError(e, 'Conflict')) throw new RuntimeError('Conflict', `cannot create container ${name}: the name is taken by a container berth does not manage (rename or remove it)`, { cause: e });
      throw e;
    }
  }
}

/**
 * Spec fields the runtime cannot enforce: a Pod has no pids limit of its own
 * (the kubelet's --pod-max-pids is node-wide), so a `resources.pids` the spec
 * sets is reported instead of silently dropped.
 */
function notEnforcedBy(runtime: 'docker' | 'kubernetes', desired: DesiredInstance): string[] {
  if (runtime === 'kubernetes' && desired.spec.resources?.pids !== undefined) {
    return [`resources.pids (${desired.spec.resources.pids}): Pods have no per-Pod pids limit; the node's kubelet --pod-max-pids applies`];
  }
  return [];
}

/**
 * status.lastProbe changes only when the probe's answer does (ok, message):
 * its time is when that answer began. A new time on every probe rewrote the
 * status every periodSeconds (7 resourceVersions in 30 s at periodSeconds 5)
 * with nothing new for the user.
 */
function steadyProbe(previous: InstanceStatus['lastProbe'], result: { ok: boolean; message: string; time: number }): NonNullable<InstanceStatus['lastProbe']> {
  if (previous && previous.ok === result.ok && previous.message === result.message) return previous;
  return { time: new Date(result.time).toISOString(), ok: result.ok, message: result.message };
}

const dropFrom = (world: ObservedContainer[], id: string): void => {
  const i = world.findIndex((c) => c.id === id);
  if (i >= 0) world.splice(i, 1);
};
const replaceIn = (world: ObservedContainer[], c: ObservedContainer): void => {
  const i = world.findIndex((x) => x.id === c.id);
  if (i >= 0) world[i] = c;
  else world.push(c);
};
