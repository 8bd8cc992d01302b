// The status berth writes on an InstancePool (DESIGN.md "InstancePool": status).
import type { Condition } from '../../spec/status.js';

/** How long claims waited for a member, over the controller's recent window. */
export interface ClaimWaitStats {
  p50Ms?: number;
  p99Ms?: number;
  /** Claims the figures are taken over. */
  count: number;
}

export interface PoolStatus {
  /** All members, claimed and starting included. */
  replicas: number;
  /** Warm members passing their health check: unclaimed, not released. */
  ready: number;
  /** Members bound to a claim. */
  claimed: number;
  /** Warm members not passing their probe yet (being created, started or probed). */
  starting: number;
  /** Members being stopped or removed: they count toward maxSize until gone, and are never warm. */
  terminating: number;
  /** Claims waiting for a member. */
  waiting: number;
  /** Members carrying the desired config hash. */
  updatedReplicas: number;
  /** The desired config hash. */
  configHash: string;
  observedGeneration: number;
  /** Ready, Progressing, Degraded. */
  conditions: Condition[];
  claimWait: ClaimWaitStats;
}
