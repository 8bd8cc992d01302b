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
  /**
   * The desired config hash in older hash formats, keyed by version, to compare
   * containers labelled in that format without recreating them. Optional: the
   * planner computes a missing one with configHash(template, version).
   */
  hashesByVersion?: Record<string, ConfigHash>;
}

/** A run-to-completion container that finished and was removed by berth. */
export interface CompletedRun {
  /** The config hash the finished container ran with (desired.hash.hash at removal). */
  configHash: string;
  /** Hash format of configHash (desired.hash.version at removal). */
  hashVersion?: string;
  exitCode: number;
  /** Epoch ms the container finished. */
  at: number;
}

/** What the controller remembers per owner between reconciles (not on the container). */
export interface RestartMemory {
  /** Consecutive restarts berth made of this owner's container. */
  restartCount: number;
  /** Epoch ms of the last restart berth made, for backoff. */
  lastRestartAt?: number;
  /** Consecutive failed probes of the current container (set by the prober). */
  probeFailures?: number;
  /**
   * Set by the controller when it executes a `remove` that carries `completed`
   * (a finished run-to-completion container): the run is done and must not be
   * started again while the config hash stays the same. Must survive
   * controller restarts, or a finished job runs again.
   */
  completed?: CompletedRun;
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
  /** The canonical runtime name of this owner's container (e.g. berth-default-web). */
  containerName: string;
  /**
   * The last known spec carried the annotation `berth.dev/prune: disabled`.
   * Only read when `desired` is undefined: the controller remembers it from the
   * spec that is now gone.
   */
  pruneDisabled?: boolean;
}

/** The annotation that opts a spec out of pruning when it is deleted. */
export const PRUNE_ANNOTATION = 'berth.dev/prune';

/** Why a container is replaced. */
export type ReplaceReason = 'ConfigDrift' | 'MaxAgeExceeded';

export type Action =
  | { type: 'create'; cause: string; name: string }
  | { type: 'start'; cause: string; containerId: string }
  | {
      type: 'replace';
      /** Why, as a condition/Event reason. */
      reason: ReplaceReason;
      cause: string;
      containerId: string;
      /** A fixed host port: the old container must stop before the new one can start. */
      stopFirst: boolean;
      driftedFields?: string[];
      name: string;
      /** New first: the name the new container runs under until the old one is gone. */
      tempName: string;
      /** New first: how long the new one may take to pass its probe before the old one goes anyway (0: no probe). */
      readyTimeoutMs: number;
    }
  | { type: 'restart'; cause: string; containerId: string; attempt: number }
  | { type: 'rename'; cause: string; containerId: string; name: string }
  | { type: 'stop'; cause: string; containerId: string }
  | {
      type: 'remove';
      cause: string;
      containerId: string;
      /** A finished run-to-completion container: record this as memory.completed once removed. */
      completed?: CompletedRun;
    };

export interface Plan {
  key: ResourceKey;
  actions: Action[];
  /** Epoch ms when a time rule next falls due (max age, ttl, backoff), if any. */
  nextDeadline?: number;
  /** Why nothing is done now although the world is not as desired (e.g. CrashLoopBackOff). */
  waiting?: Waiting;
}

/** A reason the world stays as it is for now; `until` when the wait ends by itself. */
export interface Waiting {
  /** CamelCase condition reason: CrashLoopBackOff, PruneDisabled, PlanFailed. */
  reason: string;
  message: string;
  /** Epoch ms; absent when only a change of spec or memory ends the wait (PruneDisabled). */
  until?: number;
}
