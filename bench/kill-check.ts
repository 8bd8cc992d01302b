// A quick look at kill -> running alone, without the whole bench: one `berth
// controller` child with N Instances converged and N raw containers (restart
// policy always), then K kills of each, alternating berth and raw so a load
// change on a shared machine hits both alike. The figure is the bench's own:
// the engine's StartedAt of the restart minus its FinishedAt of the death.
// Every container is removed by its label at the end.
//   npm run build && node dist/bench/kill-check.js
// KILL_N (10), KILL_SAMPLES (10), KILL_HOW (kill | exec). BENCH_CONTROLLER_NODE_ARGS / BENCH_CONTROLLER_LOG as in the bench.
import { randomBytes } from 'node:crypto';
import { LABEL } from '../src/runtime/types.js';
import { BerthController } from './berth.js';
import { cleanupByLabel, RUN_LABEL } from './engine.js';
import { cpuMeter } from './proc.js';
import { RawEngine, type KillSample } from './raw.js';
import { median, quantile } from './stats.js';

const n = Number(process.env['KILL_N'] ?? 10);
const samples = Math.min(n, Number(process.env['KILL_SAMPLES'] ?? 10));
const runId = randomBytes(4).toString('hex');
// KILL_HOW=exec: berth's containers die as the raw engine's do (sleep SIGKILLed by an exec), not by the Engine API's kill.
const how = process.env['KILL_HOW'] === 'exec' ? 'exec' : 'kill';

const line = (who: string, s: KillSample[]): string => {
  const ms = s.map((x) => x.ms);
  return `${who}: kill->running median ${median(ms).toFixed(0)} ms, p90 ${quantile(ms, 0.9).toFixed(0)} ms (each: ${ms.map((m) => m.toFixed(0)).join(' ')})`;
};

async function main(): Promise<void> {
  const c = new BerthController({ runId });
  const raw = new RawEngine({ runId });
  try {
    await c.start();
    console.log(`berth converged N=${n} in ${(await c.converge(n, 'v1', 240_000)).toFixed(1)} s`);
    console.log(`raw converged N=${n} in ${(await raw.converge(n, 'v1', 8)).toFixed(1)} s`);
    const berth: KillSample[] = [];
    const rawSamples: KillSample[] = [];
    const meter = cpuMeter(undefined);
    for (let i = 0; i < samples; i++) {
      berth.push(await c.killSample(i, 15_000, how));
      rawSamples.push(await raw.killSample(i, 15_000));
    }
    const load = meter();
    console.log(line('berth', berth));
    console.log(line('raw  ', rawSamples));
    // KILL_DUMP=1: the controller's log (BENCH_CONTROLLER_LOG=debug shows each engine event and plan, timed).
    if (process.env['KILL_DUMP'] === '1') console.log(c.output(100_000));
    console.log(`berth - raw (medians): ${(median(berth.map((x) => x.ms)) - median(rawSamples.map((x) => x.ms))).toFixed(0)} ms; other load ${load.foreignPercent.toFixed(0)} % of all cores`);
  } catch (e) {
    console.error(`kill check failed: ${(e as Error).message}\n${c.output()}`);
    process.exitCode = 1;
  } finally {
    await c.stop().catch(() => undefined);
    await raw.removeAll().catch(() => undefined);
    await cleanupByLabel(LABEL.managedBy, c.controllerId).catch((e: Error) => console.error(`cleanup: ${e.message}`));
    await cleanupByLabel(LABEL.managedBy, raw.managedBy).catch(() => undefined);
    await cleanupByLabel(RUN_LABEL, runId).catch(() => undefined);
  }
}

void main().then(() => process.exit());
