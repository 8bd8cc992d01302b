// Engine access for the bench: one dockerode client, a deadline on every call
// (a wedged engine, moby/moby#46661, must fail a step, never hang the bench),
// a small concurrency pool, and cleanup strictly by the bench run's own label.
import Dockerode from 'dockerode';
import { dockerCall } from '../src/runtime/docker/call.js';

/** Every container, service and task this bench run creates carries this label (value: the run id). */
export const RUN_LABEL = 'dev.berth.bench.run';

export const docker: Dockerode = process.env['DOCKER_HOST'] ? new Dockerode() : new Dockerode({ socketPath: '/var/run/docker.sock' });

/** Per-call deadlines, generous: a call that takes longer than this means the engine is in trouble. */
export const T = { short: 10_000, create: 30_000, start: 30_000, remove: 30_000, swarm: 30_000 } as const;

/**
 * One engine call with a deadline. `fn` gets a signal to pass to dockerode as
 * abortSignal; the promise settles at the deadline even if dockerode does not
 * honour it. Errors keep the engine's message.
 */
export function call<R>(op: string, fn: (signal: AbortSignal) => Promise<R>, timeoutMs: number = T.short): Promise<R> {
  if (halted.signal.aborted && CREATING_OPS.has(op)) return Promise.reject(new Error(`docker ${op}: the bench is stopping`));
  return dockerCall(op, timeoutMs, CREATING_OPS.has(op) ? halted.signal : undefined, fn);
}

/** Calls that make or change workloads; refused (and aborted in flight) once the bench is stopping, so cleanup is final. */
const CREATING_OPS = new Set(['create', 'start', 'update', 'kill', 'exec create', 'exec start', 'service create', 'service update', 'swarm init']);
const halted = new AbortController();

/** Ctrl-C or a fatal error: no container or service is created or started any more; cleanup calls still run. */
export function haltWork(): void {
  halted.abort(new Error('the bench is stopping'));
}

/** Options objects of dockerode take abortSignal, which its typings mostly omit. */
export const withSignal = <O extends object>(opts: O, signal: AbortSignal): O => ({ ...opts, abortSignal: signal }) as O;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs fn over items with at most `limit` in flight; the first error rejects (the rest still settle). */
export async function mapLimit<I, R>(items: readonly I[], limit: number, fn: (item: I, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (next < items.length && failed === undefined) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== undefined) throw failed;
  return out;
}

/** Polls `check` every `everyMs` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function until<R>(what: string, timeoutMs: number, everyMs: number, check: () => Promise<R | undefined>): Promise<R> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const r = await check();
      if (r !== undefined) return r;
    } catch (e) {
      lastError = e;
    }
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(0)} s waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    }
    await sleep(everyMs);
  }
}

export interface Summary {
  id: string;
  state: string;
  labels: Record<string, string>;
}

export async function listByLabel(label: string, value: string): Promise<Summary[]> {
  if (!value.trim()) throw new Error(`listByLabel: refusing an empty value for ${label}`);
  const list = await call('list', (s) => docker.listContainers(withSignal({ all: true, filters: { label: [`${label}=${value}`] } }, s)));
  return list.map((c) => ({ id: c.Id, state: c.State, labels: c.Labels }));
}

/** Force-removes the given containers (ours by construction), `limit` at a time; gone or already going counts as removed. */
export async function removeContainers(ids: readonly string[], limit = 8): Promise<void> {
  await mapLimit(ids, limit, async (id) => {
    try {
      await call('remove', (s) => docker.getContainer(id).remove(withSignal({ force: true, v: true }, s)), T.remove);
    } catch (e) {
      const msg = (e as Error).message;
      if (!/no such container|is already in progress|NotFound|not found/i.test(msg)) throw e;
    }
  });
}

/** Removes every container carrying label=value and waits until the engine lists none. Returns how many there were. */
export async function cleanupByLabel(label: string, value: string, timeoutMs = 120_000): Promise<number> {
  const first = await listByLabel(label, value);
  if (first.length === 0) return 0;
  await removeContainers(first.map((c) => c.id));
  await until(`containers ${label}=${value} to be gone`, timeoutMs, 200, async () => {
    const left = await listByLabel(label, value);
    if (left.length === 0) return true;
    await removeContainers(left.filter((c) => c.state !== 'removing').map((c) => c.id));
    return undefined;
  });
  return first.length;
}

type Getter = (opts: { abortSignal: AbortSignal }) => Promise<Record<string, unknown>>;
/** GET /info, with a deadline (dockerode takes the signal; its typings do not say so). */
export const dockerInfo = (): Promise<Record<string, unknown>> => call('info', (s) => (docker.info as unknown as Getter).call(docker, { abortSignal: s }));
const dockerVersion = (): Promise<Record<string, unknown>> => call('version', (s) => (docker.version as unknown as Getter).call(docker, { abortSignal: s }));

export async function engineInfo(): Promise<{ serverVersion: string; apiVersion: string; swarmState: string; ncpu: number; kernel: string; storageDriver: string }> {
  const [info, version] = await Promise.all([dockerInfo(), dockerVersion()]);
  const swarm = (info['Swarm'] ?? {}) as { LocalNodeState?: string };
  return {
    serverVersion: String(version['Version'] ?? info['ServerVersion']),
    apiVersion: String(version['ApiVersion'] ?? ''),
    swarmState: swarm.LocalNodeState ?? 'unknown',
    ncpu: Number(info['NCPU'] ?? 0),
    kernel: String(info['KernelVersion'] ?? ''),
    storageDriver: String(info['Driver'] ?? ''),
  };
}

/** Engine timestamps ("2026-01-02T03:04:05.123456789Z") in epoch ms with sub-ms precision. */
export function engineTimeMs(iso: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(iso);
  if (!m) return Date.parse(iso);
  const whole = Date.parse(`${m[1]}${m[3]}`);
  const frac = m[2] ? Number(`0${m[2]}`) * 1000 : 0;
  return whole + frac;
}
