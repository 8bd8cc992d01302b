// Keeps one lifecycle actor per managed container and turns plan actions into
// events for them. Actors are rehydrated from what the runtime reports, so a
// controller restart resumes where the engine is, not where memory was.
import { randomUUID } from 'node:crypto';
import { createActor, fromCallback, fromPromise, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import { lifecycleMachine, type LifecycleEvent, type LifecycleInput, type ProbeInput } from './machine.js';
import { runProbe, type HealthCheck } from './probe.js';
import type { CreateRequest, ObservedContainer, Runtime } from '../runtime/types.js';
import type { ResourceKey } from '../spec/schema.js';
import { RuntimeError } from '../runtime/errors.js';

type Actor = ActorRefFrom<typeof lifecycleMachine>;
type Snapshot = SnapshotFrom<typeof lifecycleMachine>;

export interface OperationLimiter {
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

export interface SupervisorOptions {
  runtime: Runtime;
  /** The global --max-concurrent-ops limit. */
  limiter: OperationLimiter;
  /** A container's lifecycle state changed (not every probe): the owner should be reconciled. */
  onTransition: (owner: ResourceKey) => void;
  /**
   * An operation failed for good (a refusal, or retries exhausted): the owner
   * should be reconciled again, but through the work queue's per-key backoff
   * (default: onTransition). An immediate requeue re-planned the same
   * refused create at once: a hot loop (issue 14, item 2).
   */
  onFailed?: (owner: ResourceKey) => void;
  /** A probe ran; its result may be written to status without a reconcile. */
  onProbe?: (owner: ResourceKey, containerId: string, result: { ok: boolean; message: string; time: number }) => void;
  /** Latency of one runtime operation, for metrics. */
  observeOp?: (op: string, result: 'success' | 'error', seconds: number) => void;
  maxAttempts?: number;
}

interface Entry {
  actor: Actor;
  owner: ResourceKey;
  health?: HealthCheck;
}

/**
 * Phases an operation passes through while its caller awaits it (the
 * reconcile that asked for it, or the actor's own retry): they need no
 * reconcile of their own, and enqueuing the owner for them marked it dirty
 * mid-reconcile, so a failing create ran again at once, past the backoff.
 */
const IN_FLIGHT_PHASES: ReadonlySet<string> = new Set(['Pending', 'Creating', 'Starting', 'Stopping', 'Removing']);

/** The user-visible phase of a container: the machine's state, capitalised. */
export function phaseOf(snapshot: Snapshot): string {
  const value = snapshot.value;
  const leaf = typeof value === 'string' ? value : `${Object.keys(value)[0]}.${Object.values(value)[0] as string}`;
  switch (leaf) {
    case 'running.probing':
      return 'Probing';
    case 'running.ready':
      return 'Ready';
    case 'running.unhealthy':
      return 'Unhealthy';
    case 'init':
      return 'Pending';
    default:
      return leaf.charAt(0).toUpperCase() + leaf.slice(1);
  }
}

export class Supervisor {
  private readonly entries = new Map<string, Entry>();
  private readonly machine;

  constructor(private readonly opts: SupervisorOptions) {
    const { runtime } = opts;
    const op = <T>(name: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> =>
      opts.limiter.run(async () => {
        const started = performance.now();
        try {
          const out = await fn();
          opts.observeOp?.(name, 'success', (performance.now() - started) / 1000);
          return out;
        } catch (e) {
          opts.observeOp?.(name, 'error', (performance.now() - started) / 1000);
          throw e;
        }
      }, signal);
    this.machine = lifecycleMachine.provide({
      actors: {
        createContainer: fromPromise<string, { request: CreateRequest }>(async ({ input, signal }) => {
          await op('pull', signal, () => runtime.ensureImage(input.request.template.image, input.request.template.imagePullPolicy, signal));
          return op('create', signal, () => runtime.create(input.request, signal));
        }),
        startContainer: fromPromise<void, { containerId: string }>(({ input, signal }) => op('start', signal, () => runtime.start(input.containerId, signal))),
        stopContainer: fromPromise<void, { containerId: string; graceSeconds: number }>(({ input, signal }) =>
          op('stop', signal, () => runtime.stop(input.containerId, input.graceSeconds, signal)),
        ),
        removeContainer: fromPromise<void, { containerId: string }>(({ input, signal }) => op('remove', signal, () => runtime.remove(input.containerId, signal))),
        prober: fromCallback<LifecycleEvent, ProbeInput>(({ input, sendBack }) => this.probeLoop(input, sendBack)),
      },
    });
  }

  /**
   * Brings actors in line with what the runtime reports for one owner: new
   * actors for containers without one (rehydration), OBSERVED events for the
   * rest, and actors whose container vanished are dropped.
   */
  observe(owner: ResourceKey, observed: ObservedContainer[], health: HealthCheck | undefined, graceSeconds: number): void {
    const seen = new Set<string>();
    for (const c of observed) {
      seen.add(c.id);
      const entry = this.findById(c.id);
      if (entry) {
        entry.actor.send({ type: 'OBSERVED', state: c.state, ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}) });
        continue;
      }
      this.spawn(owner, health, { containerId: c.id, observedState: c.state, ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}), graceSeconds });
    }
    for (const [actorId, entry] of this.entries) {
      if (!sameKey(entry.owner, owner)) continue;
      const snap = entry.actor.getSnapshot();
      const id = snap.context.containerId;
      const inFlight = snap.matches('pending') || snap.matches('creating') || snap.matches('init');
      if (!inFlight && (id === undefined || !seen.has(id))) {
        entry.actor.stop();
        this.entries.delete(actorId);
      }
    }
  }

  /** Creates and starts a container; resolves with its id once it runs. */
  async create(owner: ResourceKey, request: CreateRequest, health: HealthCheck | undefined, signal: AbortSignal): Promise<string> {
    const actor = this.spawn(owner, health, { request, graceSeconds: request.template.stopGracePeriodSeconds });
    const snap = await this.until(actor, (s) => s.matches('running') || s.matches('stopped'), signal);
    return snap.context.containerId!;
  }

  async start(owner: ResourceKey, containerId: string, signal: AbortSignal): Promise<void> {
    const actor = this.actorFor(owner, containerId);
    actor.send({ type: 'START' });
    await this.until(actor, (s) => s.matches('running'), signal);
  }

  async stop(owner: ResourceKey, containerId: string, signal: AbortSignal): Promise<void> {
    const actor = this.actorFor(owner, containerId);
    actor.send({ type: 'STOP' });
    await this.until(actor, (s) => s.matches('stopped'), signal);
  }

  async remove(owner: ResourceKey, containerId: string, signal: AbortSignal): Promise<void> {
    const actor = this.actorFor(owner, containerId);
    actor.send({ type: 'REMOVE' });
    await this.until(actor, (s) => s.status === 'done', signal);
  }

  /** Waits until the container passes its probe (or has none); false on timeout. */
  async waitReady(owner: ResourceKey, containerId: string, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    const actor = this.actorFor(owner, containerId);
    try {
      await this.until(actor, (s) => s.matches({ running: 'ready' }), AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]));
      return true;
    } catch (e) {
      if (signal.aborted) throw e;
      return false;
    }
  }

  snapshot(containerId: string): Snapshot | undefined {
    return this.findById(containerId)?.actor.getSnapshot();
  }

  /** Containers of an owner that berth is creating right now (no id yet). */
  pendingFor(owner: ResourceKey): number {
    let n = 0;
    for (const e of this.entries.values()) if (sameKey(e.owner, owner) && e.actor.getSnapshot().context.containerId === undefined) n++;
    return n;
  }

  /** Stops every actor: in-flight operations are aborted, containers are left as they are. */
  stopAll(): void {
    for (const e of this.entries.values()) e.actor.stop();
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private spawn(owner: ResourceKey, health: HealthCheck | undefined, input: LifecycleInput): Actor {
    const actorId = randomUUID();
    const actor = createActor(this.machine, { input: { ...input, ...(health ? { health } : {}), ...(this.opts.maxAttempts ? { maxAttempts: this.opts.maxAttempts } : {}) } });
    let last = '';
    actor.subscribe({
      next: (s) => {
        const phase = phaseOf(s);
        if (phase !== last) {
          last = phase;
          if (s.matches('failed')) {
            // A transient failure is retried by the actor itself; one it gave up on goes through the queue's backoff.
            if (s.context.gaveUp) (this.opts.onFailed ?? this.opts.onTransition)(owner);
          } else if (!IN_FLIGHT_PHASES.has(phase)) {
            this.opts.onTransition(owner);
          }
        }
        if (s.status === 'done') this.entries.delete(actorId);
      },
      error: () => this.entries.delete(actorId),
    });
    this.entries.set(actorId, { actor, owner, ...(health ? { health } : {}) });
    actor.start();
    return actor;
  }

  private actorFor(owner: ResourceKey, containerId: string): Actor {
    const entry = this.findById(containerId);
    if (entry) return entry.actor;
    // Not seen yet (e.g. created by a previous controller): adopt it as the runtime will report it.
    return this.spawn(owner, undefined, { containerId, observedState: 'exited', graceSeconds: 10 });
  }

  private findById(containerId: string): Entry | undefined {
    for (const e of this.entries.values()) if (e.actor.getSnapshot().context.containerId === containerId) return e;
    return undefined;
  }

  private until(actor: Actor, done: (s: Snapshot) => boolean, signal: AbortSignal): Promise<Snapshot> {
    return new Promise((resolve, reject) => {
      const check = (s: Snapshot): boolean => {
        if (done(s)) {
          finish();
          resolve(s);
          return true;
        }
        if (s.matches('failed') && s.context.gaveUp) {
          finish();
          const err = s.context.lastError;
          reject(err instanceof RuntimeError ? err : new RuntimeError('Unknown', `${s.context.failedOp ?? 'operation'} failed: ${err?.message ?? 'unknown error'}`, { cause: err }));
          return true;
        }
        if (s.status === 'done' || s.status === 'stopped') {
          finish();
          reject(new RuntimeError('Unavailable', 'container lifecycle ended before the operation completed'));
          return true;
        }
        return false;
      };
      const onAbort = (): void => {
        finish();
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      let sub: { unsubscribe(): void } | undefined;
      const finish = (): void => {
        sub?.unsubscribe();
        signal.removeEventListener('abort', onAbort);
      };
      if (signal.aborted) return onAbort();
      if (check(actor.getSnapshot())) return;
      signal.addEventListener('abort', onAbort, { once: true });
      sub = actor.subscribe({ next: (s) => void check(s), complete: () => void check(actor.getSnapshot()) });
    });
  }

  private probeLoop(input: ProbeInput, sendBack: (e: LifecycleEvent) => void): () => void {
    const health = input.health;
    if (!health) return () => undefined;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let ip: string | undefined;
    let resolvedIp = false;
    const entry = this.findById(input.containerId);
    const tick = async (): Promise<void> => {
      if (controller.signal.aborted) return;
      if (!resolvedIp) {
        ip = await this.opts.runtime.inspect(input.containerId, controller.signal).then((c) => c.ip, () => undefined);
        resolvedIp = true;
      }
      const outcome = await runProbe(this.opts.runtime, input.containerId, health, ip, controller.signal);
      if (controller.signal.aborted) return;
      const result = { ...outcome, time: Date.now() };
      sendBack({ type: 'PROBE', ...result });
      if (entry) this.opts.onProbe?.(entry.owner, input.containerId, result);
      timer = setTimeout(() => void tick(), health.periodSeconds * 1000);
    };
    // The first probe runs soon after start (not a full period later), so a warm container is ready quickly.
    timer = setTimeout(() => void tick(), Math.max(health.initialDelaySeconds * 1000, 50));
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }
}

const sameKey = (a: ResourceKey, b: ResourceKey): boolean => a.kind === b.kind && a.namespace === b.namespace && a.name === b.name;
