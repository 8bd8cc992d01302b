// Keeps one lifecycle actor per managed container and turns plan actions into
// events for them. Actors are rehydrated from what the runtime reports, so a
// controller restart resumes where the engine is, not where memory was.
import { randomUUID } from 'node:crypto';
import { createActor, fromCallback, fromPromise, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import { lifecycleMachine, type LaunchInput, type LifecycleEvent, type LifecycleInput, type ProbeInput, type RetireInput } from './machine.js';
import { runPaced } from './paced-steps.js';
import { runProbe, type HealthCheck } from './probe.js';
import { LABEL, type CreateRequest, type ObservedContainer, type ObservedPort, type OperationStep, type Runtime } from '../runtime/types.js';
import type { ResourceKey } from '../spec/schema.js';
import type { MemberActor } from '../reconcile/pool/member-observation.js';
import { isRuntimeError, RuntimeError } from '../runtime/errors.js';
import { systemClock, type Clock } from '../time/clock.js';
import { ActorIndex } from './actor-index.js';

type Actor = ActorRefFrom<typeof lifecycleMachine>;
type Snapshot = SnapshotFrom<typeof lifecycleMachine>;

export interface OperationLimiter {
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

export interface SupervisorOptions {
  runtime: Runtime;
  /** The global --max-concurrent-ops limit. */
  limiter: OperationLimiter;
  /**
   * A container's lifecycle phase changed (not every probe, nor the steps of
   * an operation in flight): the owner should be reconciled. `phase` is the
   * new phase ("Ready", "Removed", ...).
   */
  onTransition: (owner: ResourceKey, phase: string, containerId: string | undefined) => void;
  /**
   * An operation failed for good (a refusal, or retries exhausted): the owner
   * should be reconciled again, but through the work queue's per-key backoff
   * (default: onTransition). An immediate requeue re-planned the same
   * refused create at once: a hot loop (issue 14, item 2).
   */
  onFailed?: (owner: ResourceKey) => void;
  /** A probe ran; its result may be written to status without a reconcile. */
  onProbe?: (owner: ResourceKey, containerId: string, result: { ok: boolean; message: string; time: number }) => void;
  /**
   * Whether a running container's probe should run now (default: always). A
   * claimed pool member is its claimant's: its probe decides nothing (it is
   * never disrupted), and every exec it costs is engine time the members
   * still starting wait for.
   */
  probeWanted?: (owner: ResourceKey, labels: Record<string, string>) => boolean;
  /** Latency of one runtime operation, for metrics. */
  observeOp?: (op: string, result: 'success' | 'error', seconds: number) => void;
  maxAttempts?: number;
  /**
   * Time for probes, retry backoff (the machine's delays), readiness waits and
   * timestamps; a FakeClock drives them in tests. Default: the system clock.
   */
  clock?: Clock;
}

interface Entry {
  actor: Actor;
  owner: ResourceKey;
  /** berth's labels on the container (from the create request, or as observed). */
  labels: Record<string, string>;
  /** Epoch ms the container was created (label berth.dev/created-at, or the engine's time). */
  createdAt: number;
  ports: ObservedPort[];
  /** Epoch ms it last became ready. */
  readySince?: number;
  /** Controller time (performance.now) its container id became known: a list started before then may not show it. */
  knownAt?: number;
  /**
   * The view last made of it and what it was made from: a snapshot is
   * immutable, so the view holds until the actor moves or a list brings new
   * ports or it becomes ready again (a claim reads every member's view, and
   * snapshot.matches is not cheap). Its labels never change.
   */
  view?: { snap: unknown; ports: ObservedPort[]; readySince: number | undefined; value: ActorView };
}

/** A pool member (or any container) as its actor knows it, between two lists. */
export interface ActorView extends MemberActor {
  /** Epoch ms of its last passing probe. */
  lastReadyAt?: number;
  /** Operations gave up: the error the owner's reconcile reports. */
  failed?: Error;
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
    // The steps of one launch or retire call read as the phases of the steps they are.
    case 'launching.creating':
      return 'Creating';
    case 'launching.starting':
      return 'Starting';
    case 'retiring.stopping':
      return 'Stopping';
    case 'retiring.removing':
      return 'Removing';
    default:
      return leaf.charAt(0).toUpperCase() + leaf.slice(1);
  }
}

export class Supervisor {
  private readonly entries = new ActorIndex<Entry>();
  private readonly machine;
  private readonly clock: Clock;
  /** The same clock as xstate wants it (timer ids), for the machine's `after` delays. */
  private readonly actorClock: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(id: unknown): void };

  constructor(private readonly opts: SupervisorOptions) {
    const clock = (this.clock = opts.clock ?? systemClock);
    this.actorClock = { setTimeout: (fn, ms) => clock.setTimeout(fn, ms), clearTimeout: (cancel) => (cancel as (() => void) | undefined)?.() };
    const { runtime } = opts;
    const paced = (signal: AbortSignal) => ({ limiter: opts.limiter, signal, ...(opts.observeOp ? { observe: opts.observeOp } : {}) });
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
        launchMember: fromCallback<LifecycleEvent, LaunchInput>(({ input, sendBack }) => {
          const abort = new AbortController();
          const signal = abort.signal;
          let step: 'create' | 'start' = 'create';
          const heard = (s: OperationStep): void => {
            if (s.name !== 'start') return;
            step = 'start';
            sendBack({ type: 'launch.created', containerId: s.memberId });
          };
          void (async () => {
            await op('pull', signal, () => runtime.ensureImage(input.request.template.image, input.request.template.imagePullPolicy, signal));
            await runPaced((onStep) => runtime.launch(input.request, signal, onStep), { ...paced(signal), heard, firstStep: 'create' });
          })().then(
            () => sendBack({ type: 'launch.done' }),
            (error: unknown) => sendBack({ type: 'launch.failed', step, error }),
          );
          return () => abort.abort();
        }),
        relaunchMember: fromPromise<void, { containerId: string }>(({ input, signal }) => op('start', signal, () => runtime.relaunch(input.containerId, signal))),
        // A container that is already gone is halted: the goal is met, not an error (retire says so itself).
        haltMember: fromPromise<void, { containerId: string; graceSeconds: number }>(({ input, signal }) =>
          op('stop', signal, () => goneIsDone(runtime.halt(input.containerId, input.graceSeconds, signal))),
        ),
        retireMember: fromCallback<LifecycleEvent, RetireInput>(({ input, sendBack }) => {
          const abort = new AbortController();
          const signal = abort.signal;
          let step: 'stop' | 'remove' = input.graceSeconds > 0 ? 'stop' : 'remove';
          const heard = (s: OperationStep): void => {
            if (s.name !== 'stop' && s.name !== 'remove') return;
            step = s.name;
            sendBack({ type: 'retire.step', step });
          };
          void runPaced((onStep) => runtime.retire(input.containerId, input.graceSeconds, signal, onStep), { ...paced(signal), heard, firstStep: step }).then(
            () => sendBack({ type: 'retire.done' }),
            (error: unknown) => sendBack({ type: 'retire.failed', step, error }),
          );
          return () => abort.abort();
        }),
        prober: fromCallback<LifecycleEvent, ProbeInput>(({ input, sendBack }) => this.probeLoop(input, sendBack)),
      },
    });
  }

  /**
   * Brings actors in line with what the runtime reports for one owner: new
   * actors for containers without one (rehydration), OBSERVED events for the
   * rest, and actors whose container vanished are dropped.
   */
  observe(owner: ResourceKey, observed: ObservedContainer[], health: HealthCheck | undefined, graceSeconds: number, listStartedAt = -Infinity): ObservedContainer[] {
    const seen = new Set<string>();
    const current: ObservedContainer[] = [];
    for (const c of observed) {
      // Removed by its actor after the list was taken: the list is stale about it.
      if (this.removedAt(c.id) !== undefined) continue;
      seen.add(c.id);
      current.push(c);
      const entry = this.findById(c.id);
      if (entry) {
        entry.ports = c.ports;
        entry.actor.send({ type: 'OBSERVED', state: c.state, ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}) });
        continue;
      }
      // Listed before the create call that made it returned: the actor creating it owns it, not a second one.
      if (this.creatingFor(owner, c.labels) !== undefined) continue;
      this.spawn(owner, health, { containerId: c.id, observedState: c.state, ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}), graceSeconds }, { labels: c.labels, createdAt: c.createdAt, ports: c.ports });
    }
    for (const [actorId, entry] of this.entries.ofOwner(owner)) {
      const snap = entry.actor.getSnapshot();
      const id = snap.context.containerId;
      const inFlight = snap.matches('pending') || snap.matches({ launching: 'creating' }) || snap.matches('init');
      // Created after the list started: the list cannot know it yet.
      const newerThanList = entry.knownAt !== undefined && entry.knownAt >= listStartedAt;
      if (!inFlight && !newerThanList && (id === undefined || !seen.has(id))) {
        entry.actor.stop();
        this.entries.delete(actorId);
      }
    }
    return current;
  }

  /**
   * Starts creating and starting a container and returns at once: the owner
   * hears of progress through onTransition, and of a failure through
   * `views(owner)` (failed) once retries gave up.
   */
  launch(owner: ResourceKey, request: CreateRequest, health: HealthCheck | undefined): void {
    this.spawn(owner, health, { request, graceSeconds: request.template.stopGracePeriodSeconds }, { labels: request.labels, createdAt: Number(request.labels[LABEL.createdAt]) || this.clock.now(), ports: [] });
  }

  /** The actor of this owner still creating a container with these labels' member id (its id not known yet). */
  private creatingFor(owner: ResourceKey, labels: Record<string, string>): Entry | undefined {
    const member = labels[LABEL.member];
    if (member === undefined) return undefined;
    for (const [, e] of this.entries.ofOwner(owner)) {
      if (e.labels[LABEL.member] === member && e.actor.getSnapshot().context.containerId === undefined) return e;
    }
    return undefined;
  }

  /** Starts stopping (within graceSeconds) and removing a container and returns at once. */
  terminate(owner: ResourceKey, containerId: string, graceSeconds: number, member?: string): void {
    // A member still being created has no container id yet: its actor is found by its member label.
    const pending = member === undefined || this.findById(containerId) ? undefined : [...this.entries.ofOwner(owner)].map(([, e]) => e).find((e) => e.labels[LABEL.member] === member && e.actor.getSnapshot().context.containerId === undefined);
    (pending?.actor ?? this.actorFor(owner, containerId)).send({ type: 'REMOVE', graceSeconds });
  }

  /** The member must pass its probe again before it serves (a Reuse recycle). */
  reprobe(containerId: string): void {
    const e = this.findById(containerId);
    if (!e) return;
    // Without a probe the machine is ready again in this same step: spawn's subscriber sees it by its count of ready entries.
    e.actor.send({ type: 'REPROBE' });
  }

  /** The owner's containers as their actors know them now, in-flight creates included. */
  views(owner: ResourceKey): ActorView[] {
    const out: ActorView[] = [];
    for (const [, e] of this.entries.ofOwner(owner)) {
      const snap = e.actor.getSnapshot();
      const cached = e.view;
      if (cached && cached.snap === snap && cached.ports === e.ports && cached.readySince === e.readySince) {
        out.push(cached.value);
        continue;
      }
      const ctx = snap.context;
      const failed = snap.matches('failed') && ctx.gaveUp ? (ctx.lastError ?? new Error(`${ctx.failedOp ?? 'operation'} failed`)) : undefined;
      const last = ctx.probe.last;
      const value: ActorView = {
        ...(ctx.containerId !== undefined ? { containerId: ctx.containerId } : {}),
        labels: e.labels,
        createdAt: e.createdAt,
        ports: e.ports,
        phase: phaseOf(snap),
        ready: snap.matches({ running: 'ready' }),
        terminating: ctx.target === 'removed',
        ...(last?.ok ? { lastReadyAt: last.time } : ctx.health === undefined && snap.matches({ running: 'ready' }) ? { lastReadyAt: e.readySince ?? 0 } : {}),
        ...(failed ? { failed } : {}),
      };
      // Frozen: every caller until the next move shares it.
      e.view = { snap, ports: e.ports, readySince: e.readySince, value: Object.freeze(value) };
      out.push(value);
    }
    return out;
  }

  /**
   * Forgets actors of the owner whose operations gave up, and returns their
   * errors: the owner's reconcile reports them (status, then the work queue's
   * backoff), and the next plan decides afresh.
   */
  takeFailures(owner: ResourceKey): Error[] {
    const errors: Error[] = [];
    for (const [actorId, e] of this.entries.ofOwner(owner)) {
      const snap = e.actor.getSnapshot();
      if (!(snap.matches('failed') && snap.context.gaveUp)) continue;
      errors.push(snap.context.lastError ?? new Error(`${snap.context.failedOp ?? 'operation'} failed`));
      e.actor.stop();
      this.entries.delete(actorId);
    }
    return errors;
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
    const deadline = new AbortController();
    const cancelDeadline = this.clock.setTimeout(() => deadline.abort(new Error(`not ready within ${timeoutMs} ms`)), timeoutMs);
    try {
      await this.until(actor, (s) => s.matches({ running: 'ready' }), AbortSignal.any([signal, deadline.signal]));
      return true;
    } catch (e) {
      if (signal.aborted) throw e;
      return false;
    } finally {
      cancelDeadline();
    }
  }

  /** This container's actor has it running (started it, or saw it run). */
  knowsRunning(containerId: string): boolean {
    return this.snapshot(containerId)?.matches('running') ?? false;
  }

  /** berth is stopping or removing this container itself (its actor's target is not running). */
  stopping(containerId: string): boolean {
    const target = this.snapshot(containerId)?.context.target;
    return target !== undefined && target !== 'running';
  }

  snapshot(containerId: string): Snapshot | undefined {
    return this.findById(containerId)?.actor.getSnapshot();
  }

  /** Stops every actor: in-flight operations are aborted, containers are left as they are. */
  stopAll(): void {
    for (const e of this.entries.values()) e.actor.stop();
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private spawn(owner: ResourceKey, health: HealthCheck | undefined, input: LifecycleInput, known?: { labels: Record<string, string>; createdAt: number; ports: ObservedPort[] }): Actor {
    const actorId = randomUUID();
    const actor = createActor(this.machine, { clock: this.actorClock, input: { ...input, ...(health ? { health } : {}), ...(this.opts.maxAttempts ? { maxAttempts: this.opts.maxAttempts } : {}) } });
    const entry: Entry = { actor, owner, labels: known?.labels ?? {}, createdAt: known?.createdAt ?? this.clock.now(), ports: known?.ports ?? [], ...(input.containerId !== undefined ? { knownAt: performance.now() } : {}) };
    let last = '';
    actor.subscribe({
      next: (s) => {
        if (s.context.containerId !== undefined) {
          if (entry.knownAt === undefined) entry.knownAt = performance.now();
          this.entries.setContainer(actorId, s.context.containerId);
        }
        const phase = phaseOf(s);
        // Becoming ready again (a REPROBE without a probe) is a step of its own, though the phase reads the same.
        const step = phase === 'Ready' ? `Ready#${s.context.readyEntries}` : phase;
        if (s.status === 'done') {
          this.entries.delete(actorId);
          if (s.context.containerId !== undefined) this.noteRemoved(s.context.containerId);
        }
        if (step !== last) {
          last = step;
          if (phase === 'Ready') entry.readySince = this.clock.now();
          if (s.matches('failed')) {
            // A transient failure is retried by the actor itself; one it gave up on goes through the queue's backoff.
            if (s.context.gaveUp) (this.opts.onFailed ?? ((o: ResourceKey) => this.opts.onTransition(o, phase, s.context.containerId)))(owner);
          } else if (!IN_FLIGHT_PHASES.has(phase)) {
            this.opts.onTransition(owner, phase, s.context.containerId);
          }
        }
      },
      error: () => this.entries.delete(actorId),
    });
    this.entries.add(actorId, entry, input.containerId);
    actor.start();
    return actor;
  }

  /** Containers removed lately (id -> epoch ms): a list taken before the removal still shows them. */
  private readonly removed = new Map<string, number>();

  private noteRemoved(containerId: string): void {
    const now = this.clock.now();
    this.removed.set(containerId, now);
    // Bounded: entries older than a minute can no longer be in a list that is still being used.
    for (const [id, at] of this.removed) {
      if (now - at < REMOVED_MEMORY_MS) break;
      this.removed.delete(id);
    }
  }

  private removedAt(containerId: string): number | undefined {
    const at = this.removed.get(containerId);
    return at !== undefined && this.clock.now() - at < REMOVED_MEMORY_MS ? at : undefined;
  }

  private actorFor(owner: ResourceKey, containerId: string): Actor {
    const entry = this.findById(containerId);
    if (entry) return entry.actor;
    // Not seen yet (e.g. created by a previous controller): adopt it as the runtime will report it.
    return this.spawn(owner, undefined, { containerId, observedState: 'exited', graceSeconds: 10 }, { labels: {}, createdAt: this.clock.now(), ports: [] });
  }

  private findById(containerId: string): Entry | undefined {
    const e = this.entries.byContainerId(containerId);
    return e?.actor.getSnapshot().context.containerId === containerId ? e : undefined;
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
    let cancelTimer: (() => void) | undefined;
    let ip: string | undefined;
    let resolvedIp = false;
    const entry = this.findById(input.containerId);
    const tick = async (): Promise<void> => {
      if (controller.signal.aborted) return;
      if (entry && this.opts.probeWanted && !this.opts.probeWanted(entry.owner, entry.labels)) {
        cancelTimer = this.clock.setTimeout(() => void tick(), health.periodSeconds * 1000);
        return;
      }
      // Only an HTTP or TCP probe goes to the container's address; an exec probe needs no inspect call
      // (one engine call less before every new member is warm).
      if (!resolvedIp && !health.exec) {
        ip = await this.opts.runtime.inspect(input.containerId, controller.signal).then((c) => c.ip, () => undefined);
        resolvedIp = true;
      }
      const outcome = await runProbe(this.opts.runtime, input.containerId, health, ip, controller.signal);
      if (controller.signal.aborted) return;
      const result = { ...outcome, time: this.clock.now() };
      sendBack({ type: 'PROBE', ...result });
      if (entry) this.opts.onProbe?.(entry.owner, input.containerId, result);
      cancelTimer = this.clock.setTimeout(() => void tick(), health.periodSeconds * 1000);
    };
    // The first probe runs soon after start (not a full period later), so a warm container is ready quickly.
    cancelTimer = this.clock.setTimeout(() => void tick(), input.now ? 0 : Math.max(health.initialDelaySeconds * 1000, 50));
    return () => {
      controller.abort();
      cancelTimer?.();
    };
  }
}

const REMOVED_MEMORY_MS = 60_000;

const goneIsDone = (p: Promise<void>): Promise<void> => p.catch((e: unknown) => (isRuntimeError(e, 'NotFound') ? undefined : Promise.reject(e)));

