// PodMetrics (metrics.k8s.io, served by metrics-server when installed) as
// ContainerUsage, in the units the Docker runtime reports: cpuPercent of one
// core (200 = two cores busy) and memory bytes (the working set, which is what
// metrics-server reports and what `docker stats` approximates). No pids.
import type { ContainerUsage } from '../types.js';
import { CONTAINER_NAME } from './pod-spec.js';

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity ("250m", "12345678n", "64Mi", "1.5", "1e3") as a number; undefined when it is none. */
export function parseQuantity(q: unknown): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined;
  if (typeof q !== 'string') return undefined;
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(q.trim());
  if (!m) return undefined;
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  const factor = SUFFIX[m[3] ?? ''];
  return factor === undefined ? undefined : base * factor;
}

export interface PodMetricsDocument {
  containers?: Array<{ name?: string; usage?: Record<string, unknown> }>;
}

export function usageFromPodMetrics(doc: PodMetricsDocument): ContainerUsage {
  const containers = doc.containers ?? [];
  const main = containers.find((c) => c.name === CONTAINER_NAME) ?? containers[0];
  const out: ContainerUsage = {};
  const cores = parseQuantity(main?.usage?.['cpu']);
  if (cores !== undefined) out.cpuPercent = Math.round(cores * 100 * 100) / 100;
  const memory = parseQuantity(main?.usage?.['memory']);
  if (memory !== undefined) out.memoryBytes = Math.round(memory);
  return out;
}
