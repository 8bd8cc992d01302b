// What every runtime (Docker, Kubernetes Pods) offers the controller, and the
// Observed* snapshots it reports. Labels are the record of ownership.
import type { EffectiveTemplate } from '../spec/policy.js';
import type { Kind } from '../spec/schema.js';

export const LABEL = {
  managedBy: 'berth.dev/managed-by',
  kind: 'berth.dev/kind',
  namespace: 'berth.dev/namespace',
  name: 'berth.dev/name',
  member: 'berth.dev/member',
  configHash: 'berth.dev/config-hash',
  hashVersion: 'berth.dev/hash-version',
  createdAt: 'berth.dev/created-at',
  /** Per-field digests beside the hash, so a drift can name what changed. */
  configFields: 'berth.dev/config-fields',
  /** The claim holding a pool member, on runtimes whose containers can be relabelled (Pods). */
  claim: 'berth.dev/claim',
} as const;

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'exited' | 'dead' | 'removing';

/** One managed container as the runtime reports it. */
export interface ObservedContainer {
  id: string;
  /** Runtime name, e.g. berth-default-web or berth-default-py-7f3a. */
  name: string;
  labels: Record<string, string>;
  /** From the labels: */
  managedBy: string;
  kind: Kind;
  namespace: string;
  owner: string;
  member?: string;
  configHash?: string;
  hashVersion?: string;
  /** Decoded from berth.dev/config-fields. */
  configFields?: Record<string, string>;
  /** Epoch ms, from berth.dev/created-at (falls back to the engine's creation time). */
  createdAt: number;
  state: ContainerState;
  /** Engine health when the image declares one; berth's own probes are separate. */
  engineHealth?: 'starting' | 'healthy' | 'unhealthy';
  /** Present for exited containers (filled by an inspect of the few that are not running). */
  exitCode?: number;
  oomKilled?: boolean;
  startedAt?: number;
  finishedAt?: number;
  /** Address on its network, for http/tcp probes from the host (absent with network none). */
  ip?: string;
  /** Fixed host ports this container binds (hostPort set in the template). */
  hostPorts: number[];
  /** Published ports as bound: containerPort/protocol -> host address and port. */
  ports: ObservedPort[];
}

export interface ObservedPort {
  containerPort: number;
  protocol: 'TCP' | 'UDP';
  hostIP?: string;
  hostPort?: number;
}

/** What to create: the effective template plus berth's identity labels. */
export interface CreateRequest {
  name: string;
  template: EffectiveTemplate;
  labels: Record<string, string>;
}

export interface ExecRequest {
  command: string[];
  stdin?: string | Buffer;
  /** Also hand back stdout as bytes (stdoutBytes), for binary output such as a tar. */
  binaryStdout?: boolean;
  timeoutMs: number;
  /** Bytes kept per stream; the rest is dropped and reported as truncated. */
  outputCapBytes?: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  truncated: boolean;
  /** stdout as bytes, when the request asked for binaryStdout. */
  stdoutBytes?: Buffer;
}

export interface ContainerUsage {
  cpuPercent?: number;
  memoryBytes?: number;
  pids?: number;
}

export interface RuntimeEvent {
  /** die, oom, health_status, destroy, start, stop, ... */
  action: string;
  containerId: string;
  labels: Record<string, string>;
  time: number;
}

/** What is at a path inside a container. */
export interface PathStat {
  type: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
}

export interface EventFilter {
  managedBy?: string;
}

export interface ListFilter {
  /** Only containers with this managed-by value (always set by the controller). */
  managedBy: string;
  kind?: Kind;
  namespace?: string;
  name?: string;
}

/**
 * One engine step of a compound operation (launch, retire). The step names are
 * what the engine does (they are the op label of the runtime operation
 * metrics), whatever the runtime does to achieve it.
 */
export type OperationStep = { name: 'create' } | { name: 'start'; memberId: string } | { name: 'stop' } | { name: 'remove' };

/**
 * Hears each step of a compound operation as it begins, so the caller can
 * pace and time engine steps one by one (--max-concurrent-ops counts steps,
 * not operations) and learns a new member's id before the member runs. The
 * first call names the step under way since the operation began; every later
 * step waits for the promise its call returns, and a rejection ends the
 * operation there with that error (a launch refused its start leaves the
 * member created, not running).
 */
export type OnStep = (step: OperationStep) => Promise<void> | void;

/**
 * What a runtime does to the members the controller keeps, in the lifecycle
 * machine's words (launch, halt, relaunch, retire, promote). How an engine
 * gets there stays inside its runtime: Docker creates, starts, stops,
 * removes and renames containers; Kubernetes creates Pods that run at once,
 * stops them through activeDeadlineSeconds, re-creates them to run again and
 * keeps berth's name in an annotation.
 */
export interface Runtime {
  readonly name: 'docker' | 'kubernetes';
  /** One API call: every container carrying berth's labels for this filter. */
  list(filter: ListFilter, signal?: AbortSignal): Promise<ObservedContainer[]>;
  inspect(id: string, signal?: AbortSignal): Promise<ObservedContainer>;
  ensureImage(image: string, policy: 'IfNotPresent' | 'Always' | 'Never', signal?: AbortSignal): Promise<void>;
  /**
   * Creates a member and starts it; resolves with its id once it runs (why
   * one call: a Pod runs as soon as it exists, so "create" and "start" are a
   * Docker split). A taken name is Conflict, a missing image ImagePullFailed.
   * onStep hears `create`, then `start` with the new id: from then on the
   * member exists, so a launch that fails or is abandoned later leaves a
   * member its caller knows (and relaunches or retires), never a leak.
   */
  launch(req: CreateRequest, signal?: AbortSignal, onStep?: OnStep): Promise<string>;
  /**
   * Runs a member that is not running (created and never started, halted,
   * exited) again under the same id: the planner's restart. A running member
   * is success.
   */
  relaunch(id: string, signal?: AbortSignal): Promise<void>;
  /**
   * Stops the member's process (a polite signal, killed after graceSeconds)
   * and keeps the member, for inspection and a later relaunch: `state:
   * Stopped`, and the first half of a restart. A member that is not running
   * is success, a missing one NotFound.
   */
  halt(id: string, graceSeconds: number, signal?: AbortSignal): Promise<void>;
  /**
   * Stops the member within graceSeconds and removes it: a member leaving
   * for good (replaced, surplus, pruned). One call, because whether a stop
   * must come first is the engine's business (Docker's forced remove kills
   * at once, a Pod's delete does not). Pass 0 for a member known not to
   * run. A member that is gone is success. onStep hears `stop` (when the
   * runtime stops it first) and `remove`.
   */
  retire(id: string, graceSeconds: number, signal?: AbortSignal, onStep?: OnStep): Promise<void>;
  /**
   * Gives a replacement the name of the member it replaced, once that one is
   * gone (a surge replacement is launched under a temporary name). A name
   * another member holds is Conflict where names are unique.
   */
  promote(id: string, name: string, signal?: AbortSignal): Promise<void>;
  exec(id: string, req: ExecRequest, signal?: AbortSignal): Promise<ExecResult>;
  logs(id: string, opts: { tail?: number; follow?: boolean }, signal?: AbortSignal): Promise<NodeJS.ReadableStream>;
  usage(id: string, signal?: AbortSignal): Promise<ContainerUsage>;
  /** What is at `path` in the container (links not followed); undefined when nothing is. */
  statPath(id: string, path: string, signal?: AbortSignal): Promise<PathStat | undefined>;
  /**
   * A tar of `path` in the container, its last element as the top entry (as
   * `docker cp` makes it). More than maxBytes is an ArchiveLimitError; a
   * missing path NotFound.
   */
  getArchive(id: string, path: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer>;
  /** Unpacks a tar into the existing directory `dir` of the container. */
  putArchive(id: string, dir: string, archive: Buffer, signal?: AbortSignal): Promise<void>;
  /**
   * Events of managed containers; resubscribes after the engine restarts until the signal aborts.
   * With `filter.managedBy`, only that controller's: the engine filters, so another controller's
   * churn on a shared engine does not wake this one.
   */
  events(onEvent: (e: RuntimeEvent) => void, signal: AbortSignal, onError?: (e: Error) => void, filter?: EventFilter): void;
  ping(signal?: AbortSignal): Promise<void>;
  /**
   * Optional: sets (or, with undefined, removes) the container's claim label
   * (LABEL.claim). Only runtimes whose containers can be relabelled have it
   * (Pods); elsewhere a member's binding is read from the claims alone.
   * A container that is gone is not an error.
   */
  setClaimLabel?(id: string, value: string | undefined, signal?: AbortSignal): Promise<void>;
}
