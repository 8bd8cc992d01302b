// One reconcile, the same six steps for every kind (controller-runtime's
// Reconcile, the ReplicaSet controller's sync): load the desired state,
// observe once, plan (pure), act, write status always, then throw the act
// error (so the retry happens with status already true) or requeue at the
// plan's next deadline. A kind supplies the steps (ReconcileSteps); the order,
// the status-on-failure rules and the prune bookkeeping live here only.
import type { ResourceKey } from '../spec/schema.js';
import { keyString } from '../spec/schema.js';
import type { Condition } from '../spec/status.js';
import { PRUNE_ANNOTATION } from '../reconcile/types.js';
import type { ResourceStore, StoredEntry } from './resource-store.js';
import type { Clock } from '../time/clock.js';
import { errorReason } from './error-reason.js';
import { unobservedStatus } from './unobserved-status.js';
import { withStaleSpec, type StaleSpec } from './stale-spec-status.js';

/** What a step reports of a failure: a condition reason and a message a user can act on. */
export type Cause = { reason: string; message: string };

/** The plan as the skeleton reads it: anything to do, and when to look again. */
export interface PlanLike {
  actions: readonly unknown[];
  nextDeadline?: number;
}

export interface StatusInput<D, W, P> {
  key: ResourceKey;
  desired: D;
  generation: number;
  /** undefined when the runtime could not be observed and no status was known before. */
  world: W | undefined;
  plan: P | undefined;
  actError?: Cause;
  previous: object | undefined;
  now: number;
}

export interface PlanContext<D, W> {
  key: ResourceKey;
  /** undefined: the resource is gone, its containers are pruned. */
  desired: D | undefined;
  world: W;
  now: number;
  /** The spec that is now gone carried `berth.dev/prune: disabled`. */
  pruneDisabled: boolean;
}

export interface ReconcileSteps<D, W, P extends PlanLike> {
  /** 1. The desired state of a stored resource (throws SpecError for a spec that cannot run). */
  desired(entry: StoredEntry): D;
  /** 2. Observe once. */
  observe(key: ResourceKey, desired: D | undefined, signal: AbortSignal): Promise<W>;
  /** 3. Decide, pure. */
  plan(ctx: PlanContext<D, W>): P;
  /** 4. Carry the plan out, deciding nothing; returns the world as it is after acting, and the first error. */
  execute(ctx: PlanContext<D, W>, plan: P, signal: AbortSignal): Promise<{ world: W; error?: unknown }>;
  /** 5. The status of a resource that exists, from what was observed, planned and done. */
  status(input: StatusInput<D, W, P>): object;
  /** A gone resource: nothing of it is left (its finalizer may go). */
  pruned(plan: P, world: W): boolean;
  /**
   * After a prune step that acted: executors that await their work look
   * again at once; those that only start it are woken by the actors' news.
   */
  readonly recheckAfterPrune: boolean;
  /** Formats a plan for the debug log. */
  describe?(plan: P): string;
  /** The resource is gone and pruned: drop what was kept for it. */
  forget?(key: ResourceKey): void;
}

export interface ReconcilerDeps {
  store: ResourceStore;
  clock: Clock;
  logger?: { debug(o: object, msg?: string): void };
  /** The spec is gone and so are its containers (or pruning is disabled): a finalizer may be removed. */
  onPruned?: (key: ResourceKey) => void;
  /** The source holds a newer version of this resource that does not validate: what runs is the last valid one. */
  staleSpec?: (key: ResourceKey) => StaleSpec | undefined;
}

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export class Reconciler<D extends { annotations?: Record<string, string> }, W, P extends PlanLike> {
  /** Specs seen last, so a deleted spec's prune opt-out is still known. */
  private readonly lastPruneDisabled = new Map<string, boolean>();

  constructor(
    readonly steps: ReconcileSteps<D, W, P>,
    private readonly d: ReconcilerDeps,
  ) {}

  async reconcile(key: ResourceKey, signal: AbortSignal): Promise<ReconcileResult> {
    const { store, clock } = this.d;
    const id = keyString(key);

    // 1. Load the desired state (absent: the spec was deleted, so prune).
    const entry = store.get(key);
    const desired = entry ? this.steps.desired(entry) : undefined;
    if (desired) this.lastPruneDisabled.set(id, desired.annotations?.[PRUNE_ANNOTATION] === 'disabled');

    // 2. Observe once. Unobservable: what was known stays, Degraded says why.
    let world: W;
    try {
      world = await this.steps.observe(key, desired, signal);
    } catch (e) {
      if (desired && entry) {
        const previous = entry.object.status as { conditions: Condition[] } | undefined;
        const generation = entry.object.metadata.generation;
        this.writeStatus(
          key,
          previous
            ? unobservedStatus(previous, errorReason(e), generation, clock.now())
            : this.steps.status({ key, desired, generation, world: undefined, plan: undefined, actError: errorReason(e), previous, now: clock.now() }),
          previous,
          generation,
        );
      }
      throw e;
    }

    // 3. Plan, pure.
    const ctx: PlanContext<D, W> = { key, desired, world, now: clock.now(), pruneDisabled: this.lastPruneDisabled.get(id) ?? false };
    const plan = this.steps.plan(ctx);
    if (plan.actions.length && this.steps.describe) this.d.logger?.debug({ plan: this.steps.describe(plan) }, 'plan');

    // 4. Act.
    const acted = await this.steps.execute(ctx, plan, signal);
    const actError = acted.error;

    // 5. Status, always (a gone resource has none: it is pruned, then forgotten).
    if (!desired || !entry) {
      if (actError) throw actError;
      if (!this.steps.pruned(plan, acted.world)) return this.steps.recheckAfterPrune ? { requeueAfterMs: 0 } : {};
      this.lastPruneDisabled.delete(id);
      this.steps.forget?.(key);
      this.d.onPruned?.(key);
      return {};
    }
    const previous = store.get(key)?.object.status;
    const generation = entry.object.metadata.generation;
    this.writeStatus(
      key,
      this.steps.status({ key, desired, generation, world: acted.world, plan, ...(actError ? { actError: errorReason(actError) } : {}), previous, now: clock.now() }),
      previous,
      generation,
    );
    if (actError) throw actError;

    // 6. Deadlines become requeues.
    return plan.nextDeadline !== undefined ? { requeueAfterMs: Math.max(0, plan.nextDeadline - clock.now()) } : {};
  }

  private writeStatus(key: ResourceKey, status: object, previous: object | undefined, generation: number): void {
    const stale = this.d.staleSpec?.(key);
    const shown = stale && 'conditions' in status ? withStaleSpec(status as { conditions: Condition[] }, stale, previous, generation, this.d.clock.now()) : status;
    this.d.store.setStatus(key, shown);
  }

  /**
   * Whether a resync snapshot shows work for this key, decided by the same
   * planner on the snapshot: a status to write, an action, or a deadline due.
   */
  needsReconcile(key: ResourceKey, world: W): boolean {
    const entry = this.d.store.get(key);
    const status = entry?.object.status as { observedGeneration?: number } | undefined;
    if (entry && (!status || status.observedGeneration !== entry.object.metadata.generation)) return true;
    const now = this.d.clock.now();
    const plan = this.preview(key, world, now);
    return plan.actions.length > 0 || (plan.nextDeadline !== undefined && plan.nextDeadline <= now);
  }

  /** The plan for this key and world, as the next reconcile would make it; nothing is done (`berth diff`). */
  preview(key: ResourceKey, world: W, now = this.d.clock.now()): P {
    const entry = this.d.store.get(key);
    return this.steps.plan({ key, desired: entry ? this.steps.desired(entry) : undefined, world, now, pruneDisabled: this.lastPruneDisabled.get(keyString(key)) ?? false });
  }
}
