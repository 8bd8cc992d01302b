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

/** One histogram's cumulative buckets (le in seconds), sum and count: enough to read quantiles off /metrics. */
export interface Buckets {
  buckets: Array<{ le: number; count: number }>;
  sum: number;
  count: number;
}

function labelsOf(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const m of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

/**
 * The histogram `name` from a /metrics text, summed over every series whose
 * labels include `match` (le aside), e.g. {verb: 'apply', resource: 'instanceclaims'}.
 */
export function bucketsOf(text: string, name: string, match: Record<string, string> = {}): Buckets {
  const byLe = new Map<number, number>();
  let sum = 0;
  let count = 0;
  const matches = (labels: Record<string, string>): boolean => Object.entries(match).every(([k, v]) => labels[k] === v);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = labelsOf(m[2]);
    if (!matches(labels)) continue;
    const value = Number(m[3]);
    if (m[1] === `${name}_bucket`) {
      const le = labels['le'] === '+Inf' ? Infinity : Number(labels['le']);
      byLe.set(le, (byLe.get(le) ?? 0) + value);
    } else if (m[1] === `${name}_sum`) sum += value;
    else if (m[1] === `${name}_count`) count += value;
  }
  return { buckets: [...byLe.entries()].sort((a, b) => a[0] - b[0]).map(([le, c]) => ({ le, count: c })), sum, count };
}

/** after - before, bucket by bucket. */
export function bucketsDelta(before: Buckets, after: Buckets): Buckets {
  const prev = new Map(before.buckets.map((b) => [b.le, b.count]));
  return { buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (prev.get(b.le) ?? 0) })), sum: after.sum - before.sum, count: after.count - before.count };
}

/** The upper bound (seconds) of the bucket holding the q-quantile observation: "at most this long". */
export function bucketQuantile(h: Buckets, q: number): number {
  if (h.count <= 0) return NaN;
  const rank = Math.max(1, Math.ceil(q * h.count));
  for (const b of h.buckets) if (b.count >= rank) return b.le;
  return Infinity;
}

/** "≤1 ms: 12, ≤2 ms: 80, ..." for the buckets that gained observations (non-cumulative counts). */
export function bucketText(h: Buckets): string {
  const parts: string[] = [];
  let prev = 0;
  for (const b of h.buckets) {
    const n = b.count - prev;
    prev = b.count;
    if (n > 0) parts.push(`${Number.isFinite(b.le) ? `≤${+(b.le * 1000).toFixed(1)} ms` : '>last'}: ${n}`);
  }
  return parts.join(', ');
}
