// The status shapes as zod schemas, for the CRDs' status schemas (src/spec/crd.ts).
// berth writes status and never parses it back from users, so these schemas
// describe rather than guard; what matters is that the apiserver keeps every
// field berth writes. An unknown field under a schema without
// x-kubernetes-preserve-unknown-fields is pruned silently, so:
// - InstanceStatus exists in code (status.ts): its schema is checked against
//   the interface at compile time below, and tsc fails when one changes alone.
// - ClaimStatus (status.ts) and PoolStatus (reconcile/pool/status-types.ts)
//   are in code too, but their schemas list only the DESIGN.md fields and are
//   loose (z.looseObject -> preserve-unknown-fields): what they leave out (a
//   claim's ports and waitDurationMs, a pool's claimWait) is kept, not
//   described. Listing those fields and tightening the schemas, with the same
//   compile-time check, changes the CRDs: a step of its own.
import { z } from 'zod';
import type { Condition, InstanceStatus } from './status.js';

/** RFC 3339, as metav1.Time (the apiserver validates `format: date-time`). */
const Timestamp = z.string().meta({ format: 'date-time' });
const Count = z.int().min(0);

/** metav1.Condition. */
export const ConditionSchema = z.object({
  type: z.string().min(1).max(316),
  status: z.enum(['True', 'False', 'Unknown']),
  observedGeneration: z.int().min(0).optional(),
  lastTransitionTime: Timestamp,
  reason: z.string(),
  message: z.string(),
});

/**
 * One entry per type, merged by type under server-side apply, as
 * metav1.Condition lists are (+listType=map, +listMapKey=type).
 */
export const ConditionsSchema = z.array(ConditionSchema).meta({
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
});

export const ProbeResultSchema = z.object({
  time: Timestamp,
  ok: z.boolean(),
  message: z.string(),
});

export const InstanceStatusSchema = z.object({
  phase: z.string(),
  containerId: z.string().optional(),
  configHash: z.string().optional(),
  observedGeneration: z.int().min(0).optional(),
  startedAt: Timestamp.optional(),
  restartCount: Count,
  lastProbe: ProbeResultSchema.optional(),
  conditions: ConditionsSchema,
  usage: z.object({ cpu: z.string().optional(), memory: z.string().optional(), pids: Count.optional() }).optional(),
  lastDrift: z.object({ fields: z.array(z.string()), at: Timestamp }).optional(),
});

/** DESIGN.md "InstancePool" status; loose (see the header). */
export const InstancePoolStatusSchema = z.looseObject({
  replicas: Count.optional(),
  ready: Count.optional(),
  claimed: Count.optional(),
  starting: Count.optional(),
  terminating: Count.optional(),
  waiting: Count.optional(),
  updatedReplicas: Count.optional(),
  configHash: z.string().optional(),
  observedGeneration: z.int().min(0).optional(),
  conditions: ConditionsSchema.optional(),
});

/** DESIGN.md "InstanceClaim" status; loose (see the header). */
export const InstanceClaimStatusSchema = z.looseObject({
  phase: z.enum(['Pending', 'Bound', 'Released', 'Expired', 'Failed']).optional(),
  instance: z.string().optional(),
  containerId: z.string().optional(),
  boundAt: Timestamp.optional(),
  expiresAt: Timestamp.optional(),
  observedGeneration: z.int().min(0).optional(),
  conditions: ConditionsSchema.optional(),
});

// Compile-time: the schemas and the interfaces berth writes are the same shape.
// A field added to one and not the other fails here, not as a silently pruned
// field on a real cluster.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const same = <T extends true>(): T | undefined => undefined;
same<Equal<z.infer<typeof ConditionSchema>, Condition>>();
same<Equal<z.infer<typeof InstanceStatusSchema>, InstanceStatus>>();
