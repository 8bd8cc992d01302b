// One scale simulation, in a process of its own (a fresh heap per size):
// berth's real Manager (store, queue, workers, reconcilers, supervisor and
// its lifecycle actors) on the in-memory runtime, N Instances and P pools
// applied at once, until every Instance is Ready and every pool has its
// minimum ready. Then the pure planner alone over the converged world, and a
// periodic resync of it. Prints one JSON line (ScaleFigures) on stdout.
//   node --expose-gc dist/bench/scale-worker.js <instances> <pools> <minReady>
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { pino } from 'pino';
import { Manager } from '../src/manager/manager.js';
import { containerNameFor, desiredInstance } from '../src/reconcile/desired.js';
import { planInstance } from '../src/reconcile/plan-instance.js';
import { MemoryRuntime } from '../src/runtime/memory/memory-runtime.js';
import type { ObservedContainer } from '../src/runtime/types.js';
import { DEFAULT_POLICY } from '../src/spec/policy.js';
import { InstancePoolSchema, InstanceSchema, keyString, type Instance, type Resource } from '../src/spec/schema.js';
import type { InstanceStatus } from '../src/spec/status.js';
import type { ScaleFigures } from './scale-figures.js';
import { IMAGE } from './workload.js';

const CONTROLLER_ID = 'berth-scale';
const NAMESPACES = 10;
const CONVERGE_TIMEOUT_MS = 300_000;

const [instances, pools, minReady] = process.argv.slice(2, 5).map(Number) as [number, number, number];
const gc = (globalThis as { gc?: () => void }).gc;
const MiB = 1024 * 1024;

const instanceResource = (i: number): Resource =>
  InstanceSchema.parse({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Instance',
    metadata: { name: `inst-${String(i).padStart(5, '0')}`, namespace: `ns-${i % NAMESPACES}` },
    spec: { image: IMAGE, command: ['sh', '-c', 'sleep 3600'], env: [{ name: 'BENCH_CONFIG', value: 'v1' }] },
  });

const poolResource = (p: number): Resource =>
  InstancePoolSchema.parse({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'InstancePool',
    metadata: { name: `pool-${String(p).padStart(3, '0')}`, namespace: `ns-${p % NAMESPACES}` },
    spec: { minReady, template: { image: IMAGE, command: ['sh', '-c', 'sleep 3600'] } },
  });

const isReady = (r: { object: { metadata: { generation: number }; status?: unknown } }): boolean => {
  const s = r.object.status as InstanceStatus | undefined;
  return !!s?.containerId && s.observedGeneration === r.object.metadata.generation && s.conditions.some((c) => c.type === 'Ready' && c.status === 'True');
};

/** Peak heap and RSS, sampled every 50 ms. */
function memoryPeaks(): { stop(): { heapMiB: number; rssMiB: number } } {
  let heap = 0;
  let rss = 0;
  const sample = (): void => {
    const u = process.memoryUsage();
    heap = Math.max(heap, u.heapUsed);
    rss = Math.max(rss, u.rss);
  };
  const timer = setInterval(sample, 50);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return { heapMiB: heap / MiB, rssMiB: rss / MiB };
    },
  };
}

async function main(): Promise<ScaleFigures> {
  const stateDir = await mkdtemp(join(tmpdir(), 'berth-scale-'));
  const runtime = new MemoryRuntime();
  const manager = new Manager({
    controllerId: CONTROLLER_ID,
    runtime,
    policy: DEFAULT_POLICY,
    stateDir,
    specDirs: [],
    // The controller's defaults (berth controller --workers 8 --max-concurrent-ops 16).
    workers: 8,
    maxConcurrentOps: 16,
    resyncMs: 300_000,
    logger: pino({ level: 'silent' }),
  });
  try {
    await manager.start();
    gc?.();
    const baseHeapMiB = process.memoryUsage().heapUsed / MiB;
    const resources = [...Array.from({ length: instances }, (_, i) => instanceResource(i)), ...Array.from({ length: pools }, (_, p) => poolResource(p))];
    const peaks = memoryPeaks();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (const r of resources) manager.store.apply(r, { source: 'api' });
    const applyMs = performance.now() - t0;
    // Unsorted (each, not list) and every 100 ms: the check runs beside the controller, which lets the event loop
    // turn every few ms, and a sorted list of 10,000 every 20 ms cost it a third of its CPU.
    const converged = (): boolean => {
      for (const e of manager.store.each('Instance')) if (!isReady(e)) return false;
      for (const e of manager.store.each('InstancePool')) {
        const s = e.object.status as { ready?: number; observedGeneration?: number } | undefined;
        if ((s?.ready ?? 0) < minReady || s?.observedGeneration !== e.object.metadata.generation) return false;
      }
      return true;
    };
    while (!converged()) {
      if (performance.now() - t0 > CONVERGE_TIMEOUT_MS) throw new Error(`not converged within ${CONVERGE_TIMEOUT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const convergeMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const peak = peaks.stop();
    const reconciles = (await manager.metrics.reconcileTotal.get()).values.reduce((a, v) => a + v.value, 0);
    const containers = runtime.snapshot().length;

    // Let the last status writes and actors settle, then the heap that stays.
    await new Promise((r) => setTimeout(r, 500));
    gc?.();
    const settled = process.memoryUsage();
    // SCALE_HEAP_SNAPSHOT=<dir>: a heap snapshot of the settled world there, to see what each Instance keeps.
    if (process.env['SCALE_HEAP_SNAPSHOT']) process.stderr.write(`heap snapshot: ${writeHeapSnapshot(join(process.env['SCALE_HEAP_SNAPSHOT'], `scale-${instances}.heapsnapshot`))}\n`);

    // The pure planner over the converged world: one planInstance per Instance, each with its own containers (as a resync groups them).
    const observed = await runtime.list({ managedBy: CONTROLLER_ID });
    const byOwner = new Map<string, ObservedContainer[]>();
    for (const c of observed) {
      const k = keyString({ kind: c.kind, namespace: c.namespace, name: c.owner });
      const list = byOwner.get(k);
      if (list) list.push(c);
      else byOwner.set(k, [c]);
    }
    const inputs = manager.store.list('Instance').map((e) => {
      const key = { kind: 'Instance' as const, namespace: e.object.metadata.namespace, name: e.object.metadata.name };
      return {
        controllerId: CONTROLLER_ID,
        desired: desiredInstance(e.resource as Instance, DEFAULT_POLICY),
        key,
        observed: byOwner.get(keyString(key)) ?? [],
        memory: { restartCount: 0 },
        now: Date.now(),
        containerName: containerNameFor(key),
        pruneDisabled: false,
      };
    });
    const planPasses: number[] = [];
    let acting = 0;
    // 3 passes unmeasured first: the figure is the planner's steady state (compiled), as in a running controller.
    for (let pass = 0; pass < 3 + 7; pass++) {
      const t = performance.now();
      for (const input of inputs) if (planInstance(input).actions.length) acting++;
      if (pass >= 3) planPasses.push(performance.now() - t);
    }
    planPasses.sort((a, b) => a - b);
    const planAllMs = planPasses[Math.floor(planPasses.length / 2)]!;

    // A periodic resync of the converged world: one list, then each key's planner on the snapshot.
    const adds0 = await queueAdds(manager);
    const r0 = performance.now();
    await manager.resync(false);
    const resyncMs = performance.now() - r0;
    const resyncEnqueued = (await queueAdds(manager)) - adds0;

    return {
      instances,
      pools,
      poolMinReady: minReady,
      containers,
      applyMs,
      convergeMs,
      reconciles,
      reconcilesPerSecond: reconciles / (convergeMs / 1000),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      baseHeapMiB,
      peakHeapMiB: peak.heapMiB,
      peakRssMiB: peak.rssMiB,
      settledHeapMiB: settled.heapUsed / MiB,
      settledRssMiB: settled.rss / MiB,
      planAllMs,
      planPerObjectUs: (planAllMs / inputs.length) * 1000,
      planActing: acting,
      resyncMs,
      resyncEnqueued,
      gcExposed: gc !== undefined,
    };
  } finally {
    await manager.stop().catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
  }
}

async function queueAdds(m: Manager): Promise<number> {
  const metric = m.metrics.registry.getSingleMetric('workqueue_adds_total');
  return metric ? (await metric.get()).values.reduce((a, v) => a + v.value, 0) : 0;
}

main().then(
  (figures) => {
    process.stdout.write(JSON.stringify(figures) + '\n');
    process.exit(0);
  },
  (e: unknown) => {
    process.stderr.write(`scale simulation failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
