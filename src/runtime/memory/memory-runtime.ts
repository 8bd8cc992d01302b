// A Runtime held in memory, for fast controller tests: it behaves like the
// Docker runtime where the controller relies on it (labels decoded the same
// way, unique names, created/running/exited, exit codes, restart of an exited
// container, the same event actions, NotFound/Conflict/ImagePullFailed,
// AbortSignal honoured) and passes the same contract suite
// (runtime-contract.testkit.ts). Time comes from an injected clock, so
// timestamps and stop grace periods are deterministic under a FakeClock.
//
// Tests script it: a container's process exits (exit), behaves a certain way
// when started or stopped (behave), exec answers (onExec / behave({exec})),
// and any operation fails or hangs until released (script.fail / script.hold).
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { abortError, raceAbort } from '../deadline-call.js';
import { RuntimeError } from '../errors.js';
import { LABEL, type ContainerUsage, type CreateRequest, type ExecRequest, type EventFilter, type ExecResult, type ListFilter, type ObservedContainer, type OnStep, type PathStat, type Runtime, type RuntimeEvent } from '../types.js';
import { stopThenRemove } from '../compound.js';
import { SteppedRuntime } from '../stepped-runtime.js';
import { builtinExec, builtinExitCode, type ExecAnswer } from './builtin-exec.js';
import { execResult, observedOf, tailLines, type MemoryContainer } from './container.js';
import { MemoryFiles } from './files.js';
import { OpScript, type MemoryOp } from './script.js';

/** The clock the runtime reads; structurally the controller's Clock (FakeClock fits). */
export interface MemoryClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): () => void;
}

const realClock: MemoryClock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const h = setTimeout(fn, ms);
    return () => clearTimeout(h);
  },
};

export type ExecHandler = (req: ExecRequest, container: ObservedContainer) => ExecAnswer | Promise<ExecAnswer>;

/** How a container's process behaves; set per container by name or owner before (or after) it is created. */
export interface ProcessBehaviour {
  /** After each start the process runs this long on the clock, then exits with exitCode (default: runs until stopped). */
  exitAfterMs?: number;
  exitCode?: number;
  oomKilled?: boolean;
  /** Ignores SIGTERM: stop waits the grace period on the clock, then kills (137). Default false. */
  ignoresTerm?: boolean;
  /** Exit code on SIGTERM when it does not ignore it (default 143, a shell's). */
  termExitCode?: number;
  /** Answers exec in this container (before the runtime-wide onExec). */
  exec?: ExecHandler;
}

export interface BehaviourMatch {
  /** The container's name (exact, or a pattern). */
  name?: string | RegExp;
  /** The berth.dev/name label. */
  owner?: string;
}

export interface MemoryRuntimeOptions {
  clock?: MemoryClock;
  /** The runtime name the controller sees (what it enforces depends on it); default docker. */
  name?: Runtime['name'];
  /** Images present; unset means every image is present. */
  images?: Iterable<string>;
  /** Images a pull finds (IfNotPresent, Always); default none. */
  registry?: Iterable<string>;
}


interface Subscriber {
  onEvent: (e: RuntimeEvent) => void;
  onError?: (e: Error) => void;
  signal: AbortSignal;
  managedBy?: string;
}

const STOP_KILL_CODE = 137;
const DEFAULT_TERM_CODE = 143;

export class MemoryRuntime extends SteppedRuntime implements Runtime {
  readonly name: Runtime['name'];
  /** Failures and holds per operation, and the record of calls. */
  readonly script = new OpScript();
  private readonly clock: MemoryClock;
  private readonly containers = new Map<string, MemoryContainer>();
  /**
   * Container ids by owner name (label berth.dev/name): an owner's list reads
   * its own containers, as the engine's label filter does, instead of every
   * container (which made the simulation of 10,000 Instances O(N²) in here).
   */
  private readonly byOwnerName = new Map<string, Set<string>>();
  /** Container id by name (names are unique, as on the engine). */
  private readonly idByName = new Map<string, string>();
  private readonly subscribers = new Set<Subscriber>();
  private readonly behaviours: Array<{ match: BehaviourMatch; behaviour: ProcessBehaviour }> = [];
  private readonly images: Set<string> | undefined;
  private readonly registry: Set<string>;
  private execHandler: ExecHandler | undefined;
  private seq = 0;

  constructor(opts: MemoryRuntimeOptions = {}) {
    super();
    this.clock = opts.clock ?? realClock;
    this.name = opts.name ?? 'docker';
    this.images = opts.images ? new Set(opts.images) : undefined;
    this.registry = new Set(opts.registry ?? []);
  }

  // ---- knobs for tests ----

  /** How containers matching `match` behave (later rules win, field by field). */
  behave(match: BehaviourMatch, behaviour: ProcessBehaviour): void {
    this.behaviours.push({ match, behaviour });
  }

  /** Answers exec in every container without its own exec behaviour. */
  onExec(handler: ExecHandler | undefined): void {
    this.execHandler = handler;
  }

  /** The process of a running container exits now (a crash, an OOM kill, a finished job). */
  exit(idOrName: string, exitCode: number, opts: { oomKilled?: boolean } = {}): void {
    const c = this.find(idOrName);
    if (!c) throw new RuntimeError('NotFound', `no such container: ${idOrName}`);
    if (c.state === 'running') this.exitProcess(c, exitCode, opts.oomKilled ?? false);
  }

  /** Appends to the container's log, as its process printed it. */
  print(idOrName: string, text: string): void {
    const c = this.find(idOrName);
    if (!c) throw new RuntimeError('NotFound', `no such container: ${idOrName}`);
    c.log += text;
    for (const f of c.followers) f.write(text);
  }

  setUsage(idOrName: string, usage: ContainerUsage): void {
    const c = this.find(idOrName);
    if (c) c.usage = usage;
  }

  /** Delivers an event (say health_status) for a container, as the engine would. */
  emitEvent(idOrName: string, action: string): void {
    const c = this.find(idOrName);
    if (c) this.emit(c, action);
  }

  /** Reports an error to event subscribers, as a broken engine stream does (they stay subscribed). */
  breakEvents(error: Error): void {
    for (const s of this.subscribers) setImmediate(() => s.onError?.(error));
  }

  /** Every container, managed by anyone: what a test looks at directly. */
  snapshot(): ObservedContainer[] {
    return [...this.containers.values()].flatMap((c) => {
      const o = observedOf(c, true);
      return o ? [o] : [];
    });
  }

  // ---- Runtime ----

  async ping(signal?: AbortSignal): Promise<void> {
    await this.enter('ping', undefined, signal);
  }

  async list(filter: ListFilter, signal?: AbortSignal): Promise<ObservedContainer[]> {
    await this.enter('list', filter.name, signal); // recorded by the owner it asks for (resyncs ask for none)
    const wanted: Record<string, string | undefined> = {
      [LABEL.managedBy]: filter.managedBy,
      [LABEL.kind]: filter.kind,
      [LABEL.namespace]: filter.namespace,
      [LABEL.name]: filter.name,
    };
    return this.candidates(filter.name)
      .filter((c) => Object.entries(wanted).every(([k, v]) => v === undefined || c.labels[k] === v))
      .flatMap((c) => {
        // As the Docker runtime's list: a running container's startedAt needs an inspect.
        const o = observedOf(c, c.state !== 'running');
        return o ? [o] : [];
      });
  }

  async inspect(id: string, signal?: AbortSignal): Promise<ObservedContainer> {
    const c = await this.managed('inspect', id, signal);
    const o = observedOf(c, true);
    if (!o) throw new RuntimeError('Invalid', `refusing to inspect container ${id}: its labels are not a complete berth identity`);
    return o;
  }

  async ensureImage(image: string, policy: 'IfNotPresent' | 'Always' | 'Never', signal?: AbortSignal): Promise<void> {
    await this.enter('ensureImage', image, signal);
    const present = this.hasImage(image);
    if (policy === 'Never') {
      if (!present) throw new RuntimeError('ImagePullFailed', `image ${image} is not present on the engine and imagePullPolicy is Never (build or load it there, or use IfNotPresent)`);
      return;
    }
    if (present && policy === 'IfNotPresent') return;
    if (!this.registry.has(image) && !(present && this.images === undefined)) {
      throw new RuntimeError('ImagePullFailed', `pulling image ${image} failed: not found in the registry`);
    }
    this.images?.add(image);
  }

  /** As on Docker: the removal kills, so a stop comes first only when there is grace to give. */
  retire(id: string, graceSeconds: number, signal?: AbortSignal, onStep?: OnStep): Promise<void> {
    return stopThenRemove(graceSeconds > 0 ? () => this.stop(id, graceSeconds, signal) : undefined, () => this.remove(id, signal), onStep, signal);
  }

  protected async create(req: CreateRequest, signal?: AbortSignal): Promise<string> {
    await this.enter('create', req.name, signal);
    if (!req.labels[LABEL.managedBy]) throw new RuntimeError('Invalid', `refusing to create ${req.name} without the label ${LABEL.managedBy}`);
    if (!this.hasImage(req.template.image)) throw new RuntimeError('ImagePullFailed', `No such image: ${req.template.image}`);
    const holder = this.byName(req.name);
    if (holder) throw new RuntimeError('Conflict', `Conflict. The container name "/${req.name}" is already in use by container "${holder.id}"`);
    const id = createHash('sha256').update(`memory-container-${++this.seq}`).digest('hex');
    const c: MemoryContainer = {
      id,
      name: req.name,
      labels: { ...req.labels },
      template: req.template,
      state: 'created',
      engineCreatedAt: this.clock.now(),
      run: 0,
      log: '',
      followers: new Set(),
      files: new MemoryFiles(),
    };
    this.containers.set(id, c);
    this.index(c);
    return id;
  }

  /** Starting a running container is success; an exited one runs again (same id, name, labels). */
  protected async start(id: string, signal?: AbortSignal): Promise<void> {
    const c = await this.managed('start', id, signal);
    if (c.state === 'running') return;
    c.state = 'running';
    c.run += 1;
    c.startedAt = this.clock.now();
    delete c.finishedAt;
    delete c.exitCode;
    delete c.oomKilled;
    this.emit(c, 'start');
    const b = this.behaviourOf(c);
    if (b.exitAfterMs !== undefined) {
      const run = c.run;
      c.cancelExit = this.clock.setTimeout(() => {
        if (c.run === run && c.state === 'running') this.exitProcess(c, b.exitCode ?? 0, b.oomKilled ?? false);
      }, b.exitAfterMs);
    }
  }

  /** SIGTERM, then SIGKILL after graceSeconds on the clock; stopping a container that is not running is success. */
  protected async stop(id: string, graceSeconds: number, signal?: AbortSignal): Promise<void> {
    const c = await this.managed('stop', id, signal);
    if (c.state !== 'running') return;
    const b = this.behaviourOf(c);
    if (b.ignoresTerm) {
      const run = c.run;
      await this.wait(Math.max(0, Math.ceil(graceSeconds)) * 1000, signal);
      if (c.run !== run || c.state !== 'running' || !this.containers.has(c.id)) return; // exited meanwhile
      this.exitProcess(c, STOP_KILL_CODE, false);
    } else {
      this.exitProcess(c, b.termExitCode ?? DEFAULT_TERM_CODE, false);
    }
    this.emit(c, 'stop');
  }

  /** Force-removes (a running process is killed first); a missing container is success. */
  private async remove(id: string, signal?: AbortSignal): Promise<void> {
    await this.enter('remove', id, signal);
    const c = this.find(id);
    if (!c) return;
    if (!c.labels[LABEL.managedBy]) throw notManaged(id, 'remove');
    if (c.state === 'running') this.exitProcess(c, STOP_KILL_CODE, false);
    this.containers.delete(c.id);
    this.unindex(c);
    for (const f of c.followers) f.end();
    this.emit(c, 'destroy');
  }

  /** A name another container holds is Conflict. */
  protected async rename(id: string, name: string, signal?: AbortSignal): Promise<void> {
    const c = await this.managed('rename', id, signal);
    const holder = this.byName(name);
    if (holder && holder !== c) throw new RuntimeError('Conflict', `Error when allocating new name: Conflict. The container name "/${name}" is already in use by container "${holder.id}"`);
    this.idByName.delete(c.name);
    c.name = name;
    this.idByName.set(name, c.id);
  }

  /** Runs the scripted (or builtin) answer with the request's timeout on the clock; a container not running is Conflict. */
  async exec(id: string, req: ExecRequest, signal?: AbortSignal): Promise<ExecResult> {
    const c = await this.managed('exec', id, signal);
    if (c.state !== 'running') throw new RuntimeError('Conflict', `container ${id} is not running`);
    const began = this.clock.now();
    const stdin = req.stdin === undefined ? '' : req.stdin.toString();
    const handler = this.behaviourOf(c).exec ?? this.execHandler;
    const container = observedOf(c, true)!;
    const answer = Promise.resolve().then(() => (handler ? handler(req, container) : builtinExec(req.command, stdin)));
    let cancelTimer: (() => void) | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (cancelTimer = this.clock.setTimeout(() => resolve('timeout'), req.timeoutMs)));
    try {
      const raced = Promise.race([answer, timedOut]);
      const settled = await (signal ? raceAbort(raced, signal) : raced);
      if (settled === 'timeout') {
        answer.catch(() => undefined);
        return execResult({ exitCode: STOP_KILL_CODE }, true, this.clock.now() - began, req);
      }
      return execResult(settled, false, this.clock.now() - began, req);
    } finally {
      cancelTimer?.();
    }
  }

  async logs(id: string, opts: { tail?: number; follow?: boolean }, signal?: AbortSignal): Promise<NodeJS.ReadableStream> {
    const c = await this.managed('logs', id, signal);
    const out = new PassThrough();
    out.write(tailLines(c.log, opts.tail));
    if (!opts.follow) {
      out.end();
      return out;
    }
    c.followers.add(out);
    const stop = (): void => {
      c.followers.delete(out);
      out.end();
    };
    signal?.addEventListener('abort', stop, { once: true });
    out.on('close', () => c.followers.delete(out));
    return out;
  }

  async usage(id: string, signal?: AbortSignal): Promise<ContainerUsage> {
    const c = await this.managed('usage', id, signal);
    if (c.state !== 'running') return {};
    return c.usage ?? { cpuPercent: 0, memoryBytes: 0, pids: 1 };
  }

  async statPath(id: string, path: string, signal?: AbortSignal): Promise<PathStat | undefined> {
    const c = await this.managed('statPath', id, signal);
    return c.files.stat(path);
  }

  async getArchive(id: string, path: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
    const c = await this.managed('getArchive', id, signal);
    return c.files.get(path, maxBytes);
  }

  async putArchive(id: string, dir: string, archive: Buffer, signal?: AbortSignal): Promise<void> {
    const c = await this.managed('putArchive', id, signal);
    // File contents live inside the tar, so the archive's own size bounds them.
    await c.files.put(dir, archive, Math.max(archive.length, 1024));
  }

  /** Delivers events on a later turn of the event loop than the call that caused them (as an engine's stream does), until the signal aborts. */
  events(onEvent: (e: RuntimeEvent) => void, signal: AbortSignal, onError?: (e: Error) => void, filter?: EventFilter): void {
    if (signal.aborted) return;
    const s: Subscriber = { onEvent, signal, ...(onError ? { onError } : {}), ...(filter?.managedBy !== undefined ? { managedBy: filter.managedBy } : {}) };
    this.subscribers.add(s);
    signal.addEventListener('abort', () => this.subscribers.delete(s), { once: true });
  }

  // ---- internals ----

  private candidates(ownerName: string | undefined): MemoryContainer[] {
    if (ownerName === undefined) return [...this.containers.values()];
    return [...(this.byOwnerName.get(ownerName) ?? [])].flatMap((id) => this.containers.get(id) ?? []);
  }

  private index(c: MemoryContainer): void {
    this.idByName.set(c.name, c.id);
    const owner = c.labels[LABEL.name];
    if (owner === undefined) return;
    let ids = this.byOwnerName.get(owner);
    if (!ids) this.byOwnerName.set(owner, (ids = new Set()));
    ids.add(c.id);
  }

  private unindex(c: MemoryContainer): void {
    if (this.idByName.get(c.name) === c.id) this.idByName.delete(c.name);
    const owner = c.labels[LABEL.name];
    const ids = owner === undefined ? undefined : this.byOwnerName.get(owner);
    ids?.delete(c.id);
    if (ids?.size === 0) this.byOwnerName.delete(owner!);
  }

  private enter(op: MemoryOp, target: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    return this.script.enter(op, target, signal);
  }

  /** A container berth may act on: NotFound when missing, Invalid without the managed-by label (as Docker's guard). */
  private async managed(op: MemoryOp, id: string, signal: AbortSignal | undefined): Promise<MemoryContainer> {
    await this.enter(op, id, signal);
    const c = this.find(id);
    if (!c) throw new RuntimeError('NotFound', `No such container: ${id}`);
    if (!c.labels[LABEL.managedBy]) throw notManaged(id, op);
    return c;
  }

  private find(idOrName: string): MemoryContainer | undefined {
    return this.containers.get(idOrName) ?? this.byName(idOrName);
  }

  private byName(name: string): MemoryContainer | undefined {
    const id = this.idByName.get(name);
    return id === undefined ? undefined : this.containers.get(id);
  }

  private hasImage(image: string): boolean {
    return this.images === undefined || this.images.has(image);
  }

  private behaviourOf(c: MemoryContainer): ProcessBehaviour {
    const out: ProcessBehaviour = {};
    const ownExit = builtinExitCode([...(c.template.command ?? []), ...(c.template.args ?? [])]);
    if (ownExit !== undefined) Object.assign(out, { exitAfterMs: 0, exitCode: ownExit });
    for (const { match, behaviour } of this.behaviours) {
      const nameOk = match.name === undefined || (typeof match.name === 'string' ? match.name === c.name : match.name.test(c.name));
      const ownerOk = match.owner === undefined || c.labels[LABEL.name] === match.owner;
      if (nameOk && ownerOk) Object.assign(out, behaviour);
    }
    return out;
  }

  private exitProcess(c: MemoryContainer, exitCode: number, oomKilled: boolean): void {
    c.cancelExit?.();
    delete c.cancelExit;
    c.state = 'exited';
    c.exitCode = exitCode;
    c.oomKilled = oomKilled;
    c.finishedAt = this.clock.now();
    if (oomKilled) this.emit(c, 'oom');
    this.emit(c, 'die');
  }

  private emit(c: MemoryContainer, action: string): void {
    const event: RuntimeEvent = { action, containerId: c.id, labels: { ...c.labels }, time: this.clock.now() };
    for (const s of this.subscribers) {
      if (s.managedBy !== undefined && c.labels[LABEL.managedBy] !== s.managedBy) continue;
      setImmediate(() => {
        if (s.signal.aborted) return;
        try {
          s.onEvent(event);
        } catch (e) {
          s.onError?.(e instanceof Error ? e : new Error(String(e)));
        }
      });
    }
  }

  private wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    let cancel: (() => void) | undefined;
    const done = new Promise<void>((resolve) => (cancel = this.clock.setTimeout(resolve, ms)));
    if (!signal) return done;
    if (signal.aborted) {
      cancel?.();
      return Promise.reject(abortError(signal));
    }
    return raceAbort(done, signal).finally(() => cancel?.());
  }
}


function notManaged(id: string, op: string): RuntimeError {
  return new RuntimeError('Invalid', `refusing to ${op} container ${id}: it lacks the label ${LABEL.managedBy}, so berth does not manage it`);
}
