// One Instance reconcile, as numbered steps: load, observe once, plan (pure),
// act through the lifecycle supervisor, write status always, then throw the
// act error (so the retry happens with status already true) or requeue at the
// next deadline.
import { containerNameFor, desiredInstance, ownerLabels } from '../spec/desired.js';
import type { ControllerPolicy } from '../spec/policy.js';
import type { Instance, ResourceKey } from '../spec/schema.js';
import { PRUNE_ANNOTATION, type Action, type DesiredInstance, type Plan, type PlanInput } from '../reconcile/types.js';
import { keptContainer, planInstance } from '../reconcile/plan-instance.js';
import { formatPlan } from '../reconcile/format.js';
import { instanceStatus } from '../reconcile/instance-status.js';
import type { InstanceStatus } from '../spec/status.js';
import type { ObservedContainer, Runtime } from '../runtime/types.js';
import { RuntimeError, isRuntimeError } from '../runtime/errors.js';
import { errorReason } from './error-reason.js';
import { unobservedStatus } from './unobserved-status.js';
import { phaseOf, type Supervisor } from '../lifecycle/supervisor.js';
import type { ResourceStore } from './resource-store.js';
import type { EventRecorder } from './event-recorder.js';
import type { MemoryStore } from './memory-store.js';
import type { Clock } from './clock.js';
import { id12 } from '../reconcile/container.js';

export interface InstanceReconcilerDeps {
  controllerId: string;
  store: ResourceStore;
  runtime: Runtime;
  supervisor: Supervisor;
  recorder: EventRecorder;
  memory: MemoryStore;
  policy: ControllerPolicy;
  clock: Clock;
  /** How long a replacement may take to pass its probe before the old container goes anyway. */
  replaceReadyTimeoutMs?: number;
  usageRefreshMs?: number;
  logger?: { debug(o: object, msg?: string): void };
  /** The spec is gone and so are its containers (or pruning is disabled): a finalizer may be removed. */
  onPruned?: (key: ResourceKey) => void;
}

const USAGE_REFRESH_MS = 30_000;

export class InstanceReconciler {
  /** Specs seen last, so a deleted spec's prune opt-out is still known. */
  private readonly lastPruneDisabled = new Map<string, boolean>();
  private readonly usageAt = new Map<string, number>();

  constructor(private readonly d: InstanceReconcilerDeps) {}

  async reconcile(key: ResourceKey, signal: AbortSignal): Promise<{ requeueAfterMs?: number }> {
    const { store, runtime, supervisor, memory, clock } = this.d;
    const id = `${key.namespace}/${key.name}`;

    // 1. Load the desired state (absent: the spec was deleted, so prune).
    const entry = store.get(key);
    const resource = entry?.resource as Instance | undefined;
    const desired = resource ? desiredInstance(resource, this.d.policy) : undefined;
    if (desired) this.lastPruneDisabled.set(id, desired.annotations[PRUNE_ANNOTATION] === 'disabled');

    // 2. Observe once.
    let observed: ObservedContainer[];
    try {
      observed = await runtime.list({ managedBy: this.d.controllerId, kind: 'Instance', namespace: key.namespace, name: key.name }, signal);
    } catch (e) {
      const previous = entry?.object.status as InstanceStatus | undefined;
      if (desired && entry && previous) store.setStatus(key, unobservedStatus(previous, errorReason(e), entry.object.metadata.generation, clock.now()));
      else if (desired && entry) this.writeStatus(key, desired, entry.object.metadata.generation, undefined, emptyPlan(key), errorReason(e));
      throw e;
    }
    supervisor.observe(key, observed, desired?.template.healthCheck, desired?.template.stopGracePeriodSeconds ?? 10);

    // 3. Plan, pure.
    const now = clock.now();
    const input: PlanInput = {
      controllerId: this.d.controllerId,
      desired,
      key,
      observed,
      memory: memory.get(key),
      now,
      containerName: containerNameFor(key),
      pruneDisabled: this.lastPruneDisabled.get(id) ?? false,
    };
    const current = keptContainer(input);
    input.memory = { ...input.memory, probeFailures: current ? (supervisor.snapshot(current.id)?.context.probe.failures ?? 0) : 0 };
    const plan = planInstance(input);
    this.d.logger?.debug({ plan: formatPlan(plan), observed: observed.map((c) => `${id12(c.id)}:${c.state}:${c.exitCode ?? ''}`) }, 'plan');

    // 4. Act.
    const acted: ObservedContainer[] = [...observed];
    let actError: unknown;
    try {
      for (const action of plan.actions) await this.act(key, desired, action, acted, signal);
    } catch (e) {
      actError = e;
      // What kept the container from running, as a Warning Event too (repeats fold into its count):
      // `kubectl describe` shows why a Pod never started, not only the status.
      if (desired && !signal.aborted) {
        const { reason, message } = errorReason(e);
        this.d.recorder.record({ type: 'Warning', reason, message, involvedObject: { kind: key.kind, namespace: key.namespace, name: key.name } });
      }
    }

    // 5. Status, always.
    if (!desired) {
      if (plan.actions.length === 0 && !actError) {
        memory.delete(key);
        this.lastPruneDisabled.delete(id);
        this.d.onPruned?.(key);
      } else if (!actError) {
        // Look once more so the owner learns the prune finished (a finalizer waits on it).
        return { requeueAfterMs: 0 };
      }
    } else if (entry) {
      this.writeStatus(key, desired, entry.object.metadata.generation, keptContainer({ ...input, observed: acted, now: clock.now() }), plan, actError ? errorReason(actError) : undefined);
    }
    if (actError) throw actError;

    // 6. Deadlines become requeues.
    return plan.nextDeadline !== undefined ? { requeueAfterMs: Math.max(0, plan.nextDeadline - clock.now()) } : {};
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
          reason: action.cause.startsWith('max age') ? 'MaxAgeExceeded' : 'ConfigDrift',
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
          const tempName = `${action.name}-${desired!.hash.hash.slice(3, 11)}`;
          const id = await this.createContainer(key, desired!, tempName, signal);
          await supervisor.waitReady(key, id, this.d.replaceReadyTimeoutMs ?? readyTimeoutMs(desired!), signal);
          await supervisor.remove(key, action.containerId, signal);
          dropFrom(world, action.containerId);
          await runtime.rename(id, old?.name ?? action.name, signal);
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
        await runtime.rename(action.containerId, action.name, signal);
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

  private writeStatus(
    key: ResourceKey,
    desired: DesiredInstance,
    generation: number,
    current: ObservedContainer | undefined,
    plan: Plan,
    actError: { reason: string; message: string } | undefined,
  ): void {
    const { store, supervisor, memory, clock } = this.d;
    const previous = store.get(key)?.object.status as InstanceStatus | undefined;
    const snap = current ? supervisor.snapshot(current.id) : undefined;
    const last = snap?.context.probe.last;
    const mem = memory.get(key);
    const status = instanceStatus({
      desired,
      generation,
      ...(current ? { current } : {}),
      ...(snap ? { phase: phaseOf(snap) } : {}),
      ...(last ? { lastProbe: steadyProbe(previous?.containerId === current?.id ? previous?.lastProbe : undefined, last) } : previous?.lastProbe && current && previous.containerId === current.id ? { lastProbe: previous.lastProbe } : {}),
      plan,
      ...(actError ? { actError } : {}),
      memory: mem,
      ...(previous ? { previous } : {}),
      ...(previous?.usage && previous.containerId === current?.id ? { usage: previous.usage } : {}),
      ...(mem.lastDrift ? { lastDrift: mem.lastDrift } : {}),
      notEnforced: notEnforcedBy(this.d.runtime.name, desired),
      now: clock.now(),
    });
    store.setStatus(key, status);
    if (current && current.state === 'running') this.refreshUsage(key, current.id);
  }

  /** Usage costs a stats call per container, so it is refreshed at most every 30 s, off the reconcile path. */
  private refreshUsage(key: ResourceKey, containerId: string): void {
    const id = `${key.namespace}/${key.name}`;
    const now = this.d.clock.now();
    if (now - (this.usageAt.get(id) ?? 0) < (this.d.usageRefreshMs ?? USAGE_REFRESH_MS)) return;
    this.usageAt.set(id, now);
    this.d.runtime.usage(containerId, AbortSignal.timeout(5000)).then(
      (u) => {
        const status = this.d.store.get(key)?.object.status as InstanceStatus | undefined;
        if (!status || status.containerId !== containerId) return;
        const usage = {
          ...(u.cpuPercent !== undefined ? { cpu: `${u.cpuPercent.toFixed(1)}%` } : {}),
          ...(u.memoryBytes !== undefined ? { memory: `${Math.round(u.memoryBytes / 1024 / 1024)}Mi` } : {}),
          ...(u.pids !== undefined ? { pids: u.pids } : {}),
        };
        this.d.store.setStatus(key, { ...status, usage });
      },
      () => undefined,
    );
  }

  /** Whether a resync snapshot shows work for this key (so a converged system is left alone). */
  needsReconcile(key: ResourceKey, observed: ObservedContainer[]): boolean {
    const entry = this.d.store.get(key);
    const desired = entry ? desiredInstance(entry.resource as Instance, this.d.policy) : undefined;
    const status = entry?.object.status as InstanceStatus | undefined;
    if (entry && (!status || status.observedGeneration !== entry.object.metadata.generation)) return true;
    if (status?.containerId !== undefined && !observed.some((c) => c.id === status.containerId)) return true;
    const now = this.d.clock.now();
    const plan = planInstance({
      controllerId: this.d.controllerId,
      desired,
      key,
      observed,
      memory: this.d.memory.get(key),
      now,
      containerName: containerNameFor(key),
      pruneDisabled: this.lastPruneDisabled.get(`${key.namespace}/${key.name}`) ?? false,
    });
    return plan.actions.length > 0 || (plan.nextDeadline !== undefined && plan.nextDeadline <= now);
  }

  /** Writes a probe result into status without a reconcile (probes run every period; reconciles should not). */
  recordProbe(key: ResourceKey, containerId: string, result: { ok: boolean; message: string; time: number }): void {
    const status = this.d.store.get(key)?.object.status as InstanceStatus | undefined;
    if (!status || status.containerId !== containerId) return;
    const lastProbe = steadyProbe(status.lastProbe, result);
    if (lastProbe === status.lastProbe) return; // same answer: nothing a user reads changed, no status write
    this.d.store.setStatus(key, { ...status, lastProbe });
  }
}

const emptyPlan = (key: ResourceKey): Plan => ({ key, actions: [] });

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

function readyTimeoutMs(desired: DesiredInstance): number {
  const h = desired.template.healthCheck;
  if (!h) return 0;
  return (h.initialDelaySeconds + h.periodSeconds * (h.failureThreshold + 1)) * 1000;
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
