// Wires the controller: sources feed the store, the store and the engine's
// events enqueue keys, workers reconcile them one key at a time, a periodic
// resync is the safety net. Sources only enqueue; decisions live in the
// reconciler; the one retry policy lives in the worker loop.

import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { keyOf, keyString, parseKeyString, type Kind, type Resource, type ResourceKey } from '../spec/schema.js';
import type { ControllerPolicy } from '../spec/policy.js';
import { SpecError } from '../spec/errors.js';
import { LABEL, type ObservedContainer, type Runtime } from '../runtime/types.js';
import { isRuntimeError } from '../runtime/errors.js';
import { Supervisor } from '../lifecycle/supervisor.js';
import { ResourceStore } from '../controller/resource-store.js';
import { EventRecorder } from '../controller/event-recorder.js';
import { RestartMemoryStore } from '../state/restart-memory-store.js';
import { InstanceSteps, type InstanceWorld } from '../controller/instance-reconciler.js';
import { PoolSteps, type PoolWorld } from '../controller/pool-reconciler.js';
import { ClaimSteps, type ClaimStepPlan, type ClaimWorld, type DesiredClaim } from '../controller/claim-reconciler.js';
import { Reconciler } from '../controller/reconciler.js';
import type { StaleSpec } from '../controller/stale-spec-status.js';
import type { DesiredInstance, Plan } from '../reconcile/types.js';
import type { DesiredPool, PoolPlan } from '../reconcile/pool/types.js';
import { ClaimBinder } from '../controller/claim-binder.js';
import { ClaimState } from '../state/claim-state.js';
import { WorkQueue } from '../controller/workqueue.js';
import { workQueueMetrics } from '../controller/workqueue-metrics.js';
import { runWorkers } from '../controller/worker-loop.js';
import { Semaphore } from '../controller/semaphore.js';
import { BACKGROUND, systemClock, type Cancel, type Clock } from '../time/clock.js';
import { createMetrics, type ControllerMetrics } from '../controller/metrics.js';
import { ApiSource } from '../sources/api-source.js';
import { FileSource } from '../sources/file-source.js';
import { id12 } from '../reconcile/container.js';
import { ExitNotices } from '../controller/exit-notices.js';
import { afterAnswer } from '../controller/after-answer.js';

export interface ManagerOptions {
  controllerId: string;
  runtime: Runtime;
  policy: ControllerPolicy;
  stateDir: string;
  specDirs: string[];
  workers: number;
  maxConcurrentOps: number;
  resyncMs: number;
  logger: Logger;
  clock?: Clock;
  /**
   * A resource's spec is gone and its containers with it (or pruning is
   * disabled): the Kubernetes source removes its finalizer then.
   */
  onPruned?: (key: ResourceKey) => void;
  /**
   * Where claim bindings are recorded: `state-dir` (standalone: claims.state,
   * group-committed) or `source` (Kubernetes: the claims' status in the
   * apiserver; rebuilt from the store's claim statuses at start).
   */
  claimRecord?: 'state-dir' | 'source';
}

export class Manager {
  readonly store: ResourceStore;
  readonly recorder: EventRecorder;
  readonly memory: RestartMemoryStore;
  readonly supervisor: Supervisor;
  readonly apiSource: ApiSource;
  readonly metrics: ControllerMetrics;
  private readonly queue: WorkQueue<string>;
  private readonly instanceSteps: InstanceSteps;
  private readonly poolSteps: PoolSteps;
  private readonly claimSteps: ClaimSteps;
  private readonly instances: Reconciler<DesiredInstance, InstanceWorld, Plan>;
  private readonly pools: Reconciler<DesiredPool, PoolWorld, PoolPlan>;
  private readonly claimReconciler: Reconciler<DesiredClaim, ClaimWorld, ClaimStepPlan>;
  readonly claims: ClaimState;
  readonly binder: ClaimBinder;
  private readonly files: FileSource | undefined;
  /** Resources kept from a spec file that now fails, with its errors (their status says so). */
  private readonly staleSpecs = new Map<string, StaleSpec>();
  private readonly clock: Clock;
  /** Deaths the engine told of: the owner's next reconcile inspects them instead of trusting its list. */
  private readonly exits: ExitNotices;
  private readonly abort = new AbortController();
  private workersDone: Promise<void> | undefined;
  private cancelResync: Cancel | undefined;
  private engineDown = false;
  private started = false;
  /** True once the first full resync finished: /readyz. */
  ready = false;
  /** True once every source did its first load: the API answers resource requests from then on. */
  sourcesLoaded = false;

  constructor(private readonly o: ManagerOptions) {
    this.clock = o.clock ?? systemClock;
    this.exits = new ExitNotices(this.clock, (id, signal) => o.runtime.inspect(id, signal), this.abort.signal);
    // Every in-flight engine call listens on this one shutdown signal (and stops listening when it ends):
    // many at once is the design, not a leak; the bound still catches a real one.
    setMaxListeners(SHUTDOWN_SIGNAL_LISTENERS, this.abort.signal);
    const log = o.logger;
    this.store = new ResourceStore(this.clock);
    this.metrics = createMetrics(this.store);
    this.recorder = new EventRecorder(1000, this.clock, (e) =>
      (e.type === 'Warning' ? log.warn.bind(log) : log.info.bind(log))({ object: `${e.involvedObject.kind}/${e.involvedObject.namespace}/${e.involvedObject.name}`, reason: e.reason }, e.message),
    );
    this.memory = new RestartMemoryStore(o.stateDir, (e) => log.warn({ err: e }, e.message));
    this.queue = new WorkQueue<string>({ name: 'berth', clock: this.clock, metrics: workQueueMetrics(this.metrics.registry, 'berth', this.clock) });
    const limiter = new Semaphore(o.maxConcurrentOps);
    this.supervisor = new Supervisor({
      runtime: o.runtime,
      clock: this.clock,
      limiter: { run: (fn, signal) => limiter.run(fn, signal) },
      onTransition: (owner, phase) => {
        // An owner looks again when a container came up, passed or failed its probe, stopped, or is gone;
        // the steps in between change nothing it decides on.
        if (WAKING_PHASES.has(phase)) this.enqueue(owner);
        // A member passing its probe serves the oldest waiting claim now, not after a list.
        if (owner.kind === 'InstancePool' && phase === 'Ready') this.binder.memberChanged(owner);
      },
      onFailed: (owner) => this.queue.addRateLimited(keyString(owner)),
      onProbe: (owner, id, result) => {
        if (owner.kind === 'Instance') this.instanceSteps.probeAnswered(owner, id, result);
      },
      observeOp: (op, result, seconds) => this.metrics.runtimeOp.observe({ op, result }, seconds),
      probeWanted: (owner, labels) => owner.kind !== 'InstancePool' || !this.binder.holds(owner, labels[LABEL.member]),
    });
    const reconcilerDeps = { store: this.store, clock: this.clock, logger: o.logger, ...(o.onPruned ? { onPruned: o.onPruned } : {}) };
    // Claims are left out: the binder writes their status itself, and a claim's spec has nothing that runs.
    const staleSpec = (key: ResourceKey): StaleSpec | undefined => (key.kind === 'InstanceClaim' ? undefined : this.staleSpecs.get(keyString(key)));
    this.instanceSteps = new InstanceSteps({
      controllerId: o.controllerId,
      store: this.store,
      runtime: o.runtime,
      supervisor: this.supervisor,
      recorder: this.recorder,
      memory: this.memory,
      policy: o.policy,
      clock: this.clock,
      wake: (key) => this.enqueue(key),
      exits: this.exits,
    });
    this.instances = new Reconciler(this.instanceSteps, { ...reconcilerDeps, staleSpec });
    const claimsInSource = o.claimRecord === 'source';
    this.claims = new ClaimState(claimsInSource ? undefined : o.stateDir, { all: () => this.apiSource.appliedClaims.all(), get: (id) => this.apiSource.appliedClaims.get(id) });
    this.binder = new ClaimBinder({
      store: this.store,
      state: this.claims,
      recorder: this.recorder,
      clock: this.clock,
      members: (pool) => this.supervisor.views(pool),
      // After the answers the binding settles have gone out (they are promise continuations of the same
      // write), and after the loop has slept once (after-answer.ts).
      wakePool: (pool) => afterAnswer(() => this.enqueue(pool)),
      wakeClaim: (claim, afterMs) => this.queue.addAfter(keyString(claim), Math.max(0, afterMs)),
      metrics: this.metrics.claims,
      ...(o.onPruned ? { onReleased: o.onPruned } : {}),
      // Pods can carry their claim; Docker containers cannot be relabelled (their binding is read from the claims).
      ...(o.runtime.setClaimLabel ? { labelMember: (id: string, value: string | undefined) => this.labelMember(id, value) } : {}),
      logger: o.logger,
    });
    this.poolSteps = new PoolSteps({
      controllerId: o.controllerId,
      runtime: o.runtime,
      supervisor: this.supervisor,
      recorder: this.recorder,
      binder: this.binder,
      claims: this.claims,
      policy: o.policy,
      clock: this.clock,
      logger: o.logger,
      exits: this.exits,
    });
    this.pools = new Reconciler(this.poolSteps, { ...reconcilerDeps, staleSpec });
    this.claimSteps = new ClaimSteps({ binder: this.binder, state: this.claims });
    this.claimReconciler = new Reconciler(this.claimSteps, reconcilerDeps);
    this.apiSource = new ApiSource(this.store, o.stateDir, claimsInSource ? undefined : this.claims);
    this.files = o.specDirs.length
      ? new FileSource({
          store: this.store,
          dirs: o.specDirs,
          policy: o.policy,
          onProblem: (message, file) => this.recorder.record({ type: 'Warning', reason: 'InvalidSpec', message, involvedObject: { kind: 'Controller', namespace: '', name: file } }),
          onReload: (s) => log.debug(s, 'spec files reloaded'),
          onHealth: (dir, reason) => this.noteSourceHealth(`files:${dir}`, reason),
          identities: {
            get: (key) => this.memory.get(key),
            set: (key, identity) => void this.memory.update(key, identity),
            forget: (key) => this.memory.delete(key),
          },
          onStale: (key, message) => {
            if (message === undefined) this.staleSpecs.delete(keyString(key));
            else this.staleSpecs.set(keyString(key), { message });
            this.enqueue(key);
          },
          clock: this.clock,
        })
      : undefined;
    // Predicate: status-only updates do not wake the reconciler.
    this.store.subscribe((e) => {
      if (!e.specChanged) return;
      // A new or deleted claim's own reconcile waits until the answer is out (after-answer.ts): a reconcile
      // queued in this tick would run its steps among the promise continuations that carry the answer to
      // the claim's request. A new claim's rules ran just now (claimArrived); a deleted claim's reconcile
      // releases its member, and that release's own durable write held the DELETE's answer for a second
      // fdatasync. The release wakes the pool itself, with the member released.
      const claimAddedOrDeleted = e.key.kind === 'InstanceClaim' && (e.type === 'ADDED' || e.type === 'DELETED');
      if (claimAddedOrDeleted) afterAnswer(() => this.enqueue(e.key));
      else this.enqueue(e.key);
      if (e.key.kind === 'InstancePool') this.binder.poolApplied(e.key);
      // A claim takes its FIFO place and, if a member is free, binds in this same tick (before its first write).
      if (e.key.kind === 'InstanceClaim' && e.type === 'ADDED' && this.started) this.binder.claimArrived(e.key);
      // A claim's pool grows for it (up to maxSize). A claim bound at once wakes its pool itself once
      // the binding is durable: a pool reconcile now would only compete with that write.
      if (e.key.kind === 'InstanceClaim' && e.type !== 'DELETED' && !(e.type === 'ADDED' && this.binder.boundAtOnce(e.key))) {
        const poolName = (e.object.spec as { poolRef?: { name?: string } }).poolRef?.name;
        if (poolName) this.enqueue({ kind: 'InstancePool', namespace: e.key.namespace, name: poolName });
      }
    });
  }

  /** Sets or removes a member's claim label in the background; a failure is logged (the claims stay the record). */
  private labelMember(id: string, value: string | undefined): void {
    void this.o.runtime.setClaimLabel?.(id, value, this.abort.signal).catch((e: Error) => {
      if (!this.abort.signal.aborted) this.o.logger.warn({ container: id12(id), err: e.message }, value === undefined ? 'claim label not removed' : 'claim label not set');
    });
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('manager already started');
    this.started = true;
    const log = this.o.logger;
    await this.memory.load();
    const claimObjects = await this.claims.load((m) => log.warn(m));
    const restored = (await this.apiSource.load((m) => log.warn(m))) + this.apiSource.restore(claimObjects, (m) => log.warn(m));
    if (restored) log.info({ restored }, 'restored applied resources from the state directory');
    if (this.apiSource.degraded) this.noteSourceHealth('applied', this.apiSource.degraded);
    await this.files?.start();
    this.sourcesLoaded = true;
    this.o.runtime.events(
      (ev) => {
        if (ev.labels[LABEL.managedBy] !== this.o.controllerId) return;
        log.debug({ action: ev.action, container: id12(ev.containerId) }, 'engine event');
        const kind = ev.labels[LABEL.kind];
        const namespace = ev.labels[LABEL.namespace];
        const name = ev.labels[LABEL.name];
        if ((kind !== 'Instance' && kind !== 'InstancePool') || !namespace || !name) return;
        // The engine telling of a start berth made (its actor already has the container running) says nothing
        // new: it woke every Instance once more after each create, a reconcile and a list for nothing.
        if (ev.action === 'start' && this.supervisor.knowsRunning(ev.containerId)) return;
        // The engine emits die before its list shows the exit: the owner's reconcile, woken now, takes an inspect asked now.
        // A death berth brings about itself (a stop, a removal) is awaited by the actor doing it.
        if ((ev.action === 'die' || ev.action === 'oom') && !this.supervisor.stopping(ev.containerId)) this.exits.note(ev.containerId);
        else if (ev.action === 'destroy') this.exits.forget(ev.containerId);
        this.enqueue({ kind, namespace, name });
      },
      this.abort.signal,
      (e) => {
        log.warn({ err: e.message }, 'engine events stream broken; resubscribing');
        this.noteEngineDown();
      },
      // Filtered by the engine: other controllers' churn on a shared engine never wakes this one.
      { managedBy: this.o.controllerId },
    );
    this.workersDone = runWorkers({
      queue: this.queue,
      workers: this.o.workers,
      signal: this.abort.signal,
      reconcile: (key, signal) => this.reconcile(key, signal),
      isTerminal: (e) => e instanceof SpecError,
      onError: (key, err, willRetry) => log.warn({ key, err: (err as Error).message, willRetry }, 'reconcile failed'),
    });
    await this.resync();
    this.ready = true;
    this.scheduleResync();
  }

  /** Graceful: stop taking work, abort in-flight operations, leave containers running. */
  async stop(): Promise<void> {
    this.ready = false;
    this.cancelResync?.();
    this.files?.stop();
    this.abort.abort(new Error('controller shutting down'));
    this.queue.shutDown();
    await this.workersDone?.catch(() => undefined);
    this.supervisor.stopAll();
    await this.memory.flush();
  }

  /**
   * What the controller would do now for these resources, without doing it
   * (`berth diff`): the same observation and planners as a reconcile, on one
   * list of the runtime. With `prune`, containers of resources not given are
   * planned too (their removal).
   */
  async preview(resources: Resource[], prune: boolean, signal: AbortSignal): Promise<Array<{ key: ResourceKey; plan: string; actions: number }>> {
    await this.memory.load();
    await this.claims.load(() => undefined);
    for (const r of resources) this.store.apply(r, { source: 'api' });
    const observed = await this.o.runtime.list({ managedBy: this.o.controllerId }, signal);
    const keys = new Map<string, ResourceKey>();
    for (const e of this.store.list()) if (e.object.kind !== 'InstanceClaim') keys.set(keyString(keyOf(e.resource)), keyOf(e.resource));
    const byOwner = new Map<string, ObservedContainer[]>();
    for (const c of observed) {
      if (c.kind !== 'Instance' && c.kind !== 'InstancePool') continue;
      const key: ResourceKey = { kind: c.kind, namespace: c.namespace, name: c.owner };
      const k = keyString(key);
      byOwner.set(k, [...(byOwner.get(k) ?? []), c]);
      if (prune) keys.set(k, key);
    }
    return [...keys]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, key]) => {
        const containers = byOwner.get(k) ?? [];
        if (key.kind === 'InstancePool') {
          const plan = this.pools.preview(key, this.poolSteps.snapshotWorld(key, containers));
          return { key, plan: this.poolSteps.describe(plan), actions: plan.actions.length };
        }
        const plan = this.instances.preview(key, this.instanceSteps.snapshotWorld(key, containers));
        return { key, plan: this.instanceSteps.describe(plan), actions: plan.actions.length };
      });
  }

  enqueue(key: ResourceKey): void {
    this.queue.add(keyString(key));
  }

  /**
   * Lists every managed container once and enqueues the keys that have
   * something to do: spec keys and the owners of observed containers (orphans
   * from a previous run included). A converged system costs this one call.
   */
  async resync(full = true): Promise<void> {
    let observed: ObservedContainer[];
    try {
      observed = await this.o.runtime.list({ managedBy: this.o.controllerId }, this.abort.signal);
    } catch (e) {
      this.o.logger.warn({ err: (e as Error).message }, 'resync: engine unavailable');
      this.noteEngineDown();
      for (const e of this.store.list()) this.enqueue({ kind: e.object.kind, namespace: e.object.metadata.namespace, name: e.object.metadata.name });
      return;
    }
    const byOwner = new Map<string, ObservedContainer[]>();
    for (const c of observed) {
      const k = keyString({ kind: c.kind, namespace: c.namespace, name: c.owner });
      byOwner.set(k, [...(byOwner.get(k) ?? []), c]);
    }
    const keys = new Set<string>([...byOwner.keys()]);
    for (const e of this.store.list()) keys.add(keyString({ kind: e.object.kind, namespace: e.object.metadata.namespace, name: e.object.metadata.name }));
    // Claims the state remembers whose resource is gone (deleted while the controller was down) are released.
    for (const k of this.claims.claims.keys()) keys.add(k);
    let enqueued = 0;
    for (const k of keys) {
      // A periodic resync of a converged system costs this one list: only keys the snapshot shows work for are reconciled.
      if (!full && !this.needsReconcile(parseKeyString(k), byOwner.get(k) ?? [])) continue;
      this.queue.add(k);
      enqueued++;
    }
    this.o.logger.debug({ containers: observed.length, keys: keys.size, enqueued, full }, 'resync');
  }

  /** Whether a resync snapshot shows work for this key: each kind's planner decides, on the snapshot. */
  private needsReconcile(key: ResourceKey, observed: ObservedContainer[]): boolean {
    switch (key.kind) {
      case 'Instance':
        return this.instances.needsReconcile(key, this.instanceSteps.snapshotWorld(key, observed));
      case 'InstancePool':
        return this.pools.needsReconcile(key, this.poolSteps.snapshotWorld(key, observed));
      case 'InstanceClaim':
        return this.claimReconciler.needsReconcile(key, this.claimSteps.snapshotWorld(key));
    }
  }

  /**
   * Sources that could not be read whole (a missing spec directory, a broken
   * file, a corrupt state file), with the reason: /readyz and the metric.
   */
  degradedSources(): string[] {
    const out = [...(this.files?.degradedDirs() ?? new Map<string, string>())].map(([dir, reason]) => `files:${dir}: ${reason}`);
    if (this.apiSource.degraded) out.push(`applied: ${this.apiSource.degraded}`);
    return out;
  }

  /** A key no source holds is pruned only when every source that may declare it was read whole. */
  private mayPrune(): boolean {
    return (this.files?.mayPrune() ?? true) && this.apiSource.degraded === undefined;
  }

  private noteSourceHealth(source: string, reason: string | undefined): void {
    this.metrics.sourceDegraded.set({ source }, reason === undefined ? 0 : 1);
    if (reason !== undefined) {
      this.recorder.record({ type: 'Warning', reason: 'SourceDegraded', message: `${source} cannot be read whole; nothing it may declare is pruned until it can: ${reason}`, involvedObject: { kind: 'Controller', namespace: '', name: source } });
    } else {
      this.recorder.record({ type: 'Normal', reason: 'SourceRecovered', message: `${source} is read whole again`, involvedObject: { kind: 'Controller', namespace: '', name: source } });
      // Orphans held while it was Degraded are looked at again.
      if (this.sourcesLoaded) void this.resync();
    }
  }

  private async reconcile(key: string, signal: AbortSignal): Promise<{ requeueAfterMs?: number }> {
    const started = performance.now();
    const resourceKey = parseKeyString(key);
    const controller = CONTROLLER_NAMES[resourceKey.kind];
    try {
      const result = await this.reconcileKind(resourceKey, signal);
      this.metrics.reconcileTotal.inc({ controller, result: result.requeueAfterMs !== undefined ? 'requeue_after' : 'success' });
      return result;
    } catch (e) {
      this.metrics.reconcileTotal.inc({ controller, result: 'error' });
      this.metrics.reconcileErrors.inc({ controller });
      if (isRuntimeError(e, 'Unavailable') || isRuntimeError(e, 'Timeout')) this.noteEngineDown();
      throw e;
    } finally {
      this.metrics.reconcileTime.observe({ controller }, (performance.now() - started) / 1000);
    }
  }

  private reconcileKind(key: ResourceKey, signal: AbortSignal): Promise<{ requeueAfterMs?: number }> {
    // Held, not pruned: the source that may declare it comes back healthy first (then a resync looks again).
    if (!this.store.get(key) && !this.mayPrune()) return Promise.resolve({});
    switch (key.kind) {
      case 'Instance':
        return this.instances.reconcile(key, signal);
      case 'InstancePool':
        return this.pools.reconcile(key, signal);
      case 'InstanceClaim':
        return this.claimReconciler.reconcile(key, signal);
    }
  }

  /**
   * While the engine is down, failed keys back off exponentially; a watcher
   * pings it and, once it answers, resyncs everything so convergence resumes at
   * once instead of after the longest backoff.
   */
  private noteEngineDown(): void {
    if (this.engineDown || this.abort.signal.aborted) return;
    this.engineDown = true;
    this.o.logger.warn('engine unavailable; watching for it to come back');
    const attempt = async (delay: number): Promise<void> => {
      if (this.abort.signal.aborted) return;
      try {
        await this.pingEngine();
        this.engineDown = false;
        this.o.logger.info('engine is back; resyncing');
        for (const e of this.store.list()) this.queue.forget(keyString({ kind: e.object.kind, namespace: e.object.metadata.namespace, name: e.object.metadata.name }));
        await this.resync();
      } catch {
        this.clock.setTimeout(() => void attempt(Math.min(delay * 2, WATCHDOG_MAX_DELAY_MS)), delay, BACKGROUND);
      }
    };
    void attempt(WATCHDOG_FIRST_DELAY_MS);
  }

  /** One ping of the engine, given up after PING_TIMEOUT_MS on the clock (a hung engine counts as down). */
  private async pingEngine(): Promise<void> {
    const timeout = new AbortController();
    const cancel = this.clock.setTimeout(() => timeout.abort(new Error(`engine did not answer a ping within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS, BACKGROUND);
    try {
      await this.o.runtime.ping(AbortSignal.any([this.abort.signal, timeout.signal]));
    } finally {
      cancel();
    }
  }

  private scheduleResync(): void {
    this.cancelResync = this.clock.setTimeout(
      () => {
        void this.resync(false).finally(() => {
          if (!this.abort.signal.aborted) this.scheduleResync();
        });
      },
      this.o.resyncMs,
      BACKGROUND,
    );
  }
}

/** The engine watchdog pings again after this, doubling up to the max, until the engine answers. */
const WATCHDOG_FIRST_DELAY_MS = 500;
const WATCHDOG_MAX_DELAY_MS = 5000;
const PING_TIMEOUT_MS = 3000;
const WAKING_PHASES = new Set(['Probing', 'Ready', 'Unhealthy', 'Stopped', 'Failed', 'Removed']);
const SHUTDOWN_SIGNAL_LISTENERS = 10_000;

const CONTROLLER_NAMES: Record<Kind, string> = { Instance: 'instance', InstancePool: 'instancepool', InstanceClaim: 'instanceclaim' };

