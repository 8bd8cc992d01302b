// The claims scenarios a sandbox service brings (issue 9), each on its own
// pool behind its own controller, beside the raw engine in the same run:
//   sequential  claim (POST ?wait=10s) -> DELETE -> 1.2 s pause, one client,
//               on a Replace pool whose members' PID 1 ignores SIGTERM
//               (busybox `sleep`): timeouts, p50 / p99
//   load        N clients looping claim -> exec `true` -> release for a
//               window, with Replace and with Reuse: bound/s, timeouts, p50 / p99
//   burst       40 claims at once on minReady 3, maxSize 40: time until the
//               last is Bound, against the raw engine creating and starting
//               the 37 missing containers (and doing so with a probe exec
//               each); three rounds of the three, medians reported
import { LABEL } from '../src/runtime/types.js';
import { BerthController } from './berth.js';
import { ApiClient, POOL_NAME, rawExec, type ClaimsHooks } from './claims.js';
import { call, cleanupByLabel, docker, listByLabel, mapLimit, removeContainers, RUN_LABEL, sleep, T, withSignal } from './engine.js';
import { cpuMeter } from './proc.js';
import { errorText, median, quantile } from './stats.js';
import { IMAGE, NAMESPACE } from './workload.js';
import { createOptions } from '../src/runtime/docker/create-options.js';
import { desiredPool, ownerLabels } from '../src/reconcile/desired.js';
import { validateResource } from '../src/spec/load.js';
import { DEFAULT_POLICY } from '../src/spec/policy.js';
import type { InstancePool } from '../src/spec/schema.js';

const API = `/apis/berth.dev/v1alpha1/namespaces/${NAMESPACE}`;
const PROBE = ['sh', '-c', 'echo OK'];
/** The scenarios' probe period and the load scenario's warm stock: warm members cost the engine LOAD_MIN_READY / PROBE_PERIOD_SECONDS execs a second. */
export const PROBE_PERIOD_SECONDS = 2;
export const LOAD_MIN_READY = 8;

export interface ScenarioConfig {
  sequentialRounds: number;
  loadClients: number;
  loadSeconds: number;
  burst: number;
  /** Rounds of the burst (each: raw, raw with probe, berth); the medians are reported. */
  burstRounds: number;
  rawParallelism: number;
}

function pool(runId: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'InstancePool',
    metadata: { name: POOL_NAME, namespace: NAMESPACE },
    spec: {
      ...spec,
      template: {
        image: IMAGE,
        // PID 1 ignores SIGTERM, as many real images do.
        command: ['sleep', '3600'],
        network: 'none',
        labels: { [RUN_LABEL]: runId },
        healthCheck: { exec: { command: PROBE }, periodSeconds: PROBE_PERIOD_SECONDS },
      },
    },
  };
}

const claimBody = (name: string): object => ({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name, namespace: NAMESPACE }, spec: { poolRef: { name: POOL_NAME } } });

interface Started {
  ctl: BerthController;
  api: ApiClient;
}

async function startPool(runId: string, spec: Record<string, unknown>, minReady: number, hooks: ClaimsHooks): Promise<Started> {
  const ctl = new BerthController({ runId });
  hooks.trackController(ctl);
  hooks.trackManagedBy(ctl.controllerId);
  await ctl.start();
  const api = new ApiClient(ctl.server);
  await ctl.writeSpecFile('pool', pool(runId, spec));
  const t0 = performance.now();
  for (;;) {
    const r = await api.request('GET', `${API}/instancepools/${POOL_NAME}`, undefined, 5000).catch(() => undefined);
    const s = (r?.json as { status?: { ready?: number } } | undefined)?.status;
    if ((s?.ready ?? 0) >= minReady) break;
    if (performance.now() - t0 > 90_000) throw new Error(`the pool did not reach ${minReady} ready within 90 s (${JSON.stringify(s)})`);
    await sleep(50);
  }
  return { ctl, api };
}

async function stopPool(s: Started, hooks: ClaimsHooks): Promise<void> {
  // Claims left by clients cut short are released first.
  const left = await s.api.request('GET', `${API}/instanceclaims`).catch(() => undefined);
  for (const c of (left?.json as { items?: Array<{ metadata: { name: string } }> } | undefined)?.items ?? []) await s.api.request('DELETE', `${API}/instanceclaims/${c.metadata.name}`).catch(() => undefined);
  s.api.close();
  await s.ctl.stop().catch((e: unknown) => hooks.log(`stopping a scenario controller: ${errorText(e)}`));
  hooks.untrackController(s.ctl);
  await cleanupByLabel(LABEL.managedBy, s.ctl.controllerId).catch(() => undefined);
}

export interface ClaimOutcomes {
  bound: number;
  /** Claims that ended Failed (ClaimTimeout) or were not Bound when their wait ran out. */
  timeouts: number;
  errors: string[];
  /** Client time of the bound claims (POST ?wait -> Bound answer). */
  ms: number[];
}

interface ClaimAnswer {
  phase?: string;
  instance?: string;
}

async function claimOnce(api: ApiClient, name: string, wait: string): Promise<{ ms: number; status?: ClaimAnswer; http: number; text?: string }> {
  const r = await api.request('POST', `${API}/instanceclaims?wait=${wait}`, claimBody(name), 90_000);
  const status = (r.json as { status?: ClaimAnswer }).status;
  return { ms: r.ms, http: r.status, ...(status ? { status } : {}), ...(r.status >= 300 ? { text: JSON.stringify(r.json).slice(0, 200) } : {}) };
}

export interface SequentialResult extends ClaimOutcomes {
  rounds: number;
}

export async function sequential(runId: string, cfg: ScenarioConfig, hooks: ClaimsHooks): Promise<SequentialResult> {
  const s = await startPool(runId, { minReady: 3, maxSize: 6, claimTimeoutSeconds: 5, recycle: { policy: 'Replace' } }, 3, hooks);
  const out: SequentialResult = { rounds: cfg.sequentialRounds, bound: 0, timeouts: 0, errors: [], ms: [] };
  try {
    for (let i = 0; i < cfg.sequentialRounds; i++) {
      const name = `seq-${i}`;
      const r = await claimOnce(s.api, name, '10s');
      if (r.status?.phase === 'Bound') {
        out.bound++;
        out.ms.push(r.ms);
      } else if (r.http < 300) out.timeouts++;
      else out.errors.push(r.text ?? String(r.http));
      await s.api.request('DELETE', `${API}/instanceclaims/${name}`);
      await sleep(1200);
    }
  } finally {
    await stopPool(s, hooks);
  }
  return out;
}

export interface LoadResult extends ClaimOutcomes {
  policy: 'Replace' | 'Reuse';
  clients: number;
  seconds: number;
  perSecond: number;
  execFailures: number;
  foreignPercent: number;
}

export async function load(runId: string, cfg: ScenarioConfig, policy: 'Replace' | 'Reuse', hooks: ClaimsHooks): Promise<LoadResult> {
  const s = await startPool(runId, { minReady: LOAD_MIN_READY, maxSize: 16, claimTimeoutSeconds: 30, recycle: { policy } }, LOAD_MIN_READY, hooks);
  const out: LoadResult = { policy, clients: cfg.loadClients, seconds: cfg.loadSeconds, bound: 0, timeouts: 0, errors: [], ms: [], perSecond: NaN, execFailures: 0, foreignPercent: NaN };
  try {
    const meter = cpuMeter(s.ctl.pid);
    const t0 = performance.now();
    const end = t0 + cfg.loadSeconds * 1000;
    const client = async (c: number): Promise<void> => {
      for (let k = 0; performance.now() < end; k++) {
        const name = `load-${c}-${k}`;
        try {
          const r = await claimOnce(s.api, name, '40s');
          if (r.status?.phase === 'Bound') {
            out.bound++;
            out.ms.push(r.ms);
            const e = await s.api.request('POST', `${API}/instances/${r.status.instance}/exec`, { command: ['true'], timeoutSeconds: 10 });
            if (e.status !== 200 || (e.json as { exitCode?: number }).exitCode !== 0) out.execFailures++;
          } else if (r.http < 300) out.timeouts++;
          else out.errors.push(r.text ?? String(r.http));
          await s.api.request('DELETE', `${API}/instanceclaims/${name}`);
        } catch (e) {
          out.errors.push(errorText(e));
          await sleep(200);
        }
      }
    };
    await Promise.all(Array.from({ length: cfg.loadClients }, (_, c) => client(c)));
    out.perSecond = out.bound / ((performance.now() - t0) / 1000);
    out.foreignPercent = meter().foreignPercent;
    out.errors = [...new Set(out.errors)].slice(0, 10);
  } finally {
    await stopPool(s, hooks);
  }
  return out;
}

export interface BurstResult {
  claims: number;
  /** Rounds of (raw, raw with probe, berth); each figure below is the median of its rounds. */
  rounds: number;
  /** From sending the 40 claims to the last Bound answer. */
  lastBoundSeconds: number;
  notBound: number;
  /** The raw engine creating and starting the members berth had to add (burst - minReady), same parallelism as berth's workers. */
  rawSeconds: number;
  rawCount: number;
  /** The same, each container also checked once with the pool's probe (an exec until it passes): what berth does before a member serves. */
  rawCheckedSeconds: number;
  /** Every round's figures, in the order they ran. */
  samples: { berth: number[]; raw: number[]; rawChecked: number[] };
}

export async function burst(runId: string, cfg: ScenarioConfig, hooks: ClaimsHooks): Promise<BurstResult> {
  const minReady = 3;
  const spec = { minReady, maxSize: cfg.burst, claimTimeoutSeconds: 60, recycle: { policy: 'Replace' } };
  const rawCount = cfg.burst - minReady;
  // The raw engine first, on a quiet engine: create + start of the same member body.
  const rawId = `berth-bench-rawburst-${Math.random().toString(16).slice(2, 10)}`;
  hooks.trackManagedBy(rawId);
  const { resource } = validateResource(pool(runId, spec), '<bench>', { policy: DEFAULT_POLICY });
  const desired = desiredPool(resource as InstancePool, DEFAULT_POLICY);
  const rawRun = async (round: string, checked: boolean): Promise<number> => {
    let ids: string[] = [];
    const r0 = performance.now();
    try {
      ids = await mapLimit(Array.from({ length: rawCount }, (_, i) => i), cfg.rawParallelism, async (i) => {
        const body = createOptions({ name: `${rawId}-${round}${i}`, template: desired.template, labels: ownerLabels(rawId, desired.key, desired.hash, Date.now(), `${round}${i}`) });
        const c = await call('create', (sig) => docker.createContainer(withSignal(body, sig)), T.create);
        await call('start', (sig) => c.start(withSignal({}, sig)), T.start);
        if (checked) {
          for (let k = 0; (await rawExec(c, PROBE)).exitCode !== 0; k++) {
            if (k > 100) throw new Error(`raw burst: ${c.id.slice(0, 12)} never passed the probe`);
            await sleep(20);
          }
        }
        return c.id;
      });
      return (performance.now() - r0) / 1000;
    } finally {
      await removeContainers(ids, 8).catch(() => undefined);
      await cleanupByLabel(LABEL.managedBy, rawId).catch(() => undefined);
    }
  };
  // A burst lasts a few seconds, so one sample of each is at the mercy of whatever else the machine
  // did in them: rounds of all three, one after the other, and the median of each.
  const samples: BurstResult['samples'] = { berth: [], raw: [], rawChecked: [] };
  let notBound = 0;
  const s = await startPool(runId, spec, minReady, hooks);
  try {
    for (let round = 0; round < cfg.burstRounds; round++) {
      samples.raw.push(await rawRun(`r${round}-`, false).catch(() => NaN));
      await sleep(2000);
      samples.rawChecked.push(await rawRun(`p${round}-`, true).catch(() => NaN));
      await sleep(2000);
      await quietPool(s, minReady);
      const t0 = performance.now();
      const answers = await Promise.all(Array.from({ length: cfg.burst }, (_, i) => claimOnce(s.api, `burst-${round}-${i}`, '60s').catch(() => undefined)));
      samples.berth.push((performance.now() - t0) / 1000);
      notBound += answers.filter((a) => a?.status?.phase !== 'Bound').length;
      // Released, the members are removed and the pool shrinks back to minReady (untimed) before the next round.
      await Promise.all(Array.from({ length: cfg.burst }, (_, i) => s.api.request('DELETE', `${API}/instanceclaims/burst-${round}-${i}`).catch(() => undefined)));
      if (round + 1 < cfg.burstRounds) await quietPool(s, minReady);
    }
  } finally {
    await stopPool(s, hooks);
  }
  const mid = (v: number[]): number => p50(v.filter(Number.isFinite));
  return { claims: cfg.burst, rounds: cfg.burstRounds, lastBoundSeconds: mid(samples.berth), notBound, rawSeconds: mid(samples.raw), rawCount, rawCheckedSeconds: mid(samples.rawChecked), samples };
}

/** Quiet: the engine lists exactly minReady members, all running (nothing being created or removed). */
async function quietPool(s: Started, minReady: number): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    const l = await listByLabel(LABEL.managedBy, s.ctl.controllerId).catch(() => []);
    if (l.length === minReady && l.every((c) => c.state === 'running')) return;
    await sleep(50);
  }
}

export const p = (v: number[], q: number): number => (v.length ? quantile(v, q) : NaN);
export const p50 = (v: number[]): number => (v.length ? median(v) : NaN);
