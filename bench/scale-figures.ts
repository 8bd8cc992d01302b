// What one scale simulation reports (bench/scale-worker.ts), the issue's
// targets for it, and the verdicts: pure, so the report and its tests share it.

export interface ScaleFigures {
  instances: number;
  pools: number;
  poolMinReady: number;
  /** Containers on the memory runtime once converged (Instances + pool members). */
  containers: number;
  /** Putting every resource in the store (what a source does), ms. */
  applyMs: number;
  /** From the first resource in the store until every Instance is Ready and every pool at minReady, ms. */
  convergeMs: number;
  reconciles: number;
  reconcilesPerSecond: number;
  /** Controller process CPU during converge (user + system). */
  cpuSeconds: number;
  baseHeapMiB: number;
  peakHeapMiB: number;
  peakRssMiB: number;
  /** After converge and a GC. */
  settledHeapMiB: number;
  settledRssMiB: number;
  /** planInstance over every Instance of the converged world, one pass (median of 7, after 3 unmeasured), ms. */
  planAllMs: number;
  planPerObjectUs: number;
  /** Plans with actions in those passes: 0 when converged. */
  planActing: number;
  /** One periodic resync of the converged world (one list, each key's planner on the snapshot), ms. */
  resyncMs: number;
  resyncEnqueued: number;
  gcExposed: boolean;
}

export interface ScaleTarget {
  text: string;
  /** The size it applies to. */
  instances: number;
  value: (f: ScaleFigures) => number;
  max: number;
  unit: string;
}

/** The targets for the simulation. */
export const SCALE_TARGETS: ScaleTarget[] = [
  { text: 'plan() over 10,000 Instances', instances: 10_000, value: (f) => f.planAllMs, max: 20, unit: 'ms' },
  { text: '10,000 Instances converge on the in-memory runtime', instances: 10_000, value: (f) => f.convergeMs / 1000, max: 10, unit: 's' },
  { text: 'heap while 10,000 Instances converge (peak)', instances: 10_000, value: (f) => f.peakHeapMiB, max: 300, unit: 'MiB' },
];

export interface ScaleVerdict {
  target: string;
  value: number | undefined;
  max: number;
  unit: string;
  met: boolean | undefined;
}

/** Each target against the run of its size; undefined where that size did not run or failed. */
export function scaleVerdicts(runs: ReadonlyArray<ScaleFigures | undefined>): ScaleVerdict[] {
  return SCALE_TARGETS.map((t) => {
    const run = runs.find((r) => r?.instances === t.instances);
    const value = run ? t.value(run) : undefined;
    return { target: t.text, value, max: t.max, unit: t.unit, met: value === undefined ? undefined : value <= t.max };
  });
}

/**
 * How far one controller goes, from the figures: reconciles per second and
 * heap per Instance at the largest size that converged, and so what a fleet
 * would be split by next. Text for results.md.
 */
export function headroomText(runs: ReadonlyArray<ScaleFigures | undefined>): string {
  const ok = runs.filter((r): r is ScaleFigures => r !== undefined).sort((a, b) => b.instances - a.instances);
  const big = ok[0];
  if (!big) return 'No simulation converged in this run, so nothing is said here about how far one controller goes.';
  const small = ok.find((r) => r.instances < big.instances);
  const heapPerInstanceKiB = small ? ((big.settledHeapMiB - small.settledHeapMiB) / (big.instances - small.instances)) * 1024 : (big.settledHeapMiB / big.instances) * 1024;
  const heapBudgetMiB = 1024;
  const instancesIn1GiB = Math.floor((heapBudgetMiB * 1024) / Math.max(heapPerInstanceKiB, 0.001));
  const resyncPer10k = (big.resyncMs / big.instances) * 10_000;
  return [
    `How far one controller goes: at ${big.instances.toLocaleString('en-US')} Instances and ${big.pools} pools (${big.containers.toLocaleString('en-US')} containers) on the in-memory runtime it converged in ${(big.convergeMs / 1000).toFixed(1)} s at ${big.reconcilesPerSecond.toFixed(0)} reconciles/s,`,
    `with a peak heap of ${big.peakHeapMiB.toFixed(0)} MiB and ${heapPerInstanceKiB.toFixed(1)} KiB of settled heap per Instance (${instancesIn1GiB.toLocaleString('en-US')} Instances to a GiB of heap);`,
    `a periodic resync of the converged world takes ${big.resyncMs.toFixed(0)} ms (${resyncPer10k.toFixed(0)} ms per 10,000 keys) and plans in ${big.planPerObjectUs.toFixed(1)} µs per Instance.`,
    'The controller itself is not the limit there: a real engine starts a container in about 100 ms (a 2-core Docker host converges 100 in ~40 s), so one engine saturates long before one controller does, and a Kubernetes cluster\'s apiserver (list and watch of every Pod, status writes at a client QPS limit) before either.',
    'What would be sharded next: by namespace first (a controller per namespace set: `--namespace` exists for the Kubernetes source; the store, queue and resync are per process, so nothing is shared), then by controller id (each engine or node pool its own `--controller-id`, which already partitions ownership by label), and by pool last (a pool\'s claims must be decided in one place, so a pool never spans controllers).',
  ].join(' ');
}
