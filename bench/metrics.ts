// Just enough of the Prometheus text format to see where the controller's time
// goes: histogram sums and counts (per label set) and counters, diffed between
// two scrapes taken around a scenario.

export type Scrape = Map<string, number>;

/** name{labels} -> value, for every sample line (buckets dropped: sums and counts are enough here). */
export function parseMetrics(text: string): Scrape {
  const out: Scrape = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1]!.endsWith('_bucket')) continue;
    out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

export interface OpFigure {
  /** e.g. berth_runtime_operation_duration_seconds{op="create",result="success"} */
  series: string;
  count: number;
  totalSeconds: number;
  meanMs: number;
}

/** For every histogram in `prefixes`: how many observations and how much time fell between the two scrapes. */
export function histogramDeltas(before: Scrape, after: Scrape, prefixes: string[]): OpFigure[] {
  const out: OpFigure[] = [];
  for (const [key, sum] of after) {
    const m = /^(.*)_sum(\{.*\})?$/.exec(key);
    if (!m || !prefixes.some((p) => m[1] === p)) continue;
    const labels = m[2] ?? '';
    const count = (after.get(`${m[1]}_count${labels}`) ?? 0) - (before.get(`${m[1]}_count${labels}`) ?? 0);
    const total = sum - (before.get(key) ?? 0);
    if (count <= 0) continue;
    out.push({ series: `${m[1]}${labels}`, count, totalSeconds: total, meanMs: (total / count) * 1000 });
  }
  return out.sort((a, b) => a.series.localeCompare(b.series));
}

/** Counter deltas for names starting with one of `prefixes`. */
export function counterDeltas(before: Scrape, after: Scrape, prefixes: string[]): Array<{ series: string; delta: number }> {
  const out: Array<{ series: string; delta: number }> = [];
  for (const [key, v] of after) {
    if (!prefixes.some((p) => key.startsWith(p))) continue;
    const d = v - (before.get(key) ?? 0);
    if (d !== 0) out.push({ series: key, delta: d });
  }
  return out.sort((a, b) => a.series.localeCompare(b.series));
}

export const HISTOGRAMS = [
  'berth_runtime_operation_duration_seconds',
  'controller_runtime_reconcile_time_seconds',
  'workqueue_queue_duration_seconds',
  'workqueue_work_duration_seconds',
];
export const COUNTERS = ['controller_runtime_reconcile_total', 'controller_runtime_reconcile_errors_total', 'workqueue_adds_total', 'workqueue_retries_total'];
