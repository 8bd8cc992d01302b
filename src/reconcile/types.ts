// The planner's vocabulary: what is desired, what the world remembers beyond
// the runtime (restart counts), and the actions a plan is made of.
import type { ConfigHash } from '../spec/hash.js';
import type { EffectiveTemplate } from '../spec/policy.js';
import type { InstanceSpec, ResourceKey } from '../spec/schema.js';
import type { ObservedContainer } from '../runtime/types.js';

export interface DesiredInstance {
  key: ResourceKey & { kind: 'Instance' };
  spec: InstanceSpec;
  template: EffectiveTemplate;
  hash: ConfigHash;
  annotations: Record<string, string>;
}

/** What the controller remembers per owner between reconciles (not on the container). */
export interface RestartMemory {
  /** Consecutive restarts berth made of this owner's container. */
  restartCount: number;
  /** Epoch ms of the last restart berth made, for backoff. */
  lastRestartAt?: number;
  /** Consecutive failed probes of the current container (set by the prober). */
  probeFailures?: number;
}

export interface PlanInput {
  /** The controller's id: only containers with this managed-by label are ever touched. */
  controllerId: string;
  /** Keyed by keyString(); undefined for a key means its spec is gone. */
  desired: DesiredInstance | undefined;
  key: ResourceKey;
  /** Containers the runtime reports for this key (any managed-by; the planner filters). */
  observed: ObservedContainer[];
  memory: RestartMemory;
  now: number;
}

export type Action =
  | { type: 'create'; cause: string; name: string }
  | { type: 'start'; cause: string; containerId: string }
  | { type: 'replace'; cause: string; containerId: string; stopFirst: boolean; driftedFields?: string[]; name: string }
  | { type: 'restart'; cause: string; containerId: string; attempt: number }
  | { type: 'rename'; cause: string; containerId: string; name: string }
  | { type: 'stop'; cause: string; containerId: string }
  | { type: 'remove'; cause: string; containerId: string };

export interface Plan {
  key: ResourceKey;
  actions: Action[];
  /** Epoch ms when a time rule next falls due (max age, ttl, backoff), if any. */
  nextDeadline?: number;
  /** Why nothing is done now although the world is not as desired (e.g. CrashLoopBackOff). */
  waiting?: { reason: string; message: string; until: number };
}
