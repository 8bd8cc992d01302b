// What the status page shows beside the resources, as a watch:
// GET /ui/overview?watch=true streams one snapshot line, then another each time
// it changes (checked once a second, in process: the page never polls).
// Controller health (ready, leader or follower, the engine as the controller
// last saw it, work queue depth) and the claim-wait histogram per pool, read
// from the same registry /metrics serves.
import type { Registry } from 'prom-client';
import type { ResourceStore } from '../controller/resource-store.js';
import type { ApiDeps, RequestContext } from './context.js';
import { isTrue } from './context.js';
import { methodNotAllowed, sendJson } from './status.js';
import { openWatch } from './stream.js';

export type ControllerRole = 'leader' | 'follower' | 'standalone';

export interface ClaimWaitHistogram {
  namespace?: string;
  pool: string;
  /** Cumulative counts per upper bound in seconds, as Prometheus keeps them; +Inf last. */
  buckets: Array<{ le: number | '+Inf'; count: number }>;
  count: number;
  sumSeconds: number;
}

export interface Overview {
  time: string;
  ready: boolean;
  role: ControllerRole;
  engine: { reachable: boolean; message?: string };
  queueDepth: number;
  claimWait: ClaimWaitHistogram[];
}

const OVERVIEW_INTERVAL_MS = 1_000;

/** The engine as the controller last saw it: unreachable while any resource is Degraded with EngineUnavailable. */
export function engineHealth(store: ResourceStore): Overview['engine'] {
  for (const kind of ['Instance', 'InstancePool'] as const) {
    for (const e of store.list(kind)) {
      const c = (e.object.status as { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } | undefined)?.conditions?.find(
        (x) => x.type === 'Degraded' && x.status === 'True' && x.reason === 'EngineUnavailable',
      );
      if (c) return { reachable: false, message: c.message };
    }
  }
  return { reachable: true };
}

export interface MetricJson {
  name: string;
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

export async function readOverview(deps: Pick<ApiDeps, 'store' | 'registry' | 'isReady' | 'role'>): Promise<Overview> {
  const metrics = (await deps.registry.getMetricsAsJSON()) as unknown as MetricJson[];
  const depth = metrics.find((m) => m.name === 'workqueue_depth')?.values.reduce((n, v) => n + v.value, 0) ?? 0;
  return {
    time: new Date().toISOString(),
    ready: deps.isReady(),
    role: deps.role?.() ?? 'standalone',
    engine: engineHealth(deps.store),
    queueDepth: depth,
    claimWait: claimWaitHistograms(metrics),
  };
}

export function claimWaitHistograms(metrics: readonly MetricJson[]): ClaimWaitHistogram[] {
  const h = metrics.find((m) => m.name === 'berth_claim_wait_seconds');
  const byPool = new Map<string, ClaimWaitHistogram>();
  for (const v of h?.values ?? []) {
    const pool = String(v.labels['pool'] ?? '');
    const entry = byPool.get(pool) ?? { pool, buckets: [], count: 0, sumSeconds: 0 };
    byPool.set(pool, entry);
    if (v.metricName?.endsWith('_bucket')) {
      const le = v.labels['le'];
      entry.buckets.push({ le: le === '+Inf' ? '+Inf' : Number(le), count: v.value });
    } else if (v.metricName?.endsWith('_count')) entry.count = v.value;
    else if (v.metricName?.endsWith('_sum')) entry.sumSeconds = v.value;
  }
  return [...byPool.values()].sort((a, b) => a.pool.localeCompare(b.pool));
}

export async function handleOverview(ctx: RequestContext, deps: ApiDeps & { registry: Registry; store: ResourceStore }): Promise<void> {
  if (ctx.method !== 'GET') throw methodNotAllowed(ctx.method, ['GET']);
  if (!isTrue(ctx.url.searchParams.get('watch'))) return sendJson(ctx.res, 200, await readOverview(deps));
  const stream = openWatch(ctx);
  let last = '';
  const tick = async (): Promise<void> => {
    const o = await readOverview(deps);
    const { time: _time, ...comparable } = o;
    const text = JSON.stringify(comparable);
    if (text === last) return;
    const first = last === '';
    last = text;
    stream.send(first ? 'ADDED' : 'MODIFIED', o);
  };
  await tick();
  const timer = setInterval(() => void tick().catch(() => undefined), OVERVIEW_INTERVAL_MS);
  try {
    await stream.done;
  } finally {
    clearInterval(timer);
  }
}
