// The steps of one InstanceClaim reconcile (the order is Reconciler's):
// observe the claim's record and its pool (claims and live members, no
// engine call), plan with the pure claim rules for the whole pool, carry the
// decisions out (records, one durable commit, events), and the claim's
// status from its record. It is woken at the claim's next deadline (wait
// timeout, lease expiry). Binding does not wait for this reconcile: a member
// passing its probe, or a claim arriving, runs the same rules at once
// (ClaimBinder.settle).
import { keyString, parseKeyString, type InstanceClaim, type ResourceKey } from '../spec/schema.js';
import type { ClaimStatus } from '../spec/status.js';
import { planClaims, queuePosition } from '../reconcile/claim/plan-claims.js';
import type { ClaimDecision, ClaimPlan, ClaimPlanInput } from '../reconcile/claim/types.js';
import type { StoredEntry } from './resource-store.js';
import type { ClaimBinder } from './claim-binder.js';
import type { ClaimRecord, ClaimState } from '../state/claim-state.js';
import type { PlanContext, ReconcileSteps, StatusInput } from './reconciler.js';

export interface DesiredClaim {
  claim: InstanceClaim;
  annotations?: Record<string, string>;
}

export interface ClaimWorld {
  claimId: string;
  /** The claim's binding record; undefined when it is neither stored nor recorded (released, or never seen). */
  record?: ClaimRecord;
  pool?: ResourceKey;
  /** What the claim rules read of the pool. */
  input?: ClaimPlanInput;
}

export interface ClaimStepPlan {
  /** The pool's claim decisions; 'register' when a stored claim has no record yet (seen only in a resync snapshot). */
  actions: Array<ClaimDecision | 'register'>;
  claims?: ClaimPlan;
  /** This claim's next deadline: its wait timeout (Pending) or lease end (Bound with a ttl). */
  nextDeadline?: number;
}

export interface ClaimStepsDeps {
  binder: ClaimBinder;
  state: ClaimState;
}

export class ClaimSteps implements ReconcileSteps<DesiredClaim, ClaimWorld, ClaimStepPlan> {
  readonly recheckAfterPrune = false;

  constructor(private readonly d: ClaimStepsDeps) {}

  desired(entry: StoredEntry): DesiredClaim {
    return { claim: entry.resource as InstanceClaim };
  }

  observe(key: ResourceKey): Promise<ClaimWorld> {
    // First sight of a stored claim gives it its record: its place in the FIFO.
    this.d.binder.recordFor(key);
    return Promise.resolve(this.snapshotWorld(key));
  }

  snapshotWorld(key: ResourceKey): ClaimWorld {
    const claimId = keyString(key);
    const record = this.d.state.claims.get(claimId);
    if (!record) return { claimId };
    const pool = parseKeyString(record.pool);
    // An ended claim still stored is in no rule (they decide only about
    // deleted, Bound and Pending claims), and each other claim is reconciled
    // at its own deadline: its reconcile only writes its status. Reading the
    // pool's whole queue for it made every ending of a flooded pool's claims
    // cost as much as a wait.
    if (ENDED.has(record.phase) && this.d.binder.isStored(claimId)) return { claimId, record, pool };
    return { claimId, record, pool, input: this.d.binder.planInput(pool) };
  }

  plan(ctx: PlanContext<DesiredClaim, ClaimWorld>): ClaimStepPlan {
    const { world } = ctx;
    if (!world.record) return { actions: ctx.desired ? ['register'] : [] };
    if (!world.input) return { actions: [] };
    const claims = planClaims({ ...world.input, now: ctx.now });
    const own = claims.decisions.find((d) => d.claim === world.claimId);
    const nextDeadline = own ? (own.type === 'bind' ? own.expiresAt : undefined) : deadlineOf(world.record, this.d.binder.timeoutSeconds(world.record.pool));
    return { actions: claims.decisions, claims, ...(nextDeadline !== undefined ? { nextDeadline } : {}) };
  }

  async execute(ctx: PlanContext<DesiredClaim, ClaimWorld>, plan: ClaimStepPlan): Promise<{ world: ClaimWorld; error?: unknown }> {
    const { world } = ctx;
    if (world.pool && plan.claims) {
      try {
        await this.d.binder.carryOut(world.pool, plan.claims);
      } catch (error) {
        return { world, error };
      }
    }
    const record = this.d.state.claims.get(world.claimId);
    const { record: _before, ...rest } = world;
    return { world: { ...rest, ...(record ? { record } : {}) } };
  }

  status(input: StatusInput<DesiredClaim, ClaimWorld, ClaimStepPlan>): ClaimStatus {
    const previous = input.previous as ClaimStatus | undefined;
    const record = input.world?.record;
    if (!record) return previous ?? { phase: 'Pending', observedGeneration: input.generation, conditions: [] };
    const position = input.plan?.claims && input.world ? queuePosition(input.plan.claims, input.world.claimId) : undefined;
    return this.d.binder.statusOf(input.key, record, position, input.generation, previous);
  }

  /** A deleted claim is done once it holds nothing: no record, and no member it released still awaiting recycling. */
  pruned(_plan: ClaimStepPlan, world: ClaimWorld): boolean {
    return !this.d.state.claims.has(world.claimId) && !this.d.state.awaitsRecycling(world.claimId);
  }
}

const ENDED: ReadonlySet<ClaimRecord['phase']> = new Set(['Released', 'Expired', 'Failed']);

function deadlineOf(rec: ClaimRecord, timeoutSeconds: number): number | undefined {
  if (rec.phase === 'Pending') return rec.createdAt + timeoutSeconds * 1000;
  if (rec.phase === 'Bound') return rec.expiresAt;
  return undefined;
}
