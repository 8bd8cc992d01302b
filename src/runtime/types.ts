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

export interface Runtime {
  readonly name: 'docker' | 'kubernetes';
  /** One API call: every container carrying berth's labels for this filter. */
  list(filter: ListFilter, signal?: AbortSignal): Promise<ObservedContainer[]>;
  inspect(id: string, signal?: AbortSignal): Promise<ObservedContainer>;
  ensureImage(image: string, policy: 'IfNotPresent' | 'Always' | 'Never', signal?: AbortSignal): Promise<void>;
  create(req: CreateRequest, signal?: AbortSignal): Promise<string>;
  start(id: string, signal?: AbortSignal): Promise<void>;
  stop(id: string, graceSeconds: number, signal?: AbortSignal): Promise<void>;
  remove(id: string, signal?: AbortSignal): Promise<void>;
  rename(id: string, name: string, signal?: AbortSignal): Promise<void>;
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
  /**
   * remove() of a running container kills it at once, as a stop with no
   * grace would (Docker's forced remove). Where it is not so (a Pod's delete
   * honours its grace period), a removal with no grace stops first.
   */
  readonly removeKills?: boolean;
}
