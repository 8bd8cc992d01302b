// The claim rules' vocabulary: claims and pool members as the binder sees
// them, and the decisions the rules return. Pure data: the controller builds
// these from its store and the lifecycle actors, the rules decide.
import type { ClaimPhase } from '../../spec/status.js';

export interface ClaimView {
  /** keyString of the InstanceClaim. */
  id: string;
  /** keyString of the InstancePool it names. */
  pool: string;
  phase: ClaimPhase;
  /** Epoch ms the claim was made: its FIFO position (ties broken by id). */
  createdAt: number;
  /** The member it is bound to (Bound), or was bound to. */
  member?: string;
  /** The lease, from spec.ttlSeconds. */
  ttlSeconds?: number;
  /** Epoch ms the lease ends (Bound with a ttl). */
  expiresAt?: number;
  /** The claim's resource is gone: DELETE is how a claim is released. */
  deleted?: boolean;
}

/** A pool member as the claim rules read it: live, from its lifecycle actor. */
export interface MemberView {
  member: string;
  containerId: string;
  /** Passing its probe now (running.ready). */
  ready: boolean;
  /** Being stopped or removed: never bound. */
  terminating: boolean;
  /** Carries the pool's current config hash: preferred over outdated members. */
  current: boolean;
  createdAt: number;
  /** keyString of the claim holding it. */
  claimedBy?: string;
  /** Its claim ended and the pool has not recycled or removed it yet. */
  released?: boolean;
  /** Epoch ms of a Reuse recycle: it serves again only after a probe passes later than this. */
  recycledAt?: number;
  /** Epoch ms of its last passing probe. */
  lastReadyAt?: number;
}

export interface ClaimPlanInput {
  pool: string;
  /** The pool's resource exists (a claim on a missing pool fails at its timeout with PoolNotFound). */
  poolExists: boolean;
  claimTimeoutSeconds: number;
  /** Claims of this pool (others are ignored). */
  claims: readonly ClaimView[];
  members: readonly MemberView[];
  /**
   * Members the pool's last list of the engine did not find although a claim
   * holds them (removed behind berth's back: `docker rm -f`, a deleted Pod).
   * Only an observation says so: a member missing from `members` may just
   * not have an actor yet (a controller that has not listed since it started).
   */
  gone?: readonly string[];
  now: number;
}

export type ClaimDecision =
  | { type: 'bind'; claim: string; member: string; containerId: string; waitMs: number; expiresAt?: number }
  | { type: 'timeout'; claim: string; reason: 'ClaimTimeout' | 'PoolNotFound'; waitedMs: number }
  | { type: 'expire'; claim: string; member?: string }
  /** A Bound claim whose member is gone: it fails (MemberLost) and holds nothing. */
  | { type: 'lost'; claim: string; member: string }
  /** A deleted claim: its member (if bound) is released for recycling; the record goes. */
  | { type: 'release'; claim: string; member?: string };

export interface ClaimPlan {
  pool: string;
  /** Releases and expiries first (they free nothing for binding: released members recycle first), then binds, then timeouts. */
  decisions: ClaimDecision[];
  /** Epoch ms when a claim of this pool next times out or expires. */
  nextDeadline?: number;
  /** Claims still waiting after this plan, oldest first. */
  waiting: string[];
}
