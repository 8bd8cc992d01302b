// berth's side of the bench: a `berth controller` child process per size, with
// its own spec and state directories, port and controller id; the specs are
// files it watches, and readiness is read from its API's watch stream (no
// polling load on the controller).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LABEL } from '../src/runtime/types.js';
import { CONTROLLER_NODE_FLAGS } from './controller-flags.js';
import { call, docker, engineTimeMs, listByLabel, sleep, T, until, withSignal } from './engine.js';
import { COUNTERS, counterDeltas, HISTOGRAMS, histogramDeltas, parseMetrics, type OpFigure, type Scrape } from './metrics.js';
import { cpuMeter, idleUsage, type CpuFigures, type IdleUsage } from './proc.js';
import type { KillSample } from './raw.js';
import { instanceFile, instanceName, NAMESPACE, type WorkloadOptions } from './workload.js';

const BERTH_BIN = fileURLToPath(new URL('../../bin/berth.js', import.meta.url));

interface InstanceObject {
  metadata: { name: string; generation?: number };
  status?: { phase?: string; containerId?: string; observedGeneration?: number; conditions?: Array<{ type: string; status: string }> };
}

export const isReady = (o: InstanceObject | undefined): boolean =>
  !!o?.status?.containerId &&
  (o.status.observedGeneration === undefined || o.metadata.generation === undefined || o.status.observedGeneration === o.metadata.generation) &&
  (o.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/**
 * The Instances of one namespace as the API's watch reports them, kept
 * current; waitFor() re-checks a condition on every event, so the time it
 * returns is when the API first showed the condition (to within one event).
 */
class InstanceWatch {
  readonly objects = new Map<string, InstanceObject>();
  private readonly listeners = new Set<() => void>();
  private req: http.ClientRequest | undefined;
  private closed = false;

  constructor(private readonly server: string) {}

  open(): void {
    if (this.closed) return;
    this.objects.clear();
    let buf = '';
    this.req = http.get(`${this.server}/apis/berth.dev/v1alpha1/namespaces/${NAMESPACE}/instances?watch=true`, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        res.on('end', () => this.reopen());
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line.trim()) continue;
          let ev: { type?: string; object?: InstanceObject };
          try {
            ev = JSON.parse(line) as typeof ev;
          } catch {
            continue;
          }
          const name = ev.object?.metadata?.name;
          if (!name || !ev.object) continue;
          if (ev.type === 'DELETED') this.objects.delete(name);
          else this.objects.set(name, ev.object);
        }
        for (const l of this.listeners) l();
      });
      res.on('end', () => this.reopen());
      res.on('error', () => this.reopen());
    });
    this.req.on('error', () => this.reopen());
  }

  private reopen(): void {
    if (this.closed) return;
    setTimeout(() => this.open(), 100).unref();
  }

  close(): void {
    this.closed = true;
    this.req?.destroy();
  }

  /** Resolves with performance.now() when check() first holds; rejects after timeoutMs. */
  waitFor(what: string, timeoutMs: number, check: (objects: Map<string, InstanceObject>) => boolean): Promise<number> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        clearInterval(tick);
        this.listeners.delete(test);
      };
      const test = (): void => {
        if (check(this.objects)) {
          done();
          resolve(performance.now());
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${(timeoutMs / 1000).toFixed(0)} s waiting for ${what}`));
      }, timeoutMs);
      // Also on a timer, in case a check depends on something besides the events.
      const tick = setInterval(test, 250);
      this.listeners.add(test);
      test();
    });
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no free port'))));
    });
  });
}

async function httpGet(url: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}

export interface PhaseFigures {
  /** Controller and engine CPU seconds and machine busy % during the phase. */
  cpu: CpuFigures;
  /** Histogram deltas from /metrics over the phase (where the time went). */
  ops: OpFigure[];
  counters: Array<{ series: string; delta: number }>;
}

export class BerthController {
  readonly controllerId = `berth-bench-${randomBytes(4).toString('hex')}`;
  private child: ChildProcess | undefined;
  private out = '';
  private root = '';
  specDir = '';
  stateDir = '';
  server = '';
  watch: InstanceWatch | undefined;
  private exited: Promise<number | null> | undefined;

  constructor(
    private readonly workload: Omit<WorkloadOptions, 'config'>,
    /** Where its spec and state directories go (default: the OS temp dir); /dev/shm takes fsync out of the picture. */
    private readonly parentDir: string = tmpdir(),
  ) {}

  get pid(): number {
    if (!this.child?.pid) throw new Error('controller not running');
    return this.child.pid;
  }

  /** The tail of the controller's stdout and stderr. */
  output(chars = 4000): string {
    return this.out.slice(-chars);
  }

  async start(): Promise<void> {
    this.root = await mkdtemp(join(this.parentDir, 'berth-bench-'));
    this.specDir = join(this.root, 'specs');
    const stateDir = join(this.root, 'state');
    this.stateDir = stateDir;
    await mkdir(this.specDir, { recursive: true });
    const port = await freePort();
    this.server = `http://127.0.0.1:${port}`;
    const child = spawn(
      process.execPath,
      // BENCH_CONTROLLER_NODE_ARGS: node flags for the controller (e.g. --cpu-prof, --heapsnapshot-signal=SIGUSR2) when looking into one;
      // BENCH_CONTROLLER_ARGS: more `berth controller` flags (e.g. --max-concurrent-ops 8), to compare settings.
      [...CONTROLLER_NODE_FLAGS, ...(process.env['BENCH_CONTROLLER_NODE_ARGS']?.split(' ').filter(Boolean) ?? []), BERTH_BIN, 'controller', '--specs', this.specDir, '--state-dir', stateDir, '--controller-id', this.controllerId, '--listen', `127.0.0.1:${port}`, '--log-level', process.env['BENCH_CONTROLLER_LOG'] ?? 'warn', ...(process.env['BENCH_CONTROLLER_ARGS']?.split(' ').filter(Boolean) ?? [])],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    child.stdout?.on('data', (b: Buffer) => (this.out = (this.out + b.toString()).slice(-100_000)));
    child.stderr?.on('data', (b: Buffer) => (this.out = (this.out + b.toString()).slice(-100_000)));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    let gone = false;
    void this.exited.then(() => (gone = true));
    await until('the controller to answer /readyz', 30_000, 100, async () => {
      if (gone) throw new Error(`controller exited early: ${this.output()}`);
      const r = await httpGet(`${this.server}/readyz`, 2000);
      return r.status === 200 ? true : undefined;
    });
    this.watch = new InstanceWatch(this.server);
    this.watch.open();
  }

  async scrape(): Promise<Scrape> {
    return parseMetrics(await this.scrapeText());
  }

  /** /metrics as text (buckets included). */
  async scrapeText(): Promise<string> {
    const r = await httpGet(`${this.server}/metrics`, 10_000);
    if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
    return r.body;
  }

  /** Writes one spec file (any kind) into the watched directory, atomically. */
  async writeSpecFile(name: string, object: object): Promise<void> {
    const tmp = join(this.specDir, `.${name}.tmp`);
    await writeFile(tmp, JSON.stringify(object, null, 2) + '\n');
    await rename(tmp, join(this.specDir, `${name}.yaml`));
  }

  /** Writes (or rewrites) the N spec files, each atomically (temp name skipped by the loader, then rename). */
  async writeSpecs(n: number, config: string): Promise<void> {
    const o = { ...this.workload, config };
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const tmp = join(this.specDir, `.${instanceName(i)}.tmp`);
        await writeFile(tmp, instanceFile(i, o));
        await rename(tmp, join(this.specDir, `${instanceName(i)}.yaml`));
      }),
    );
  }

  /** Measures `body` with a metrics scrape and a CPU meter around it. */
  async phase<R>(body: () => Promise<R>): Promise<{ result: R; figures: PhaseFigures }> {
    const before = await this.scrape();
    const meter = cpuMeter(this.pid);
    const result = await body();
    const cpu = meter();
    const after = await this.scrape();
    return { result, figures: { cpu, ops: histogramDeltas(before, after, HISTOGRAMS), counters: counterDeltas(before, after, COUNTERS) } };
  }

  /** Specs written -> the API lists N Ready Instances. Seconds. */
  async converge(n: number, config: string, timeoutMs: number): Promise<number> {
    const t0 = performance.now();
    await this.writeSpecs(n, config);
    const t1 = await this.watch!.waitFor(`${n} Ready Instances`, timeoutMs, (objs) => objs.size === n && [...objs.values()].every(isReady));
    return (t1 - t0) / 1000;
  }

  /** Env changed in every spec -> all N Ready with a new container, and exactly N managed containers left. Seconds. */
  async replace(n: number, config: string, timeoutMs: number): Promise<number> {
    const old = new Set([...this.watch!.objects.values()].map((o) => o.status?.containerId));
    const t0 = performance.now();
    await this.writeSpecs(n, config);
    await this.watch!.waitFor(`${n} Instances Ready on new containers`, timeoutMs, (objs) =>
      objs.size === n && [...objs.values()].every((o) => isReady(o) && !old.has(o.status?.containerId)),
    );
    await until(`exactly ${n} containers of ${this.controllerId}`, Math.max(1000, timeoutMs - (performance.now() - t0)), 50, async () => {
      const list = await listByLabel(LABEL.managedBy, this.controllerId);
      return list.length === n && list.every((c) => c.state === 'running') ? true : undefined;
    });
    return (performance.now() - t0) / 1000;
  }

  /**
   * Kills one Instance's container (SIGKILL, through the engine) and waits
   * until the engine shows it running again. berth restarts the same container
   * (the first restart after a healthy run is immediate; a second one within
   * 10 minutes would back off, so every sample uses a different Instance).
   */
  async killSample(i: number, timeoutMs: number, how: 'kill' | 'exec' = 'kill'): Promise<KillSample> {
    const name = instanceName(i);
    const id = this.watch!.objects.get(name)?.status?.containerId;
    if (!id) throw new Error(`${name} has no container in status`);
    const container = docker.getContainer(id);
    const before = await call('inspect', (s) => container.inspect(withSignal({}, s)));
    if (!before.State.Running) throw new Error(`${name}: container ${id.slice(0, 12)} is not running before the kill`);
    const killedAt = Date.now();
    if (how === 'exec') {
      // As the raw engine's sample dies: its sleep SIGKILLed from inside, the shell exits 137 (tells the kill's own cost from the controller's).
      const exec = await call('exec create', (s) => container.exec(withSignal({ Cmd: ['sh', '-c', 'kill -KILL $(pidof sleep)'], AttachStdout: false, AttachStderr: false }, s)));
      await call('exec start', (s) => exec.start(withSignal({ Detach: true }, s)));
    } else await call('kill', (s) => container.kill(withSignal({ signal: 'SIGKILL' }, s)));
    const after = await until(`${name} to run again after a kill`, timeoutMs, 20, async () => {
      const st = await call('inspect', (s) => container.inspect(withSignal({}, s)));
      return st.State.Running && st.State.StartedAt !== before.State.StartedAt ? st : undefined;
    });
    const observedMs = Date.now() - killedAt;
    // Let status settle before the next sample.
    await this.watch!.waitFor(`${name} Ready again`, 15_000, (objs) => isReady(objs.get(name)) && objs.get(name)?.status?.containerId === id);
    const startedAt = engineTimeMs(after.State.StartedAt);
    return { ms: startedAt - engineTimeMs(after.State.FinishedAt), fromCallMs: startedAt - killedAt, observedMs };
  }

  idle(seconds: number): Promise<IdleUsage> {
    return idleUsage(this.pid, seconds);
  }

  /** SIGTERM (the controller leaves containers running), then SIGKILL if it lingers; removes its directories. */
  async stop(): Promise<void> {
    this.watch?.close();
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    if (this.root) await rm(this.root, { recursive: true, force: true });
  }
}

export { sleep, T };
