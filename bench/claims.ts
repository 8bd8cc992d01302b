// The claims section of the bench: an InstancePool behind a `berth controller`
// process, driven through its HTTP API as a sandbox service would drive it.
//   warm claim     POST .../instanceclaims?wait=10s on a warm pool -> Bound
//                  (client time; the claim's status.waitDurationMs; the
//                  berth_claim_wait_seconds histogram), one claim at a time,
//                  released and the pool warm again before the next
//   cold start     create + start + first successful exec (`echo OK`) of the
//                  same container config straight through dockerode
//   round trip     claim -> exec `echo hi` -> release, through the API
//   sustained      N clients looping claim(wait) -> release with Replace
//                  recycling, claims/s, against the raw engine's create+start
//                  rate (and its create+start+remove rate) in the same run
// Every container carries the run's label; the raw ones also a managed-by
// value of their own; all are removed at the end.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { createOptions } from '../src/runtime/docker/create-options.js';
import { LABEL } from '../src/runtime/types.js';
import { writeFileAtomic } from '../src/state/atomic-file.js';
import { writeStateSlots } from '../src/state/state-slots.js';
import { ClaimJournal } from '../src/state/claim-journal.js';
import { desiredPool, ownerLabels } from '../src/reconcile/desired.js';
import { validateResource } from '../src/spec/load.js';
import { DEFAULT_POLICY } from '../src/spec/policy.js';
import type { InstancePool } from '../src/spec/schema.js';
import { BerthController } from './berth.js';
import { call, cleanupByLabel, docker, listByLabel, mapLimit, removeContainers, RUN_LABEL, sleep, T, withSignal } from './engine.js';
import { bucketQuantile, bucketsDelta, bucketsOf, bucketText, COUNTERS, counterDeltas, HISTOGRAMS, histogramDeltas, parseMetrics, type Buckets, type OpFigure } from './metrics.js';
import { cpuMeter, processCpuSeconds, type CpuFigures } from './proc.js';
import type { Cell } from './report.js';
import { errorText, mean, median, quantile, round } from './stats.js';
import { COMMAND, GRACE_SECONDS, IMAGE, NAMESPACE } from './workload.js';
import { burst, load, LOAD_MIN_READY, p, p50, PROBE_PERIOD_SECONDS, sequential, type BurstResult, type LoadResult, type SequentialResult } from './claim-scenarios.js';

export interface ClaimsConfig {
  warmSamples: number;
  roundTripSamples: number;
  coldSamples: number;
  clients: number;
  sustainSeconds: number;
  /** The first seconds of the sustained window (the pool's warm stock being drawn down) are left out of the steady rate. */
  sustainWarmupSeconds: number;
  rawN: number;
  rawParallelism: number;
  minReady: number;
  maxSize: number;
  /** Also measure warm claims with the controller's state directory on /dev/shm (no fsync cost). */
  tmpfsSamples: number;
  /** Claims left waiting on a second pool (maxSize 1) while the warm claims are measured again; 0 skips. */
  queuedClaims: number;
  /** Issue 9's scenarios (claim-scenarios.ts): rounds of the sequential one, the load window (s), the burst size; 0 skips each. */
  sequentialRounds: number;
  loadSeconds: number;
  burst: number;
  /** Rounds of the burst scenario; the medians are reported. */
  burstRounds: number;
}

export interface ClaimRow {
  scenario: string;
  unit: string;
  berth: Cell;
  /** Shown instead of berth's value (e.g. "p50 / p99" in one cell). */
  berthText?: string;
  raw: Cell;
  /** A figure derived from the two (e.g. cold p99 / warm p99), with what it divides. */
  ratio?: { value: number; label: string };
  /** What must hold: on berth's value or on the ratio. */
  target?: { on: 'berth' | 'ratio'; op: '<' | '<=' | '>='; value: number; text: string };
}

export interface ClaimsReport {
  rows: ClaimRow[];
  detail: Record<string, unknown>;
  notes: string[];
  breakdown: string[];
  containersCreated: number;
}

export interface ClaimsHooks {
  log: (msg: string) => void;
  /** Register something for the bench's cleanup on failure or Ctrl-C. */
  trackController: (c: BerthController) => void;
  untrackController: (c: BerthController) => void;
  trackManagedBy: (id: string) => void;
}

const API = `/apis/berth.dev/v1alpha1/namespaces/${NAMESPACE}`;
export const POOL_NAME = 'sandbox';
const PROBE = ['sh', '-c', 'echo OK'];

export function poolObject(runId: string, cfg: Pick<ClaimsConfig, 'minReady' | 'maxSize'>): Record<string, unknown> {
  return {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'InstancePool',
    metadata: { name: POOL_NAME, namespace: NAMESPACE },
    spec: {
      template: {
        image: IMAGE,
        command: COMMAND,
        network: 'none',
        stopGracePeriodSeconds: GRACE_SECONDS,
        labels: { [RUN_LABEL]: runId },
        healthCheck: { exec: { command: PROBE }, periodSeconds: 2 },
      },
      minReady: cfg.minReady,
      maxSize: cfg.maxSize,
      recycle: { policy: 'Replace' },
      claimTimeoutSeconds: 30,
    },
  };
}

const claimBody = (name: string): object => ({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name, namespace: NAMESPACE }, spec: { poolRef: { name: POOL_NAME } } });

/** The create body berth sends for a member of the pool, owned by `managedBy` (a value no controller uses). */
function memberBody(runId: string, cfg: ClaimsConfig, managedBy: string, name: string): Dockerode.ContainerCreateOptions {
  const { resource, errors } = validateResource(poolObject(runId, cfg), '<bench>', { policy: DEFAULT_POLICY });
  if (!resource) throw new Error(`bench pool does not validate: ${errors.map((e) => e.format()).join('; ')}`);
  const desired = desiredPool(resource as InstancePool, DEFAULT_POLICY);
  return createOptions({ name, template: desired.template, labels: ownerLabels(managedBy, desired.key, desired.hash, Date.now(), name.slice(-5)) });
}

export interface Reply {
  status: number;
  json: unknown;
  /** From just before the request was written to the last byte of the answer. */
  ms: number;
}

/** The API over keep-alive connections (one per concurrent caller, reused). */
export class ApiClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  constructor(private readonly server: string) {}

  request(method: string, path: string, body?: object, timeoutMs = 20_000): Promise<Reply> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const req = http.request(
        `${this.server}${path}`,
        { method, agent: this.agent, signal: AbortSignal.timeout(timeoutMs), headers: data === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const ms = performance.now() - t0;
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown = text;
            try {
              json = JSON.parse(text);
            } catch {
              // not JSON: keep the text
            }
            resolve({ status: res.statusCode ?? 0, json, ms });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

interface PoolFigures {
  replicas?: number;
  ready?: number;
  claimed?: number;
  waiting?: number;
}

const q = (v: number[], p: number): number => quantile(v, p);
const cell = (v: number, detail?: unknown, otherLoadPercent?: number): Cell => (Number.isFinite(v) ? { value: v, ...(detail !== undefined ? { detail } : {}), ...(otherLoadPercent !== undefined ? { otherLoadPercent } : {}) } : { error: 'no samples' });

/** A raw exec through dockerode: create, start attached, read to the end, then its exit code. */
export async function rawExec(container: Dockerode.Container, cmd: string[]): Promise<{ exitCode: number | null; output: string }> {
  const exec = await call('exec create', (s) => container.exec(withSignal({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: false }, s)));
  const stream = await call('exec start', (s) => exec.start(withSignal({ hijack: true, stdin: false }, s)));
  const out: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.destroy();
      reject(new Error('exec output did not end within 10 s'));
    }, 10_000);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    stream.on('data', (c: Buffer) => out.push(c));
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  // The engine records the exit code a moment after the stream ends.
  for (let i = 0; ; i++) {
    const info = await call('exec inspect', (s) => exec.inspect(withSignal({}, s)));
    if (!info.Running || i >= 200) return { exitCode: info.Running ? null : info.ExitCode, output: Buffer.concat(out).toString('utf8') };
    await sleep(5);
  }
}

interface ColdSample {
  ms: number;
  createMs: number;
  startMs: number;
  execMs: number;
  execAttempts: number;
}

/** Create + start + first successful `echo OK`, one container at a time; each removed (untimed) before the next. */
async function coldStarts(runId: string, cfg: ClaimsConfig, managedBy: string, counter: { created: number }): Promise<ColdSample[]> {
  const out: ColdSample[] = [];
  for (let i = 0; i < cfg.coldSamples; i++) {
    const body = memberBody(runId, cfg, managedBy, `${managedBy}-cold-${i}`);
    const t0 = performance.now();
    const c = await call('create', (s) => docker.createContainer(withSignal(body, s)), T.create);
    counter.created++;
    const t1 = performance.now();
    try {
      await call('start', (s) => c.start(withSignal({}, s)), T.start);
      const t2 = performance.now();
      let attempts = 0;
      for (;;) {
        attempts++;
        const r = await rawExec(c, PROBE).catch((e: unknown) => ({ exitCode: -1, output: errorText(e) }));
        if (r.exitCode === 0 && r.output.includes('OK')) break;
        if (performance.now() - t2 > 10_000) throw new Error(`cold start ${i}: no successful exec within 10 s (last: ${r.exitCode} ${r.output.slice(0, 100)})`);
        await sleep(10);
      }
      const t3 = performance.now();
      out.push({ ms: t3 - t0, createMs: t1 - t0, startMs: t2 - t1, execMs: t3 - t2, execAttempts: attempts });
    } finally {
      await removeContainers([c.id], 1);
    }
    await sleep(200);
  }
  return out;
}

export interface RawRate {
  n: number;
  parallelism: number;
  createStartSeconds: number;
  createStartPerSecond: number;
  /** Create+start a new container and force-remove an old one, per container (what Replace recycling asks of the engine). */
  cycleSeconds: number;
  cyclePerSecond: number;
  opMs: Record<string, { count: number; meanMs: number; p90Ms: number }>;
  cpu: { createStart: CpuFigures; cycle: CpuFigures; exec?: CpuFigures };
  /**
   * Execs per second, `clients` clients each looping an exec of the probe
   * command in a running container of its own: what a Reuse cycle asks of the
   * engine twice (the client's exec, then the recycle's re-probe).
   */
  execPerSecond?: number;
  execClients?: number;
}

/** How long the raw engine's exec rate is measured. */
const EXEC_RATE_SECONDS = 15;

async function rawRate(runId: string, cfg: ClaimsConfig, managedBy: string, counter: { created: number }): Promise<RawRate> {
  const opMs: Record<string, number[]> = {};
  const timed = async <R>(op: string, fn: () => Promise<R>): Promise<R> => {
    const t0 = performance.now();
    const r = await fn();
    (opMs[op] ??= []).push(performance.now() - t0);
    return r;
  };
  const createAndStart = async (name: string): Promise<string> => {
    const body = memberBody(runId, cfg, managedBy, name);
    const c = await timed('create', () => call('create', (s) => docker.createContainer(withSignal(body, s)), T.create));
    counter.created++;
    await timed('start', () => call('start', (s) => c.start(withSignal({}, s)), T.start));
    return c.id;
  };
  const n = cfg.rawN;
  const p = cfg.rawParallelism;
  let ids: string[] = [];
  let fresh: string[] = [];
  try {
    const m1 = cpuMeter(undefined);
    const t0 = performance.now();
    ids = await mapLimit(Array.from({ length: n }, (_, i) => i), p, (i) => createAndStart(`${managedBy}-a-${i}`));
    const createStartSeconds = (performance.now() - t0) / 1000;
    const cpu1 = m1();
    await sleep(1000);
    const m2 = cpuMeter(undefined);
    const t1 = performance.now();
    fresh = await mapLimit(Array.from({ length: n }, (_, i) => i), p, async (i) => {
      const id = await createAndStart(`${managedBy}-b-${i}`);
      await timed('remove', () => removeContainers([ids[i]!], 1));
      return id;
    });
    const cycleSeconds = (performance.now() - t1) / 1000;
    const cpu2 = m2();
    ids = [];
    await sleep(1000);
    const clients = Math.min(cfg.clients, fresh.length);
    const m3 = cpuMeter(undefined);
    const t2 = performance.now();
    const execUntil = t2 + EXEC_RATE_SECONDS * 1000;
    let execs = 0;
    await Promise.all(
      fresh.slice(0, clients).map(async (id) => {
        const c = docker.getContainer(id);
        while (performance.now() < execUntil) {
          await timed('exec', () => rawExec(c, PROBE));
          execs++;
        }
      }),
    );
    const execPerSecond = execs / ((performance.now() - t2) / 1000);
    const cpu3 = m3();
    const summary = Object.fromEntries(Object.entries(opMs).map(([op, v]) => [op, { count: v.length, meanMs: round(mean(v), 1), p90Ms: round(q(v, 0.9), 1) }]));
    return { n, parallelism: p, createStartSeconds, createStartPerSecond: n / createStartSeconds, cycleSeconds, cyclePerSecond: n / cycleSeconds, opMs: summary, cpu: { createStart: cpu1, cycle: cpu2, exec: cpu3 }, execPerSecond, execClients: clients };
  } finally {
    await removeContainers([...ids, ...fresh], 8).catch(() => undefined);
    await cleanupByLabel(LABEL.managedBy, managedBy).catch(() => undefined);
  }
}

/** The pool as its status reports it. */
async function poolFigures(api: ApiClient, pool = POOL_NAME): Promise<PoolFigures | undefined> {
  const r = await api.request('GET', `${API}/instancepools/${pool}`, undefined, 5000).catch(() => undefined);
  return r?.status === 200 ? ((r.json as { status?: PoolFigures }).status ?? undefined) : undefined;
}

/**
 * Warm again, so the next claim meets a full, quiet pool. The pool's status
 * alone cannot say so: it is written at the end of each pool reconcile, and a
 * reconcile that is creating or removing members holds the key for a second
 * or more, during which the status still shows the pool as it was before the
 * last claim. So first the engine: the released member gone and exactly
 * minReady members, all running (no create or remove in flight); then the
 * status: ready >= minReady, none claimed, every member ready. A status
 * written before the released member was removed counts it among replicas,
 * so it cannot pass for warm.
 */
async function waitWarm(api: ApiClient, controllerId: string, minReady: number, released: string | undefined, timeoutMs: number): Promise<{ ok: boolean; ms: number; last?: PoolFigures }> {
  const t0 = performance.now();
  let last: PoolFigures | undefined;
  for (;;) {
    // The pool's own members (a queue pool beside it has its own).
    const list = (await listByLabel(LABEL.managedBy, controllerId).catch(() => undefined))?.filter((c) => c.labels?.[LABEL.name] === POOL_NAME);
    if (list && list.length === minReady && list.every((c) => c.state === 'running') && !list.some((c) => c.id === released)) break;
    if (performance.now() - t0 > timeoutMs) return { ok: false, ms: performance.now() - t0 };
    await sleep(20);
  }
  for (;;) {
    last = await poolFigures(api);
    if (last && (last.ready ?? 0) >= minReady && last.claimed === 0 && last.replicas === last.ready) return { ok: true, ms: performance.now() - t0 };
    if (performance.now() - t0 > timeoutMs) return { ok: false, ms: performance.now() - t0, ...(last ? { last } : {}) };
    await sleep(20);
  }
}

interface WarmSample {
  ms: number;
  phase: string;
  waitDurationMs?: number;
  instance?: string;
  /** How long the bench waited for the pool to be warm before this claim. */
  warmWaitMs: number;
  releaseMs: number;
}

async function warmClaims(api: ApiClient, controllerId: string, cfg: ClaimsConfig, tag: string, samples: number, log: (m: string) => void): Promise<{ samples: WarmSample[]; notWarm: number }> {
  const out: WarmSample[] = [];
  let notWarm = 0;
  let released: string | undefined;
  for (let i = 0; i < samples; i++) {
    const w = await waitWarm(api, controllerId, cfg.minReady, released, 20_000);
    if (!w.ok) {
      notWarm++;
      log(`claims: pool not warm after 20 s before sample ${i} (${JSON.stringify(w.last)}); claiming anyway`);
      if (notWarm > 3) throw new Error(`the pool did not get warm again between claims (${JSON.stringify(w.last)})`);
    }
    const name = `${tag}-${i}`;
    const r = await api.request('POST', `${API}/instanceclaims?wait=10s`, claimBody(name));
    const st = (r.json as { status?: { phase?: string; waitDurationMs?: number; instance?: string; containerId?: string } }).status;
    const d = await api.request('DELETE', `${API}/instanceclaims/${name}`);
    released = st?.containerId;
    if (r.status >= 300) throw new Error(`claim ${name}: HTTP ${r.status} ${JSON.stringify(r.json).slice(0, 200)}`);
    out.push({ ms: r.ms, phase: st?.phase ?? 'none', ...(st?.waitDurationMs !== undefined ? { waitDurationMs: st.waitDurationMs } : {}), ...(st?.instance ? { instance: st.instance } : {}), warmWaitMs: w.ms, releaseMs: d.ms });
  }
  return { samples: out, notWarm };
}

interface RoundTrip {
  ms: number;
  claimMs: number;
  execMs: number;
  /** The exec's own duration as the API reports it (engine exec create -> exit code). */
  execDurationMs: number;
  releaseMs: number;
  ok: boolean;
}

async function roundTrips(api: ApiClient, controllerId: string, cfg: ClaimsConfig, tag: string): Promise<RoundTrip[]> {
  const out: RoundTrip[] = [];
  let released: string | undefined;
  for (let i = 0; i < cfg.roundTripSamples; i++) {
    const w = await waitWarm(api, controllerId, cfg.minReady, released, 20_000);
    if (!w.ok) throw new Error(`the pool did not get warm again between round trips (${JSON.stringify(w.last)})`);
    const name = `${tag}-${i}`;
    const t0 = performance.now();
    const c = await api.request('POST', `${API}/instanceclaims?wait=10s`, claimBody(name));
    const cs = (c.json as { status?: { instance?: string; containerId?: string } }).status;
    const instance = cs?.instance;
    released = cs?.containerId;
    let e: Reply | undefined;
    if (instance) e = await api.request('POST', `${API}/instances/${instance}/exec`, { command: ['echo', 'hi'], timeoutSeconds: 10 });
    const d = await api.request('DELETE', `${API}/instanceclaims/${name}`);
    const ms = performance.now() - t0;
    const ex = e?.json as { exitCode?: number; stdout?: string; durationMs?: number } | undefined;
    out.push({ ms, claimMs: c.ms, execMs: e?.ms ?? NaN, execDurationMs: ex?.durationMs ?? NaN, releaseMs: d.ms, ok: e?.status === 200 && ex?.exitCode === 0 && ex.stdout === 'hi\n' && d.status === 200 });
  }
  return out;
}

interface Sustained {
  clients: number;
  windowSeconds: number;
  steadySeconds: number;
  bound: number;
  boundSteady: number;
  perSecond: number;
  steadyPerSecond: number;
  unbound: number;
  errors: string[];
  stoppedEarly?: string;
  claimMs: number[];
  waitDurationMs: number[];
  /** Per second: claims bound in that second, and the pool's status then. */
  timeline: Array<{ t: number; bound: number; ready?: number; replicas?: number; claimed?: number; engineListMs?: number }>;
  cpu: CpuFigures;
  ops: OpFigure[];
  counters: Array<{ series: string; delta: number }>;
  claimWait: Buckets;
}

async function sustained(api: ApiClient, ctl: BerthController, cfg: ClaimsConfig, tag: string, log: (m: string) => void): Promise<Sustained> {
  const beforeText = await ctl.scrapeText();
  const meter = cpuMeter(ctl.pid);
  const t0 = performance.now();
  const end = t0 + cfg.sustainSeconds * 1000;
  let stoppedEarly: string | undefined;
  let stoppedAt: number | undefined;
  const stop = (why: string): void => {
    if (stoppedEarly || performance.now() >= end) return;
    stoppedEarly = why;
    stoppedAt = performance.now();
    log(`claims sustained: stopping early: ${why}`);
  };
  const running = (): boolean => !stoppedEarly && performance.now() < end;
  const boundAt: number[] = [];
  const claimMs: number[] = [];
  const waits: number[] = [];
  const errors: string[] = [];
  let unbound = 0;
  let lastBound = t0;

  const client = async (c: number): Promise<void> => {
    for (let k = 0; running(); k++) {
      const name = `${tag}-${c}-${k}`;
      try {
        const r = await api.request('POST', `${API}/instanceclaims?wait=10s`, claimBody(name), 20_000);
        const st = (r.json as { status?: { phase?: string; waitDurationMs?: number } }).status;
        if (r.status < 300 && st?.phase === 'Bound') {
          const now = performance.now();
          boundAt.push(now);
          lastBound = now;
          claimMs.push(r.ms);
          if (st.waitDurationMs !== undefined) waits.push(st.waitDurationMs);
        } else {
          unbound++;
          if (r.status >= 300) errors.push(`POST ${r.status}: ${JSON.stringify(r.json).slice(0, 150)}`);
        }
        await api.request('DELETE', `${API}/instanceclaims/${name}`, undefined, 20_000);
      } catch (e) {
        errors.push(errorText(e));
        await sleep(200);
      }
    }
  };

  // The engine's pulse: a list call per second; the pool's status alongside.
  const timeline: Sustained['timeline'] = [];
  let slowLists = 0;
  const watch = (async (): Promise<void> => {
    let prevBound = 0;
    for (let s = 1; running(); s++) {
      await sleep(Math.max(0, t0 + s * 1000 - performance.now()));
      const l0 = performance.now();
      let listMs: number | undefined;
      try {
        await call('list', (sig) => docker.listContainers(withSignal({ all: true, filters: { label: [`${LABEL.managedBy}=${ctl.controllerId}`] } }, sig)), 5000);
        listMs = performance.now() - l0;
      } catch (e) {
        stop(`the engine did not answer a list within 5 s (${errorText(e)})`);
      }
      const p = await poolFigures(api);
      timeline.push({ t: s, bound: boundAt.length - prevBound, ...(p ?? {}), ...(listMs !== undefined ? { engineListMs: round(listMs, 1) } : {}) });
      prevBound = boundAt.length;
      if (listMs !== undefined && listMs > 2000) {
        if (++slowLists >= 3) stop(`the engine took over 2 s to answer a list call 3 times (last ${listMs.toFixed(0)} ms)`);
      } else slowLists = 0;
      if (performance.now() - lastBound > 15_000) stop('no claim was bound for 15 s');
    }
  })();

  await Promise.all([...Array.from({ length: cfg.clients }, (_, c) => client(c)), watch]);
  const windowEnd = stoppedAt ?? end;
  const cpu = meter();
  const afterText = await ctl.scrapeText();
  const windowSeconds = (windowEnd - t0) / 1000;
  const steadyFrom = t0 + cfg.sustainWarmupSeconds * 1000;
  const inWindow = boundAt.filter((t) => t <= windowEnd);
  const steady = inWindow.filter((t) => t > steadyFrom);
  const steadySeconds = Math.max(0, (windowEnd - steadyFrom) / 1000);
  const before = parseMetrics(beforeText);
  const after = parseMetrics(afterText);
  return {
    clients: cfg.clients,
    windowSeconds,
    steadySeconds,
    bound: inWindow.length,
    boundSteady: steady.length,
    perSecond: inWindow.length / windowSeconds,
    steadyPerSecond: steadySeconds > 0 ? steady.length / steadySeconds : NaN,
    unbound,
    errors: [...new Set(errors)].slice(0, 20),
    ...(stoppedEarly ? { stoppedEarly } : {}),
    claimMs,
    waitDurationMs: waits,
    timeline,
    cpu,
    ops: histogramDeltas(before, after, [...HISTOGRAMS, 'berth_claim_wait_seconds', 'berth_api_request_duration_seconds']),
    counters: counterDeltas(before, after, [...COUNTERS, 'berth_claims_total']),
    claimWait: bucketsDelta(bucketsOf(beforeText, 'berth_claim_wait_seconds'), bucketsOf(afterText, 'berth_claim_wait_seconds')),
  };
}

/** berth's durable writes on the filesystem of the controller's state dir: whole-file replace (applied specs), the two-slot overwrite (claims snapshot) and the journal frame a claim waits for. */
async function durableWrites(dir: string, n: number, bytes: number): Promise<{ replace: number[]; slots: number[]; journal: number[] }> {
  const out = { replace: [] as number[], slots: [] as number[], journal: [] as number[] };
  const data = JSON.stringify({ pad: 'x'.repeat(Math.max(0, bytes - 12)) });
  // What one claim's commit writes: its record, its member's and the claim as applied.
  const change = JSON.stringify({ pad: 'x'.repeat(500) });
  const journal = new ClaimJournal(join(dir, 'fsync-probe.journal'));
  await journal.open(0);
  try {
    // Interleaved, so all meet the same disk and engine weather.
    for (let i = 0; i < n; i++) {
      let t0 = performance.now();
      await writeFileAtomic(join(dir, 'fsync-probe.json'), data);
      out.replace.push(performance.now() - t0);
      t0 = performance.now();
      await writeStateSlots(join(dir, 'fsync-probe.state'), data);
      out.slots.push(performance.now() - t0);
      t0 = performance.now();
      journal.append(0, change);
      out.journal.push(performance.now() - t0);
    }
  } finally {
    journal.close();
  }
  return out;
}

const QUEUE_POOL = 'queue';

interface BesideQueue {
  queued: number;
  /** Claims accepted per second while the queue grew (8 clients, no wait). */
  acceptedPerSecond: number;
  /** The controller's CPU per accepted claim while the queue grew (ms). */
  cpuMsPerClaim: number;
  warm: WarmSample[];
  /** The queue timing out at once (its pool's claimTimeoutSeconds cut to 1), measured from another client. */
  timeout?: MassTimeout;
}

interface MassTimeout {
  /** From the spec change until the queue pool reports none waiting (s). */
  seconds: number;
  /** The controller's CPU meanwhile (s). */
  cpuSeconds: number;
  /** GETs of the main pool, one after another, meanwhile (ms). */
  getMs: number[];
  /** Claims still waiting when the bench gave up (60 s); 0 when all timed out. */
  stillWaiting: number;
}

/**
 * The warm claims again while `queuedClaims` claims wait on a second pool of
 * one member: a flooded pool (a CI burst, a client gone wrong) must not slow
 * another pool's claims.
 */
async function warmBesideQueue(api: ApiClient, ctl: BerthController, runId: string, cfg: ClaimsConfig, log: (m: string) => void): Promise<BesideQueue> {
  const queuePool = poolObject(runId, { minReady: 0, maxSize: 1 }) as { spec: Record<string, unknown> };
  // They wait through the whole measurement (minutes): none times out meanwhile.
  await ctl.writeSpecFile('queue', { ...queuePool, metadata: { name: QUEUE_POOL, namespace: NAMESPACE }, spec: { ...queuePool.spec, claimTimeoutSeconds: 3600 } });
  const body = (name: string): object => ({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name, namespace: NAMESPACE }, spec: { poolRef: { name: QUEUE_POOL } } });
  const names = Array.from({ length: cfg.queuedClaims }, (_, i) => `queued-${i}`);
  const each = async (fn: (name: string) => Promise<void>): Promise<void> => {
    let next = 0;
    await Promise.all(Array.from({ length: cfg.clients }, async () => {
      for (let i = next++; i < names.length; i = next++) await fn(names[i]!);
    }));
  };
  const t0 = performance.now();
  const cpu0 = processCpuSeconds(ctl.pid);
  await each(async (name) => {
    const r = await api.request('POST', `${API}/instanceclaims`, body(name));
    if (r.status >= 300) throw new Error(`queued claim ${name}: HTTP ${r.status} ${JSON.stringify(r.json).slice(0, 200)}`);
  });
  const acceptedPerSecond = names.length / ((performance.now() - t0) / 1000);
  const cpuMsPerClaim = ((processCpuSeconds(ctl.pid) - cpu0) * 1000) / names.length;
  log(`claims: ${names.length} claims queued on pool ${QUEUE_POOL} at ${acceptedPerSecond.toFixed(0)}/s, ${cpuMsPerClaim.toFixed(2)} ms of controller CPU each`);
  try {
    const warm = await warmClaims(api, ctl.controllerId, cfg, 'beside-queue', cfg.warmSamples, log);
    const timeout = await queueTimesOut(api, ctl, queuePool, (performance.now() - t0) / 1000, log);
    return { queued: names.length, acceptedPerSecond, cpuMsPerClaim, warm: warm.samples, timeout };
  } finally {
    await each(async (name) => void (await api.request('DELETE', `${API}/instanceclaims/${name}`).catch(() => undefined)));
  }
}

/**
 * The whole queue times out within seconds, each claim at its own deadline
 * as when a flood of claims outlives its claimTimeoutSeconds: the queue
 * pool's timeout is cut so that the first claim posted fails 3 s from now
 * and the rest follow as fast as they were posted. Meanwhile another client
 * GETs the main pool back to back: thousands of claims failing must not
 * stall the API.
 */
/** A client polling now and then, not a load of its own on the controller. */
const GET_EVERY_MS = 10;

async function queueTimesOut(api: ApiClient, ctl: BerthController, queuePool: { spec: Record<string, unknown> }, secondsSincePosting: number, log: (m: string) => void): Promise<MassTimeout> {
  const cpu0 = processCpuSeconds(ctl.pid);
  const t0 = performance.now();
  await ctl.writeSpecFile('queue', { ...queuePool, metadata: { name: QUEUE_POOL, namespace: NAMESPACE }, spec: { ...queuePool.spec, claimTimeoutSeconds: Math.ceil(secondsSincePosting) + 3 } });
  const getMs: number[] = [];
  let left: number | undefined;
  let lastCheck = 0;
  for (;;) {
    const began = performance.now();
    getMs.push((await api.request('GET', `${API}/instancepools/${POOL_NAME}`, undefined, 10_000)).ms);
    await sleep(Math.max(0, GET_EVERY_MS - (performance.now() - began)));
    if (performance.now() - lastCheck >= 100) {
      lastCheck = performance.now();
      left = (await poolFigures(api, QUEUE_POOL))?.waiting;
      if (left === 0 || performance.now() - t0 > 60_000) break;
    }
  }
  const out = { seconds: (performance.now() - t0) / 1000, cpuSeconds: processCpuSeconds(ctl.pid) - cpu0, getMs, stillWaiting: left ?? -1 };
  log(`claims: the queue timed out in ${out.seconds.toFixed(2)} s (${out.cpuSeconds.toFixed(2)} s of controller CPU, ${out.stillWaiting} still waiting); GET of the main pool meanwhile p50 ${median(getMs).toFixed(2)}, p99 ${q(getMs, 0.99).toFixed(2)}, max ${Math.max(...getMs).toFixed(1)} ms over ${getMs.length}`);
  return out;
}

async function httpFloor(api: ApiClient, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await api.request('GET', `${API}/instancepools/${POOL_NAME}`)).ms);
  return out;
}

/** Metrics over a phase of warm claims: where a claim's time went, as the controller measured it. */
interface WarmMetrics {
  claimWait: Buckets;
  applyRequest: Buckets;
  deleteRequest: Buckets;
  claimReconcile: Buckets;
  poolReconcile: Buckets;
  queueWait: Buckets;
  ops: OpFigure[];
}

function warmMetrics(beforeText: string, afterText: string): WarmMetrics {
  const d = (name: string, match: Record<string, string> = {}): Buckets => bucketsDelta(bucketsOf(beforeText, name, match), bucketsOf(afterText, name, match));
  return {
    claimWait: d('berth_claim_wait_seconds'),
    applyRequest: d('berth_api_request_duration_seconds', { verb: 'apply', resource: 'instanceclaims' }),
    deleteRequest: d('berth_api_request_duration_seconds', { verb: 'delete', resource: 'instanceclaims' }),
    claimReconcile: d('controller_runtime_reconcile_time_seconds', { controller: 'instanceclaim' }),
    poolReconcile: d('controller_runtime_reconcile_time_seconds', { controller: 'instancepool' }),
    queueWait: d('workqueue_queue_duration_seconds'),
    ops: histogramDeltas(parseMetrics(beforeText), parseMetrics(afterText), ['berth_runtime_operation_duration_seconds']),
  };
}

const ms2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : String(x));
const ms1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : String(x));
const bucketLine = (label: string, h: Buckets): string =>
  h.count > 0
    ? `| ${label} | ${h.count} | ${ms1((h.sum / h.count) * 1000)} | ≤ ${ms1(bucketQuantile(h, 0.5) * 1000)} | ≤ ${ms1(bucketQuantile(h, 0.99) * 1000)} | ${bucketText(h)} |`
    : `| ${label} | 0 | | | | |`;

async function pumpUntilWarm(api: ApiClient, controllerId: string, cfg: ClaimsConfig, what: string): Promise<void> {
  const w = await waitWarm(api, controllerId, cfg.minReady, undefined, 90_000);
  if (!w.ok) throw new Error(`${what}: the pool did not become warm within 90 s (status ${JSON.stringify(w.last)})`);
}

/** A controller with the pool, warm; the caller stops it. */
async function startPool(runId: string, cfg: ClaimsConfig, hooks: ClaimsHooks, parentDir?: string): Promise<{ ctl: BerthController; api: ApiClient; fillSeconds: number }> {
  const ctl = new BerthController({ runId }, parentDir);
  hooks.trackController(ctl);
  hooks.trackManagedBy(ctl.controllerId);
  await ctl.start();
  const api = new ApiClient(ctl.server);
  const t0 = performance.now();
  await ctl.writeSpecFile('pool', poolObject(runId, cfg));
  await pumpUntilWarm(api, ctl.controllerId, cfg, 'pool fill');
  return { ctl, api, fillSeconds: (performance.now() - t0) / 1000 };
}

async function stopPool(ctl: BerthController, api: ApiClient, hooks: ClaimsHooks): Promise<number> {
  api.close();
  await ctl.stop().catch((e: unknown) => hooks.log(`stopping the claims controller: ${errorText(e)}`));
  hooks.untrackController(ctl);
  return cleanupByLabel(LABEL.managedBy, ctl.controllerId).catch((e: unknown) => (hooks.log(`cleanup ${ctl.controllerId}: ${errorText(e)}`), -1));
}

function creates(beforeText: string, afterText: string): number {
  const key = 'berth_runtime_operation_duration_seconds_count{op="create",result="success"}';
  return (parseMetrics(afterText).get(key) ?? 0) - (parseMetrics(beforeText).get(key) ?? 0);
}

export async function runClaims(runId: string, cfg: ClaimsConfig, hooks: ClaimsHooks): Promise<ClaimsReport> {
  const { log } = hooks;
  const detail: Record<string, unknown> = { config: cfg };
  const counter = { created: 0 };
  const failures: Record<string, string> = {};
  const attempt = async <R>(what: string, fn: () => Promise<R>): Promise<R | undefined> => {
    try {
      return await fn();
    } catch (e) {
      failures[what] = errorText(e);
      log(`claims ${what} FAILED: ${errorText(e)}`);
      return undefined;
    }
  };

  // 1. The raw engine, before any controller runs: cold starts, then create+start rates.
  const rawId = `berth-bench-raw-${randomBytes(4).toString('hex')}`;
  hooks.trackManagedBy(rawId);
  const coldMeter = cpuMeter(undefined);
  const cold = await attempt('cold start', () => coldStarts(runId, cfg, rawId, counter));
  const coldLoad = coldMeter().foreignPercent;
  await cleanupByLabel(LABEL.managedBy, rawId).catch(() => undefined);
  if (cold) {
    detail['coldStart'] = cold.map((s) => ({ ms: round(s.ms, 1), createMs: round(s.createMs, 1), startMs: round(s.startMs, 1), execMs: round(s.execMs, 1), execAttempts: s.execAttempts }));
    log(`claims: cold start (create+start+exec) p50 ${median(cold.map((s) => s.ms)).toFixed(0)} ms, p99 ${q(cold.map((s) => s.ms), 0.99).toFixed(0)} ms`);
  }
  await sleep(1000);
  const raw = await attempt('raw create+start rate', () => rawRate(runId, cfg, rawId, counter));
  if (raw) {
    detail['rawRate'] = raw;
    log(`claims: raw engine create+start ${raw.createStartPerSecond.toFixed(2)}/s, create+start+remove ${raw.cyclePerSecond.toFixed(2)}/s (parallelism ${raw.parallelism}, N=${raw.n}), exec ${raw.execPerSecond?.toFixed(2)}/s (${raw.execClients} clients)`);
  }
  await sleep(1000);

  // 2. berth: one controller, one pool, driven through the API.
  let warm: { samples: WarmSample[]; notWarm: number } | undefined;
  let wm: WarmMetrics | undefined;
  let rts: RoundTrip[] | undefined;
  let sus: Sustained | undefined;
  let floor: number[] | undefined;
  let writes: { replace: number[]; slots: number[]; journal: number[] } | undefined;
  let besideQueue: BesideQueue | undefined;
  let warmLoad: number | undefined;
  let berthCreated = 0;
  const pool = await attempt('pool start', () => startPool(runId, cfg, hooks));
  if (pool) {
    const { ctl, api } = pool;
    const firstText = await ctl.scrapeText().catch(() => '');
    try {
      log(`claims: controller ${ctl.controllerId} pid ${ctl.pid}, pool of ${cfg.minReady} warm after ${pool.fillSeconds.toFixed(1)} s`);
      detail['poolFillSeconds'] = round(pool.fillSeconds, 2);
      floor = await attempt('http floor', () => httpFloor(api, 100));
      writes = await attempt('durable writes', () => durableWrites(join(ctl.stateDir, '..'), 50, 2048));
      const before = await ctl.scrapeText();
      const meter = cpuMeter(ctl.pid);
      warm = await attempt('warm claims', () => warmClaims(api, ctl.controllerId, cfg, 'warm', cfg.warmSamples, log));
      const wCpu = meter();
      warmLoad = wCpu.foreignPercent;
      wm = warmMetrics(before, await ctl.scrapeText());
      if (warm) {
        const ms = warm.samples.map((s) => s.ms);
        log(`claims: warm claim p50 ${median(ms).toFixed(2)} ms, p99 ${q(ms, 0.99).toFixed(2)} ms (${warm.samples.filter((s) => s.phase === 'Bound').length}/${ms.length} Bound)`);
      }
      detail['warmCpu'] = wCpu;
      rts = await attempt('round trip', () => roundTrips(api, ctl.controllerId, cfg, 'rt'));
      if (rts) log(`claims: claim->exec->release p50 ${median(rts.map((r) => r.ms)).toFixed(1)} ms, p99 ${q(rts.map((r) => r.ms), 0.99).toFixed(1)} ms`);
      await attempt('warm before sustained', () => pumpUntilWarm(api, ctl.controllerId, cfg, 'before the sustained run'));
      sus = await attempt('sustained', () => sustained(api, ctl, cfg, 'load', log));
      if (sus) log(`claims: sustained ${sus.steadyPerSecond.toFixed(2)} claims/s steady (${sus.perSecond.toFixed(2)}/s over the whole ${sus.windowSeconds.toFixed(0)} s), ${sus.clients} clients${sus.stoppedEarly ? `, stopped early: ${sus.stoppedEarly}` : ''}`);
      // Claims left by clients cut short are released before the controller stops.
      const left = await api.request('GET', `${API}/instanceclaims`).catch(() => undefined);
      for (const c of ((left?.json as { items?: Array<{ metadata: { name: string } }> } | undefined)?.items ?? [])) await api.request('DELETE', `${API}/instanceclaims/${c.metadata.name}`).catch(() => undefined);
      if (cfg.queuedClaims > 0 && cfg.warmSamples > 0) {
        besideQueue = await attempt('warm claims beside a queue', () => warmBesideQueue(api, ctl, runId, cfg, log));
        if (besideQueue) log(`claims: warm claim with ${besideQueue.queued} claims waiting on another pool: p50 ${median(besideQueue.warm.map((s) => s.ms)).toFixed(2)} ms, p99 ${q(besideQueue.warm.map((s) => s.ms), 0.99).toFixed(2)} ms`);
      }
    } finally {
      const lastText = await ctl.scrapeText().catch(() => '');
      berthCreated = creates('', lastText || firstText);
      const removed = await stopPool(ctl, api, hooks);
      log(`claims: removed ${removed} pool containers`);
    }
  }

  // 3. Optional: the same warm claims with the state directory on tmpfs (fsync is then nearly free).
  let shm: WarmSample[] | undefined;
  let shmLoad: number | undefined;
  if (cfg.tmpfsSamples > 0) {
    const p2 = await attempt('tmpfs pool start', () => startPool(runId, cfg, hooks, '/dev/shm'));
    if (p2) {
      try {
        const m = cpuMeter(undefined);
        const r = await attempt('tmpfs warm claims', () => warmClaims(p2.api, p2.ctl.controllerId, cfg, 'shm', cfg.tmpfsSamples, log));
        shmLoad = m().foreignPercent;
        shm = r?.samples;
        if (shm) log(`claims: warm claim, state on tmpfs: p50 ${median(shm.map((s) => s.ms)).toFixed(2)} ms, p99 ${q(shm.map((s) => s.ms), 0.99).toFixed(2)} ms`);
        berthCreated += creates('', await p2.ctl.scrapeText().catch(() => ''));
      } finally {
        await stopPool(p2.ctl, p2.api, hooks);
      }
    }
  }

  // 4. The scenarios of a sandbox service: sequential, loaded with exec (Replace and Reuse), a burst.
  const sc = { sequentialRounds: cfg.sequentialRounds, loadClients: cfg.clients, loadSeconds: cfg.loadSeconds, burst: cfg.burst, burstRounds: cfg.burstRounds, rawParallelism: cfg.rawParallelism };
  let seq: SequentialResult | undefined;
  let loads: Partial<Record<'Replace' | 'Reuse', LoadResult>> = {};
  let bst: BurstResult | undefined;
  if (cfg.sequentialRounds > 0) {
    seq = await attempt('sequential', () => sequential(runId, sc, hooks));
    if (seq) log(`claims: sequential ${seq.bound}/${seq.rounds} bound, ${seq.timeouts} timeouts, p50 ${ms2(p50(seq.ms))} ms, p99 ${ms2(p(seq.ms, 0.99))} ms`);
  }
  if (cfg.loadSeconds > 0) {
    for (const policy of ['Replace', 'Reuse'] as const) {
      const r = await attempt(`load ${policy}`, () => load(runId, sc, policy, hooks));
      if (r) {
        loads[policy] = r;
        log(`claims: load ${policy} ${r.perSecond.toFixed(2)} bound/s, ${r.timeouts} timeouts, p50 ${ms1(p50(r.ms))} ms, p99 ${ms1(p(r.ms, 0.99))} ms${r.errors.length ? `, errors: ${r.errors.join('; ')}` : ''}`);
      }
    }
  }
  if (cfg.burst > 0) {
    bst = await attempt('burst', () => burst(runId, sc, hooks));
    if (bst) log(`claims: burst of ${bst.claims}, median of ${bst.rounds}: last Bound after ${bst.lastBoundSeconds.toFixed(2)} s (${bst.notBound} not bound); raw create+start of ${bst.rawCount}: ${bst.rawSeconds.toFixed(2)} s, with a probe exec each ${bst.rawCheckedSeconds.toFixed(2)} s; rounds ${JSON.stringify(bst.samples)}`);
  }
  detail['scenarios'] = { sequential: seq && { ...seq, ms: seq.ms.map((x) => round(x, 2)) }, load: Object.fromEntries(Object.entries(loads).map(([k, v]) => [k, { ...v, ms: undefined, p50Ms: round(p50(v.ms), 1), p99Ms: round(p(v.ms, 0.99), 1) }])), burst: bst };

  // 5. Rows.
  const err = (what: string): Cell => ({ error: failures[what] ?? 'not run' });
  const bound = warm?.samples.filter((s) => s.phase === 'Bound') ?? [];
  // A claim that did not bind counts as infinitely slow.
  const warmMs = warm ? warm.samples.map((s) => (s.phase === 'Bound' ? s.ms : Infinity)) : [];
  const waitMs = bound.flatMap((s) => (s.waitDurationMs !== undefined ? [s.waitDurationMs] : []));
  const coldMs = cold?.map((s) => s.ms) ?? [];
  const warmP99 = warm ? q(warmMs, 0.99) : NaN;
  const coldP99 = cold ? q(coldMs, 0.99) : NaN;
  const warmDetail = warm ? { samplesMs: warm.samples.map((s) => round(s.ms, 2)), waitDurationMs: waitMs, notBound: warm.samples.length - bound.length, poolNotWarmBefore: warm.notWarm, releaseMsP50: round(median(warm.samples.map((s) => s.releaseMs)), 2), warmWaitMsMean: round(mean(warm.samples.map((s) => s.warmWaitMs)), 0) } : undefined;
  const rows: ClaimRow[] = [];
  const W = (v: number): Cell => (warm ? { ...cell(v), ...(warmLoad !== undefined ? { otherLoadPercent: warmLoad } : {}) } : err('warm claims'));
  rows.push({ scenario: 'warm claim p50, client (POST ?wait -> Bound)', unit: 'ms', berth: W(median(warmMs)), raw: { error: 'n/a' }, target: { on: 'berth', op: '<=', value: 2, text: '<= 2 ms' } });
  rows.push({ scenario: 'warm claim p99, client', unit: 'ms', berth: { ...W(warmP99), ...(warmDetail ? { detail: warmDetail } : {}) }, raw: { error: 'n/a' }, target: { on: 'berth', op: '<=', value: 10, text: '<= 10 ms' } });
  rows.push({ scenario: 'warm claim p50 / p99, server (status.waitDurationMs)', unit: 'ms', berth: warm ? cell(median(waitMs), { p99: q(waitMs, 0.99) }) : err('warm claims'), ...(warm ? { berthText: `${median(waitMs)} / ${q(waitMs, 0.99)}` } : {}), raw: { error: 'n/a' } });
  if (wm) rows.push({ scenario: 'warm claim p99, berth_claim_wait_seconds (bucket bound)', unit: 'ms', berth: cell(bucketQuantile(wm.claimWait, 0.99) * 1000, { buckets: bucketText(wm.claimWait), count: wm.claimWait.count }), raw: { error: 'n/a' } });
  rows.push({ scenario: 'cold start p50 (create+start+first exec)', unit: 'ms', berth: { error: 'n/a' }, raw: cold ? cell(median(coldMs), undefined, coldLoad) : err('cold start') });
  rows.push({ scenario: 'cold start p99', unit: 'ms', berth: { error: 'n/a' }, raw: cold ? cell(coldP99, undefined, coldLoad) : err('cold start') });
  rows.push({
    scenario: 'cold start p99 / warm claim p99',
    unit: 'ms',
    berth: W(warmP99),
    raw: cold ? cell(coldP99) : err('cold start'),
    ...(Number.isFinite(warmP99) && Number.isFinite(coldP99) ? { ratio: { value: coldP99 / warmP99, label: 'cold/warm' } } : {}),
    target: { on: 'ratio', op: '>=', value: 50, text: '>= 50x' },
  });
  const rtMs = rts?.map((r) => (r.ok ? r.ms : Infinity)) ?? [];
  const rtDetail = rts ? { samplesMs: rts.map((r) => round(r.ms, 1)), claimMsP50: round(median(rts.map((r) => r.claimMs)), 2), execMsP50: round(median(rts.map((r) => r.execMs)), 2), execMsP99: round(q(rts.map((r) => r.execMs), 0.99), 2), execDurationMsP50: median(rts.map((r) => r.execDurationMs)), releaseMsP50: round(median(rts.map((r) => r.releaseMs)), 2), failed: rts.filter((r) => !r.ok).length } : undefined;
  rows.push({ scenario: 'claim -> exec -> release p50', unit: 'ms', berth: rts ? cell(median(rtMs), rtDetail) : err('round trip'), raw: cold ? cell(median(coldMs)) : err('cold start'), ...(rts && cold ? { ratio: { value: median(coldMs) / median(rtMs), label: 'cold/round trip' } } : {}) });
  rows.push({ scenario: 'claim -> exec -> release p99', unit: 'ms', berth: rts ? cell(q(rtMs, 0.99)) : err('round trip'), raw: cold ? cell(coldP99) : err('cold start'), ...(rts && cold ? { ratio: { value: coldP99 / q(rtMs, 0.99), label: 'cold/round trip' } } : {}) });
  const susLoad = sus?.cpu.foreignPercent;
  const susCell = (v: number, d?: unknown): Cell => (sus ? cell(v, d, susLoad) : err('sustained'));
  rows.push({
    scenario: `sustained claims/s, ${cfg.clients} clients, Replace (vs raw create+start/s)`,
    unit: '/s',
    berth: susCell(sus?.steadyPerSecond ?? NaN),
    raw: raw ? { value: raw.createStartPerSecond, otherLoadPercent: raw.cpu.createStart.foreignPercent } : err('raw create+start rate'),
    ...(sus && raw ? { ratio: { value: sus.steadyPerSecond / raw.createStartPerSecond, label: 'berth/raw' } } : {}),
  });
  rows.push({
    scenario: 'sustained claims/s (vs raw create+start+remove/s)',
    unit: '/s',
    berth: susCell(sus?.steadyPerSecond ?? NaN),
    raw: raw ? { value: raw.cyclePerSecond, otherLoadPercent: raw.cpu.cycle.foreignPercent } : err('raw create+start rate'),
    ...(sus && raw ? { ratio: { value: sus.steadyPerSecond / raw.cyclePerSecond, label: 'berth/raw' } } : {}),
  });
  rows.push({ scenario: 'sustained: claim p50 under load, client', unit: 'ms', berth: susCell(sus ? median(sus.claimMs) : NaN), raw: { error: 'n/a' } });
  rows.push({ scenario: 'sustained: claim p99 under load, client', unit: 'ms', berth: susCell(sus ? q(sus.claimMs, 0.99) : NaN), raw: { error: 'n/a' } });
  if (cfg.sequentialRounds > 0) {
    const seqCell = (v: number): Cell => (seq ? cell(v) : err('sequential'));
    rows.push({ scenario: `sequential claim -> release -> 1.2 s x${cfg.sequentialRounds}, Replace, PID 1 ignores SIGTERM: timeouts`, unit: 'claims', berth: seqCell(seq ? seq.timeouts + seq.errors.length : NaN), raw: { error: 'n/a' }, target: { on: 'berth', op: '<=', value: 0, text: '0' } });
    rows.push({ scenario: 'sequential: claim p50, client', unit: 'ms', berth: seqCell(seq ? p50(seq.ms) : NaN), raw: { error: 'n/a' } });
    rows.push({ scenario: 'sequential: claim p99, client', unit: 'ms', berth: seqCell(seq ? p(seq.ms, 0.99) : NaN), raw: { error: 'n/a' }, target: { on: 'berth', op: '<=', value: 10, text: '<= 10 ms' } });
  }
  for (const policy of cfg.loadSeconds > 0 ? (['Replace', 'Reuse'] as const) : []) {
    const r = loads[policy];
    const lc = (v: number): Cell => (r ? cell(v, undefined, r.foreignPercent) : err(`load ${policy}`));
    const head = `load, ${cfg.clients} clients claim -> exec -> release, ${cfg.loadSeconds} s, ${policy}`;
    rows.push({
      scenario: `${head}: bound/s${policy === 'Replace' ? ' (vs raw create+start+remove/s)' : ''}`,
      unit: '/s',
      berth: lc(r?.perSecond ?? NaN),
      raw: policy === 'Replace' && raw ? { value: raw.cyclePerSecond, otherLoadPercent: raw.cpu.cycle.foreignPercent } : { error: 'n/a' },
      ...(policy === 'Replace' && r && raw ? { ratio: { value: r.perSecond / raw.cyclePerSecond, label: 'berth/raw' }, target: { on: 'ratio' as const, op: '>=' as const, value: 0.9, text: '>= 0.9x raw' } } : {}),
      ...(policy === 'Reuse' ? { target: { on: 'berth' as const, op: '>=' as const, value: 20, text: '>= 20/s' } } : {}),
    });
    if (policy === 'Replace' && raw?.execPerSecond !== undefined && raw.execPerSecond > 0) {
      // The raw cycle has no exec, berth's has two (the client's `true`, then the new member's first probe), and the
      // warm members' periodic probes take their share of the engine first. Engine time per cycle = 1/cycle rate +
      // 2/exec rate, of the engine time the probes leave: the most any controller could bind with this workload.
      const probeShare = Math.min(1, LOAD_MIN_READY / PROBE_PERIOD_SECONDS / raw.execPerSecond);
      const ceiling = (1 - probeShare) / (1 / raw.cyclePerSecond + 2 / raw.execPerSecond);
      rows.push({
        scenario: `Replace load: bound/s vs the engine's ceiling for the same work if engine work were serial, (1 - ${LOAD_MIN_READY} warm members' probes every ${PROBE_PERIOD_SECONDS} s / raw exec rate) / (1 / raw create+start+remove rate + 2 / raw exec rate)`,
        unit: '/s',
        berth: lc(r?.perSecond ?? NaN),
        raw: { value: ceiling, detail: { execPerSecond: raw.execPerSecond, cyclePerSecond: raw.cyclePerSecond } },
        ...(r && ceiling > 0 ? { ratio: { value: r.perSecond / ceiling, label: 'berth/engine ceiling' } } : {}),
      });
    }
    if (policy === 'Reuse' && raw?.execPerSecond !== undefined) {
      // Each Reuse cycle is two engine execs (the client's, then the re-probe before the member serves again), and the
      // warm members' periodic probes take their share first: that is the most any controller could bind on this engine.
      const ceiling = Math.max(0, raw.execPerSecond - LOAD_MIN_READY / PROBE_PERIOD_SECONDS) / 2;
      rows.push({
        scenario: `Reuse load: bound/s vs the engine's ceiling, (raw exec rate - ${LOAD_MIN_READY} warm members' probes every ${PROBE_PERIOD_SECONDS} s) / 2 execs a cycle (raw: ${raw.execClients} clients exec the probe in a loop, ${EXEC_RATE_SECONDS} s)`,
        unit: '/s',
        berth: lc(r?.perSecond ?? NaN),
        raw: { value: ceiling, detail: { execPerSecond: raw.execPerSecond }, ...(raw.cpu.exec ? { otherLoadPercent: raw.cpu.exec.foreignPercent } : {}) },
        ...(r && ceiling > 0 ? { ratio: { value: r.perSecond / ceiling, label: 'berth/engine ceiling' } } : {}),
      });
    }
    rows.push({ scenario: `${policy} load: timeouts (claimTimeoutSeconds 30)`, unit: 'claims', berth: lc(r ? r.timeouts + r.errors.length : NaN), raw: { error: 'n/a' }, target: { on: 'berth', op: '<=', value: 0, text: '0' } });
    rows.push({ scenario: `${policy} load: claim p50 / p99, client`, unit: 'ms', berth: lc(r ? p50(r.ms) : NaN), ...(r ? { berthText: `${ms1(p50(r.ms))} / ${ms1(p(r.ms, 0.99))}` } : {}), raw: { error: 'n/a' } });
  }
  if (cfg.burst > 0) {
    rows.push({
      scenario: `burst of ${cfg.burst} claims on minReady 3, maxSize ${cfg.burst}: last Bound (vs raw create+start of ${cfg.burst - 3}), median of ${cfg.burstRounds} rounds`,
      unit: 's',
      berth: bst ? cell(bst.lastBoundSeconds, { notBound: bst.notBound, samples: bst.samples.berth.map((x) => round(x, 2)) }) : err('burst'),
      raw: bst ? cell(bst.rawSeconds, { samples: bst.samples.raw.map((x) => round(x, 2)) }) : err('burst'),
      ...(bst ? { ratio: { value: bst.lastBoundSeconds / bst.rawSeconds, label: 'berth/raw' } } : {}),
      target: { on: 'ratio', op: '<=', value: 1.2, text: '<= 1.2x raw' },
    });
    rows.push({
      scenario: `burst: last Bound (vs raw create+start+first passing probe exec of ${cfg.burst - 3}, the work a member does before it serves)`,
      unit: 's',
      berth: bst ? cell(bst.lastBoundSeconds) : err('burst'),
      raw: bst ? cell(bst.rawCheckedSeconds, { samples: bst.samples.rawChecked.map((x) => round(x, 2)) }) : err('burst'),
      ...(bst ? { ratio: { value: bst.lastBoundSeconds / bst.rawCheckedSeconds, label: 'berth/raw' } } : {}),
    });
  }
  if (floor) rows.push({ scenario: 'HTTP floor: GET pool p50 / p99', unit: 'ms', berth: cell(median(floor), { p99: round(q(floor, 0.99), 2) }), berthText: `${ms2(median(floor))} / ${ms2(q(floor, 0.99))}`, raw: { error: 'n/a' } });
  if (besideQueue) {
    const bq = besideQueue.warm.map((s) => (s.phase === 'Bound' ? s.ms : Infinity));
    rows.push({ scenario: `warm claim p50 / p99 with ${besideQueue.queued} claims waiting on another pool (accepted at ${Math.round(besideQueue.acceptedPerSecond)}/s)`, unit: 'ms', berth: cell(median(bq), { p99: round(q(bq, 0.99), 2), acceptedPerSecond: round(besideQueue.acceptedPerSecond, 1), samplesMs: besideQueue.warm.map((s) => round(s.ms, 2)) }), berthText: `${ms2(median(bq))} / ${ms2(q(bq, 0.99))}`, raw: { error: 'n/a' } });
    rows.push({ scenario: `controller CPU per claim while the ${besideQueue.queued} queued (each one's rules read the pool's whole queue)`, unit: 'ms', berth: cell(besideQueue.cpuMsPerClaim), raw: { error: 'n/a' } });
    const mt = besideQueue.timeout;
    if (mt) {
      const note = mt.stillWaiting === 0 ? '' : `, ${mt.stillWaiting} still waiting after 60 s`;
      rows.push({ scenario: `the ${besideQueue.queued} queued time out, each at its deadline: from the timeout cut until none waits (controller CPU meanwhile${note})`, unit: 's', berth: cell(mt.seconds, { cpuSeconds: round(mt.cpuSeconds, 2), stillWaiting: mt.stillWaiting }), berthText: `${mt.seconds.toFixed(2)} (${mt.cpuSeconds.toFixed(2)} s CPU)${note}`, raw: { error: 'n/a' } });
      rows.push({ scenario: `meanwhile, GET of the main pool every ${GET_EVERY_MS} ms: p50 / p99 / max`, unit: 'ms', berth: cell(Math.max(...mt.getMs), { p50: round(median(mt.getMs), 2), p99: round(q(mt.getMs, 0.99), 2), count: mt.getMs.length }), berthText: `${ms2(median(mt.getMs))} / ${ms2(q(mt.getMs, 0.99))} / ${ms1(Math.max(...mt.getMs))}`, raw: { error: 'n/a' } });
    }
  }
  if (writes) {
    const { replace, slots, journal } = writes;
    rows.push({ scenario: 'berth claim commit (journal frame written in place + fdatasync) p50 / p99', unit: 'ms', berth: cell(median(journal), { p99: round(q(journal, 0.99), 2), samplesMs: journal.map((x) => round(x, 2)) }), berthText: `${ms2(median(journal))} / ${ms2(q(journal, 0.99))}`, raw: { error: 'n/a' } });
    rows.push({ scenario: 'berth claims snapshot (two-slot overwrite + fdatasync) p50 / p99', unit: 'ms', berth: cell(median(slots), { p99: round(q(slots, 0.99), 2), samplesMs: slots.map((x) => round(x, 2)) }), berthText: `${ms2(median(slots))} / ${ms2(q(slots, 0.99))}`, raw: { error: 'n/a' } });
    rows.push({ scenario: 'berth whole-file write (temp+fsync+rename) p50 / p99', unit: 'ms', berth: cell(median(replace), { p99: round(q(replace, 0.99), 2), samplesMs: replace.map((x) => round(x, 2)) }), berthText: `${ms2(median(replace))} / ${ms2(q(replace, 0.99))}`, raw: { error: 'n/a' } });
  }
  if (shm) {
    const sm = shm.map((s) => (s.phase === 'Bound' ? s.ms : Infinity));
    rows.push({ scenario: 'warm claim p50, state dir on tmpfs (diagnostic)', unit: 'ms', berth: cell(median(sm), undefined, shmLoad), raw: { error: 'n/a' } });
    rows.push({ scenario: 'warm claim p99, state dir on tmpfs (diagnostic)', unit: 'ms', berth: cell(q(sm, 0.99), { samplesMs: shm.map((s) => round(s.ms, 2)), waitDurationMs: shm.map((s) => s.waitDurationMs) }, shmLoad), raw: { error: 'n/a' } });
  }

  if (sus) detail['sustained'] = { ...sus, claimMs: undefined, claimMsP50: round(median(sus.claimMs), 1), claimMsP99: round(q(sus.claimMs, 0.99), 1), waitDurationMs: undefined, waitDurationMsP50: median(sus.waitDurationMs), waitDurationMsP99: q(sus.waitDurationMs, 0.99), claimWait: bucketText(sus.claimWait) };
  if (wm) detail['warmMetrics'] = Object.fromEntries(Object.entries(wm).map(([k, v]) => [k, Array.isArray(v) ? v : { count: v.count, meanMs: v.count ? round((v.sum / v.count) * 1000, 2) : null, buckets: bucketText(v) }]));
  detail['failures'] = failures;

  // 6. Where a warm claim's time went.
  const breakdown: string[] = [];
  if (wm && warm) {
    const bms = bound.map((s) => s.ms);
    breakdown.push(
      `Over the ${warm.samples.length} warm claims (each also released; the pool refilled between them). Client: p50 ${ms1(median(bms))} ms, p90 ${ms1(q(bms, 0.9))} ms, p99 ${ms1(q(bms, 0.99))} ms, max ${ms1(Math.max(...bms))} ms; server status.waitDurationMs (store apply -> bound, ms resolution, before claims.state is written): p50 ${median(waitMs)} ms, p99 ${q(waitMs, 0.99)} ms.`,
      '',
      '| controller histogram (delta over the warm claims) | count | mean (ms) | p50 (bucket) | p99 (bucket) | distribution |',
      '|---|---:|---:|---:|---:|---|',
      bucketLine('`berth_api_request_duration_seconds{verb="apply",resource="instanceclaims"}` (POST ?wait, server side)', wm.applyRequest),
      bucketLine('`berth_api_request_duration_seconds{verb="delete",resource="instanceclaims"}`', wm.deleteRequest),
      bucketLine('`berth_claim_wait_seconds` (apply -> bound)', wm.claimWait),
      bucketLine('`controller_runtime_reconcile_time_seconds{controller="instanceclaim"}` (bind or release + claims.state write)', wm.claimReconcile),
      bucketLine('`controller_runtime_reconcile_time_seconds{controller="instancepool"}`', wm.poolReconcile),
      bucketLine('`workqueue_queue_duration_seconds` (all keys: added -> picked up)', wm.queueWait),
      '',
      ...(writes
        ? [
            `berth's durable writes on the state directory's filesystem, 50 each, interleaved: the claim commit (ClaimJournal.append: a 0.5 KiB frame written in place into the preallocated claims.journal, fdatasync) p50 ${ms1(median(writes.journal))} ms, p90 ${ms1(q(writes.journal, 0.9))} ms, p99 ${ms1(q(writes.journal, 0.99))} ms; the claims snapshot written when the journal is full (writeStateSlots, 2 KiB here: overwrite the older of two preallocated slots, fdatasync) p50 ${ms1(median(writes.slots))} ms, p90 ${ms1(q(writes.slots, 0.9))} ms, p99 ${ms1(q(writes.slots, 0.99))} ms; a whole-file write (writeFileAtomic: temp file, write, fsync, rename) p50 ${ms1(median(writes.replace))} ms, p90 ${ms1(q(writes.replace, 0.9))} ms, p99 ${ms1(q(writes.replace, 0.99))} ms. A warm claim's answer waits for one claim commit (the claim and its binding together), its DELETE for one more.`,
            '',
          ]
        : []),
      ...(floor ? [`HTTP floor (GET of the pool, same keep-alive client): p50 ${ms1(median(floor))} ms, p99 ${ms1(q(floor, 0.99))} ms.`, ''] : []),
      ...(shm ? [`Same warm claims with the controller's state directory on /dev/shm (tmpfs, fsync nearly free), ${shm.length} samples: p50 ${ms1(median(shm.map((s) => s.ms)))} ms, p99 ${ms1(q(shm.map((s) => s.ms), 0.99))} ms.`, ''] : []),
      `Engine operations during the warm claims (probes every 2 s on ${cfg.minReady} members, and one replacement per claim): ` + wm.ops.map((o) => `${o.series.replace('berth_runtime_operation_duration_seconds', '')} ${o.count}× mean ${o.meanMs.toFixed(1)} ms`).join(', '),
      '',
    );
  }
  if (rts && rtDetail) {
    breakdown.push(
      `**Round trip** (median of each step over ${rts.length}): claim ${ms1(rtDetail.claimMsP50)} ms, exec ${ms1(rtDetail.execMsP50)} ms (p99 ${ms1(rtDetail.execMsP99)} ms; the engine part as the API reports it, exec create -> exit code: ${rtDetail.execDurationMsP50} ms), release ${ms1(rtDetail.releaseMsP50)} ms; ${rtDetail.failed} failed.`,
      '',
    );
  }
  if (sus) {
    breakdown.push(
      `**Sustained** (${sus.clients} clients, ${sus.windowSeconds.toFixed(0)} s${sus.stoppedEarly ? `, stopped early: ${sus.stoppedEarly}` : ''}): ${sus.bound} claims bound (${sus.perSecond.toFixed(2)}/s; ${sus.steadyPerSecond.toFixed(2)}/s after the first ${cfg.sustainWarmupSeconds} s), ${sus.unbound} not bound within their 10 s wait; controller CPU ${sus.cpu.processCpuSeconds?.toFixed(2)} s (${(((sus.cpu.processCpuSeconds ?? 0) / sus.cpu.seconds) * 100).toFixed(0)} % of a core), dockerd+containerd ${sus.cpu.engineCpuSeconds.toFixed(2)} s, machine busy ${sus.cpu.machineBusyPercent.toFixed(0)} % (other people's processes ${sus.cpu.foreignPercent.toFixed(0)} %). Claim wait (berth_claim_wait_seconds): ${bucketText(sus.claimWait)}.`,
      '',
      '| series | count | mean (ms) | total (s) |',
      '|---|---:|---:|---:|',
      ...sus.ops.map((o) => `| \`${o.series}\` | ${o.count} | ${o.meanMs.toFixed(1)} | ${o.totalSeconds.toFixed(2)} |`),
      ...sus.counters.map((c) => `| \`${c.series}\` | ${c.delta} | | |`),
      '',
      `Per second (claims bound / pool ready / replicas / claimed / engine list ms): ${sus.timeline.map((t) => `${t.bound}/${t.ready ?? '?'}/${t.replicas ?? '?'}/${t.claimed ?? '?'}/${t.engineListMs?.toFixed(0) ?? '?'}`).join(' ')}`,
      '',
    );
  }
  if (raw) {
    breakdown.push(
      `Raw engine, same member config, parallelism ${raw.parallelism}, N=${raw.n}: create+start ${raw.createStartSeconds.toFixed(2)} s (${raw.createStartPerSecond.toFixed(2)}/s), then create+start+remove of the old one ${raw.cycleSeconds.toFixed(2)} s (${raw.cyclePerSecond.toFixed(2)}/s); ` +
        Object.entries(raw.opMs).map(([op, v]) => `${op} ${v.count}× mean ${v.meanMs.toFixed(1)} ms (p90 ${v.p90Ms.toFixed(0)})`).join(', ') +
        `; machine busy ${raw.cpu.createStart.machineBusyPercent.toFixed(0)} % / ${raw.cpu.cycle.machineBusyPercent.toFixed(0)} %.`,
      '',
    );
  }
  if (cold) {
    breakdown.push(`Cold start parts (median): create ${ms1(median(cold.map((s) => s.createMs)))} ms, start ${ms1(median(cold.map((s) => s.startMs)))} ms, first exec ${ms1(median(cold.map((s) => s.execMs)))} ms.`, '');
  }

  const notes = [
    `Pool (InstancePool ${NAMESPACE}/${POOL_NAME}, a spec file in the watched directory): \`${IMAGE}\`, \`sh -c "trap 'exit 0' TERM; sleep 3600 & wait"\`, network none, exec health check \`sh -c "echo OK"\` every 2 s, grace 2 s, controller default limits; minReady ${cfg.minReady}, maxSize ${cfg.maxSize}, recycle Replace, claimTimeoutSeconds 30. Controller: \`berth controller\` child process with defaults (--workers 8, --max-concurrent-ops 16), state directory on the OS temp dir (ext4 here: applied.json is replaced whole and fsynced, claims.state overwritten in place and fdatasynced).`,
    `Client: node:http with a keep-alive Agent; time from writing the request to the last byte of the answer. A claim is \`POST /apis/berth.dev/v1alpha1/namespaces/${NAMESPACE}/instanceclaims?wait=10s\`, which answers once the claim is Bound; release is DELETE of the claim.`,
    `warm claim: ${cfg.warmSamples} claims one at a time, each released at once; before each the bench waits until the pool is warm and quiet again: the engine lists exactly minReady members, all running, the released one gone (no create or remove in flight), and then the pool's status shows ready >= minReady, claimed = 0 and replicas = ready. (Status alone is not enough: a pool reconcile holds the pool while it creates or removes members, a second or more, and meanwhile the status still shows the pool as before the last claim; a first version of this bench that trusted it drained the pool in 8 quick claims and then waited 1.5 s for a fresh member.) A claim that does not bind counts as infinitely slow. "server" is the claim's status.waitDurationMs (creation in the store to binding, whole ms; it does not include writing claims.state nor the answer); the histogram row is the pool's berth_claim_wait_seconds over the same claims, read from /metrics (upper bound of the bucket holding the p99).`,
    `cold start: ${cfg.coldSamples} times, one at a time, on a quiet engine before the controller starts: create + start + exec \`sh -c "echo OK"\` until it exits 0 with OK (the same create body berth sends for a member: berth's own createOptions), through dockerode, each container removed (untimed) before the next.`,
    `claim -> exec -> release: ${cfg.roundTripSamples} times, from a warm, quiet pool as above: POST ?wait=10s, POST .../instances/<status.instance>/exec {command: [echo, hi], timeoutSeconds: 10} (checked: exit 0, stdout "hi"), DELETE; the raw column repeats the cold start (no release) for scale.`,
    `sustained: ${cfg.clients} clients, each looping POST ?wait=10s -> DELETE for ${cfg.sustainSeconds} s; the figure counts claims answered Bound after the first ${cfg.sustainWarmupSeconds} s (the warm stock of ${cfg.minReady} being drawn down) until the end, per second. Every claim consumes a member (Replace: a released member is stopped and removed, a new one created, started and probed). The bench lists the engine's containers once a second and stops early if a list takes over 2 s three times running or no claim binds for 15 s.`,
    `raw engine rates: the same member create body, N=${cfg.rawN} at parallelism ${cfg.rawParallelism} (the raw engine parallelism above): create+start of all N (containers per second until the last start returned), then, per container, create+start a new one and force-remove an old one (the engine work one Replace recycle costs, minus berth's probe execs and graceful stop).`,
    ...(cfg.burst > 0
      ? [`burst: a pool with minReady 3, maxSize ${cfg.burst}, recycle Replace, its own controller (defaults), quiet (exactly 3 members, all running); ${cfg.burst} clients POST ?wait=60s at once, and the figure is the time until the last answer (Bound). The raw engine creates and starts the ${cfg.burst - 3} members berth must add (berth's createOptions, parallelism ${cfg.rawParallelism}), once as they are and once with the pool's probe exec'd on each until it passes. ${cfg.burstRounds} rounds of the three one after the other (the claims released and the pool quiet again between rounds, untimed); each figure is the median of its rounds, every round's figure is in results.json. The pool's controller runs through all rounds, so the raw engine works beside the same background as berth: 3 warm members probed every 2 s.`]
      : []),
    ...(cfg.queuedClaims > 0
      ? [`beside a queue: after the sustained run, a second pool (minReady 0, maxSize 1) gets ${cfg.queuedClaims} claims (POST without wait, ${cfg.clients} clients; all but one wait, claimTimeoutSeconds 3600; the controller's CPU per claim is its user+system time over the posting divided by the claims), then the warm claims above run again on the main pool (its own members only are counted when waiting for it to be warm), then the queue pool's claimTimeoutSeconds is cut so that the first claim posted times out 3 s later and the others follow at the pace they were posted, each at its own deadline (the row's time includes those 3 s and the posting's span), while one client GETs the main pool every ${GET_EVERY_MS} ms until the queue pool reports none waiting (its status is read every 100 ms); then the queued claims are deleted.`]
      : []),
    ...(cfg.tmpfsSamples > 0
      ? [`state dir on tmpfs (diagnostic): after the main pool is gone, a second controller with its spec and state directories on /dev/shm and the same pool; ${cfg.tmpfsSamples} warm claims as above. Every write berth makes for a claim is then free of disk flushes (fsync on tmpfs returns at once); the difference to the main row is what the disk costs.`]
      : []),
  ];

  return { rows, detail, notes, breakdown, containersCreated: counter.created + berthCreated };
}
