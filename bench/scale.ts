// The scale simulation section (BENCH_ONLY=scale): berth's controller on the
// in-memory runtime at 1,000 and 10,000 Instances with 100 pools, each size in
// a process of its own (bench/scale-worker.ts) so heap and RSS are its alone.
// No engine is touched. BENCH_SCALE_SIZES (1000,10000), BENCH_SCALE_POOLS
// (100), BENCH_SCALE_MIN_READY (5 members per pool).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CONTROLLER_NODE_FLAGS } from './controller-flags.js';
import type { ScaleFigures } from './scale-figures.js';
import { errorText } from './stats.js';

const WORKER = fileURLToPath(new URL('./scale-worker.js', import.meta.url));
const RUN_TIMEOUT_MS = 10 * 60_000;

export interface ScaleConfig {
  sizes: number[];
  pools: number;
  minReady: number;
}

export interface ScaleRun {
  instances: number;
  figures?: ScaleFigures;
  error?: string;
}

export interface ScaleReport {
  config: ScaleConfig;
  runs: ScaleRun[];
}

function runOne(instances: number, cfg: ScaleConfig): Promise<ScaleFigures> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...CONTROLLER_NODE_FLAGS, '--expose-gc', WORKER, String(instances), String(cfg.pools), String(cfg.minReady)],
      { timeout: RUN_TIMEOUT_MS, maxBuffer: 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${err.message.split('\n')[0]}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`, { cause: err }));
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as ScaleFigures);
        } catch (e) {
          reject(new Error(`scale worker printed no figures: ${stdout.slice(-300)}`, { cause: e }));
        }
      },
    );
  });
}

export async function runScale(cfg: ScaleConfig, log: (s: string) => void): Promise<ScaleReport> {
  const runs: ScaleRun[] = [];
  for (const n of cfg.sizes) {
    log(`scale: ${n} Instances, ${cfg.pools} pools (minReady ${cfg.minReady}) on the in-memory runtime`);
    try {
      const f = await runOne(n, cfg);
      runs.push({ instances: n, figures: f });
      log(`scale N=${n}: converged in ${(f.convergeMs / 1000).toFixed(2)} s (${f.cpuSeconds.toFixed(1)} s CPU), ${f.reconcilesPerSecond.toFixed(0)} reconciles/s, peak heap ${f.peakHeapMiB.toFixed(0)} MiB, plan ${f.planAllMs.toFixed(1)} ms for all`);
    } catch (e) {
      runs.push({ instances: n, error: errorText(e) });
      log(`scale N=${n} FAILED: ${errorText(e)}`);
    }
  }
  return { config: cfg, runs };
}
