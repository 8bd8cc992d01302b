// A quick look at an idle controller, without the whole bench: one `berth
// controller` child (the bench's own BerthController), N Instances converged,
// then CPU and RSS over a window, and where the memory is (the controller's
// /metrics: heap, external, array buffers). Every container is removed by the
// controller's label at the end.
//   npm run build && node dist/bench/idle-check.js
// IDLE_N (100), IDLE_SECONDS (20), IDLE_SETTLE_SECONDS (5): how long after
// converge before measuring (the first usage samples land in that time).
// BENCH_CONTROLLER_NODE_ARGS passes node flags to the controller (--cpu-prof).
import { randomBytes } from 'node:crypto';
import { LABEL } from '../src/runtime/types.js';
import { BerthController } from './berth.js';
import { cleanupByLabel, RUN_LABEL, sleep } from './engine.js';

const n = Number(process.env['IDLE_N'] ?? 100);
const seconds = Number(process.env['IDLE_SECONDS'] ?? 20);
const settleSeconds = Number(process.env['IDLE_SETTLE_SECONDS'] ?? 5);
const runId = randomBytes(4).toString('hex');
const mib = (b: number | undefined): string => (b === undefined ? '?' : (b / 1024 / 1024).toFixed(1));

async function main(): Promise<void> {
  const c = new BerthController({ runId });
  try {
    await c.start();
    const fresh = await c.idle(3);
    console.log(`fresh controller (no Instances): CPU ${fresh.cpuPercent.toFixed(2)} % of a core, RSS ${fresh.rssMiBMean.toFixed(1)} MiB`);
    const s = await c.converge(n, 'v1', 240_000);
    console.log(`converged N=${n} in ${s.toFixed(1)} s`);
    await sleep(settleSeconds * 1000);
    const before = await c.scrape();
    const idle = await c.idle(seconds);
    const after = await c.scrape();
    const value = (m: typeof after, name: string): number | undefined => m.get(name);
    console.log(`idle N=${n} over ${idle.seconds.toFixed(1)} s: CPU ${idle.cpuPercent.toFixed(2)} % of a core, RSS mean ${idle.rssMiBMean.toFixed(1)} MiB (max ${idle.rssMiBMax.toFixed(1)})`);
    console.log(
      `heap used ${mib(value(after, 'nodejs_heap_size_used_bytes'))} MiB of ${mib(value(after, 'nodejs_heap_size_total_bytes'))}, external ${mib(value(after, 'nodejs_external_memory_bytes'))} MiB`,
    );
    const adds = (m: typeof after): number => [...m].filter(([k]) => k.startsWith('workqueue_adds_total')).reduce((a, [, v]) => a + v, 0);
    console.log(`reconciles queued while idle: ${adds(after) - adds(before)}`);
    const gc = (m: typeof after, kind: string, what: 'count' | 'sum'): number =>
      [...m].filter(([k]) => k.startsWith(`nodejs_gc_duration_seconds_${what}`) && k.includes(`kind="${kind}"`)).reduce((a, [, v]) => a + v, 0);
    for (const kind of ['minor', 'major', 'incremental']) {
      const count = gc(after, kind, 'count') - gc(before, kind, 'count');
      const ms = (gc(after, kind, 'sum') - gc(before, kind, 'sum')) * 1000;
      console.log(`GC ${kind} while idle: ${count} (${ms.toFixed(1)} ms)`);
    }
  } catch (e) {
    console.error(`idle check failed: ${(e as Error).message}\n${c.output()}`);
    process.exitCode = 1;
  } finally {
    await c.stop().catch(() => undefined);
    await cleanupByLabel(LABEL.managedBy, c.controllerId).catch((e: Error) => console.error(`cleanup: ${e.message}`));
    await cleanupByLabel(RUN_LABEL, runId).catch(() => undefined);
  }
}

void main().then(() => process.exit());
