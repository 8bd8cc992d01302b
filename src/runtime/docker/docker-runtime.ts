// The Runtime on a Docker engine, through dockerode. Every call has a deadline
// and takes an AbortSignal (call.ts); mapping, observation, exec, events, logs
// and images live in their own files; this class only wires them together.
import type Dockerode from 'dockerode';
import { Dockerode as DockerodeClient } from './dockerode.js';
import { RuntimeError, isRuntimeError } from '../errors.js';
import { LABEL, type ContainerUsage, type CreateRequest, type ExecRequest, type EventFilter, type ExecResult, type ListFilter, type ObservedContainer, type OnStep, type PathStat, type Runtime, type RuntimeEvent } from '../types.js';
import { stopThenRemove } from '../compound.js';
import { SteppedRuntime } from '../stepped-runtime.js';
import { DEFAULT_TIMEOUTS, dockerCall, type DockerTimeouts } from './call.js';
import { getArchive, getArchiveByExec, needsExec, putArchive, putArchiveByExec, statPath, statPathByExec } from './archive.js';
import { createOptions } from './create-options.js';
import { subscribeEvents } from './events.js';
import { runExec } from './exec.js';
import { ensureImage, type PullPolicy } from './image.js';
import { containerLogs } from './logs.js';
import { listFilters, needsInspect, observedFromInspect, observedFromSummary, withExitDetails } from './observe.js';
import { ManagedIds } from './managed-ids.js';
import { ensureOwnedVolumes } from './volume-ownership.js';
import { usageFromStats, type StatsDocument } from './usage.js';

export const DEFAULT_SOCKET_PATH = '/var/run/docker.sock';
/** How long an image found present is taken to still be there (a create that misses it forgets it at once). */
const IMAGE_PRESENT_TTL_MS = 60_000;

export interface DockerRuntimeOptions {
  /** A ready client; wins over socketPath. */
  docker?: Dockerode;
  /** Default: DOCKER_HOST when set, else /var/run/docker.sock. */
  socketPath?: string;
  timeouts?: Partial<DockerTimeouts>;
  /** Inspects of stopped containers run in parallel up to this many per list (default 8). */
  listInspectConcurrency?: number;
  /** Mount named volumes berth did not create for the resource (--allow-foreign-volumes); default false. */
  allowForeignVolumes?: boolean;
}

function defaultClient(socketPath: string | undefined): Dockerode {
  if (socketPath !== undefined) return new DockerodeClient({ socketPath });
  // docker-modem reads DOCKER_HOST (unix://, tcp://, ssh://, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH).
  if (process.env['DOCKER_HOST']) return new DockerodeClient();
  return new DockerodeClient({ socketPath: DEFAULT_SOCKET_PATH });
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export class DockerRuntime extends SteppedRuntime implements Runtime {
  readonly name = 'docker' as const;
  readonly docker: Dockerode;
  readonly timeouts: DockerTimeouts;
  private readonly listInspectConcurrency: number;
  private readonly allowForeignVolumes: boolean;
  private readonly managed = new ManagedIds();
  /** Images found present, by reference, with when (performance.now()). */
  private readonly presentImages = new Map<string, number>();

  constructor(opts: DockerRuntimeOptions = {}) {
    super();
    this.allowForeignVolumes = opts.allowForeignVolumes ?? false;
    this.docker = opts.docker ?? defaultClient(opts.socketPath);
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.listInspectConcurrency = opts.listInspectConcurrency ?? 8;
  }

  async ping(signal?: AbortSignal): Promise<void> {
    await dockerCall('ping', this.timeouts.ping, signal, (s) => (this.docker.ping as (opts: { abortSignal: AbortSignal }) => Promise<unknown>)({ abortSignal: s }));
  }

  /**
   * One listContainers call. Containers not running (exited, dead) are few and
   * get one inspect each for their exit details; a converged world of running
   * containers costs exactly one call. Running containers carry no startedAt
   * (the summary has only "Up 5 minutes"): inspect() has it.
   */
  async list(filter: ListFilter, signal?: AbortSignal): Promise<ObservedContainer[]> {
    const summaries = await dockerCall('list', this.timeouts.list, signal, (s) =>
      this.docker.listContainers({ all: true, filters: listFilters(filter), abortSignal: s }),
    );
    const listed = summaries.flatMap((c) => {
      const o = observedFromSummary(c);
      if (o?.managedBy) this.managed.add(o.id);
      return o ? [o] : [];
    });
    const detailed = await mapLimit(listed, this.listInspectConcurrency, async (c) => {
      if (!needsInspect(c.state)) return c;
      const inspected = await this.inspectRaw(c.id, signal).catch((e: unknown) => {
        if (isRuntimeError(e, 'NotFound')) return undefined; // removed since the list: gone
        throw e;
      });
      const o = inspected && observedFromInspect(inspected);
      return o ? withExitDetails(c, o) : undefined;
    });
    return detailed.filter((c): c is ObservedContainer => c !== undefined);
  }

  async inspect(id: string, signal?: AbortSignal): Promise<ObservedContainer> {
    const info = await this.inspectRaw(id, signal);
    const o = observedFromInspect(info);
    if (!o) throw notManaged(id, 'inspect');
    return o;
  }

  async ensureImage(image: string, policy: PullPolicy, signal?: AbortSignal): Promise<void> {
    // A pool filling up creates many members of one image: the engine is asked once a minute, not before each create.
    const seen = this.presentImages.get(image);
    if (policy !== 'Always' && seen !== undefined && performance.now() - seen < IMAGE_PRESENT_TTL_MS) return;
    await ensureImage(this.docker, image, policy, this.timeouts, signal);
    this.presentImages.set(image, performance.now());
  }

  /**
   * A forced remove kills a running container at once, as a stop with no
   * grace would: with no grace, one call; with grace, a stop first.
   */
  retire(id: string, graceSeconds: number, signal?: AbortSignal, onStep?: OnStep): Promise<void> {
    const stop = graceSeconds > 0 ? () => this.stop(id, graceSeconds, signal) : undefined;
    return stopThenRemove(stop, () => this.remove(id, signal), onStep, signal);
  }

  /** Creates (does not start) the container; a taken name is Conflict, a missing image ImagePullFailed. */
  protected async create(req: CreateRequest, signal?: AbortSignal): Promise<string> {
    if (!req.labels[LABEL.managedBy]) {
      throw new RuntimeError('Invalid', `refusing to create ${req.name} without the label ${LABEL.managedBy}`);
    }
    if (!this.allowForeignVolumes) await ensureOwnedVolumes(this.docker, req, this.timeouts, signal);
    const container = await dockerCall('create', this.timeouts.create, signal, (s) => this.docker.createContainer({ ...createOptions(req), abortSignal: s })).catch((e: unknown) => {
      // Removed since it was seen: the next ensureImage asks the engine (and pulls) again.
      if (isRuntimeError(e, 'ImagePullFailed')) this.presentImages.delete(req.template.image);
      throw e;
    });
    this.managed.add(container.id);
    return container.id;
  }

  /** Starting a running container is success. */
  protected async start(id: string, signal?: AbortSignal): Promise<void> {
    const full = await this.assertManaged(id, 'start', signal);
    await ignoreCodes(['AlreadyDone'], () => dockerCall('start', this.timeouts.start, signal, (s) => this.docker.getContainer(full).start({ abortSignal: s })));
  }

  /** SIGTERM (or the image's STOPSIGNAL), SIGKILL after graceSeconds; stopping a stopped container is success. */
  protected async stop(id: string, graceSeconds: number, signal?: AbortSignal): Promise<void> {
    const full = await this.assertManaged(id, 'stop', signal);
    const t = Math.max(0, Math.ceil(graceSeconds));
    await ignoreCodes(['AlreadyDone'], () =>
      dockerCall('stop', t * 1000 + this.timeouts.stopExtra, signal, (s) => this.docker.getContainer(full).stop({ t, abortSignal: s })),
    );
  }

  /** Force-removes the container and its anonymous volumes; a missing container is success. */
  private async remove(id: string, signal?: AbortSignal): Promise<void> {
    try {
      const full = await this.assertManaged(id, 'remove', signal);
      await dockerCall('remove', this.timeouts.remove, signal, (s) =>
        this.docker.getContainer(full).remove({ force: true, v: true, abortSignal: s } as Dockerode.ContainerRemoveOptions),
      );
      this.managed.delete(full);
    } catch (e) {
      if (isRuntimeError(e, 'NotFound')) {
        this.managed.delete(id);
        return;
      }
      // "removal of container x is already in progress": it is going away.
      if (isRuntimeError(e, 'Conflict') && /already in progress/i.test(e.message)) return;
      throw e;
    }
  }

  protected async rename(id: string, name: string, signal?: AbortSignal): Promise<void> {
    const full = await this.assertManaged(id, 'rename', signal);
    await dockerCall('rename', this.timeouts.rename, signal, (s) => this.docker.getContainer(full).rename({ name, abortSignal: s }));
  }

  exec(id: string, req: ExecRequest, signal?: AbortSignal): Promise<ExecResult> {
    return runExec(this.docker, id, req, this.timeouts, signal);
  }

  logs(id: string, opts: { tail?: number; follow?: boolean }, signal?: AbortSignal): Promise<NodeJS.ReadableStream> {
    return containerLogs(this.docker, id, opts, this.timeouts, signal);
  }

  /** One-shot stats (the engine samples twice, ~1 s apart, for the CPU figure). */
  async usage(id: string, signal?: AbortSignal): Promise<ContainerUsage> {
    const stats = await dockerCall('stats', this.timeouts.stats, signal, (s) =>
      this.docker.getContainer(id).stats({ stream: false, abortSignal: s } as { stream?: false }),
    );
    return usageFromStats(stats as StatsDocument);
  }

  async statPath(id: string, path: string, signal?: AbortSignal): Promise<PathStat | undefined> {
    const info = await this.managedInfo(id, 'stat a path in', signal);
    if (needsExec(info, path)) return statPathByExec(this.docker, info.Id, path, this.timeouts, signal);
    return statPath(this.docker, info.Id, path, this.timeouts, signal);
  }

  async getArchive(id: string, path: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
    const info = await this.managedInfo(id, 'copy from', signal);
    if (needsExec(info, path)) return getArchiveByExec(this.docker, info.Id, path, maxBytes, this.timeouts, signal);
    return getArchive(this.docker, info.Id, path, maxBytes, this.timeouts, signal);
  }

  async putArchive(id: string, dir: string, archive: Buffer, signal?: AbortSignal): Promise<void> {
    const info = await this.managedInfo(id, 'copy into', signal);
    if (needsExec(info, dir)) return putArchiveByExec(this.docker, info.Id, dir, archive, this.timeouts, signal);
    await putArchive(this.docker, info.Id, dir, archive, this.timeouts, signal);
  }

  events(onEvent: (e: RuntimeEvent) => void, signal: AbortSignal, onError?: (e: Error) => void, filter?: EventFilter): void {
    subscribeEvents(this.docker, onEvent, signal, onError, { connectTimeoutMs: this.timeouts.eventsConnect, ...(filter?.managedBy !== undefined ? { managedBy: filter.managedBy } : {}) });
  }

  private inspectRaw(id: string, signal?: AbortSignal): Promise<Dockerode.ContainerInspectInfo> {
    return dockerCall('inspect', this.timeouts.inspect, signal, (s) => this.docker.getContainer(id).inspect({ abortSignal: s }));
  }

  /**
   * berth never touches a container without its managed-by label. The engine
   * also resolves names and id prefixes, so an id that went wrong could name
   * someone else's container: mutating calls check the label first, then act
   * on the full id the check saw (never on a name that could move meanwhile).
   */
  private async assertManaged(id: string, op: string, signal?: AbortSignal): Promise<string> {
    if (this.managed.has(id)) return id;
    return (await this.managedInfo(id, op, signal)).Id;
  }

  private async managedInfo(id: string, op: string, signal?: AbortSignal): Promise<Dockerode.ContainerInspectInfo> {
    const info = await this.inspectRaw(id, signal);
    if (!info.Config?.Labels?.[LABEL.managedBy]) throw notManaged(id, op);
    this.managed.add(info.Id);
    return info;
  }
}

function notManaged(id: string, op: string): RuntimeError {
  return new RuntimeError('Invalid', `refusing to ${op} container ${id}: it lacks the label ${LABEL.managedBy}, so berth does not manage it`);
}

async function ignoreCodes(codes: string[], fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (isRuntimeError(e) && codes.includes(e.code)) return;
    throw e;
  }
}
