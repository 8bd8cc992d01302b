// The results: a console table, bench/results.md (quoted by the README) and
// bench/results.json (everything, including where berth's time went).
import { mkdir, writeFile } from 'node:fs/promises';
import type { PhaseFigures } from './berth.js';
import type { ClaimRow, ClaimsReport } from './claims.js';
import type { CpuFigures } from './proc.js';
import { headroomText, type ScaleFigures } from './scale-figures.js';
import type { ScaleReport } from './scale.js';
import { round } from './stats.js';
import { rowMet, targetLines, targetText, type Target, type TargetLine } from './targets.js';

export type System = 'berth' | 'raw' | 'swarm';

export interface Cell {
  value?: number;
  /** Why there is no value: a failure (timed out, engine error) or "n/a". */
  error?: string;
  /** Raw samples and extra figures for results.json. */
  detail?: unknown;
  /** CPU other people's processes used while this figure was measured, % of all cores. */
  otherLoadPercent?: number;
  /** The controller's, the engine's and the machine's CPU over the phase (berth's timed phases). */
  cpu?: CpuFigures;
}

export interface Row {
  scenario: string;
  unit: string;
  n: number;
  /** The issue's target for this figure: a ratio to raw, raw + a margin, or an absolute bound. */
  target?: Target;
  berth: Cell;
  raw: Cell;
  swarm: Cell;
}

export interface Meta {
  date: string;
  command: string;
  engine: string;
  apiVersion: string;
  kernel: string;
  storageDriver: string;
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  berthVersion: string;
  gitCommit: string;
  runId: string;
  /** What ran: instances (converge, replace, kill, idle) and/or claims. */
  sections: string[];
  sizes: number[];
  rawParallelism: number;
  rawCalibration: Array<{ parallelism: number; n: number; seconds?: number; error?: string }>;
  swarm: string;
  swarmUpdateOrder: string;
  killSamples: number;
  idleSeconds: number;
  containersCreated: number;
  wallSeconds: number;
  /** 1, 5 and 15 minute load averages. */
  loadAverage: { start: number[]; end: number[] };
}

export interface BerthPhase {
  n: number;
  phase: string;
  figures: PhaseFigures;
}

export interface RawPhase {
  n: number;
  phase: string;
  parallelism: number;
  opMs: Record<string, { count: number; meanMs: number; p90Ms: number }>;
  cpu: CpuFigures;
}

export interface SwarmPhase {
  n: number;
  phase: string;
  cpu: CpuFigures;
}

const fmt = (c: Cell, digits: number): string => (c.value !== undefined ? c.value.toFixed(digits) : c.error ? (c.error === 'n/a' ? 'n/a' : 'failed') : '-');

function ratio(a: Cell, b: Cell): string {
  if (a.value === undefined || b.value === undefined || b.value === 0) return '-';
  return `${(a.value / b.value).toFixed(2)}x`;
}

function verdict(r: Row): string {
  const met = rowMet(r);
  if (met === undefined) return '';
  return `${met ? 'met' : 'MISSED'} (${targetText(r.target!, r.unit)})`;
}

const digitsFor = (unit: string): number => (unit === 's' ? 2 : unit === 'ms' ? 0 : 1);

export function tableRows(rows: Row[]): string[][] {
  const head = ['scenario', 'N', 'berth', 'raw engine', 'swarm', 'berth/raw', 'berth/swarm', 'target', 'other load % b/r/s'];
  const load = (c: Cell): string => (c.otherLoadPercent !== undefined ? c.otherLoadPercent.toFixed(0) : '-');
  const body = rows.map((r) => {
    const d = digitsFor(r.unit);
    const loads = [r.berth, r.raw, r.swarm].some((c) => c.otherLoadPercent !== undefined) ? `${load(r.berth)}/${load(r.raw)}/${load(r.swarm)}` : '';
    return [`${r.scenario} (${r.unit})`, String(r.n), fmt(r.berth, d), fmt(r.raw, d), fmt(r.swarm, d), ratio(r.berth, r.raw), ratio(r.berth, r.swarm), verdict(r), loads];
  });
  return [head, ...body];
}

export function consoleTable(rows: Row[]): string {
  return textTable(tableRows(rows));
}

const claimDigits = (unit: string, v: number): number => (unit === '/s' ? 2 : v < 10 ? 2 : v < 100 ? 1 : 0);
const claimFmt = (c: Cell, unit: string): string => (c.value !== undefined ? c.value.toFixed(claimDigits(unit, c.value)) : c.error ? (c.error === 'n/a' ? 'n/a' : 'failed') : '-');

function claimVerdict(r: ClaimRow): string {
  const t = r.target;
  if (!t) return '';
  const v = t.on === 'berth' ? r.berth.value : r.ratio?.value;
  const unit = t.on === 'ratio' ? '' : ` ${r.unit}`;
  if (v === undefined || !Number.isFinite(v)) return `not measured (${t.text})`;
  const met = t.op === '<' ? v < t.value : t.op === '<=' ? v <= t.value : v >= t.value;
  return `${met ? 'met' : 'MISSED'} (${t.text.replace(/ ms$/, '')}${t.on === 'ratio' ? '' : unit})`;
}

export function claimTableRows(rows: ClaimRow[]): string[][] {
  const head = ['scenario', 'berth (API)', 'raw engine', 'ratio', 'target', 'other load % b/r'];
  const load = (c: Cell): string => (c.otherLoadPercent !== undefined ? c.otherLoadPercent.toFixed(0) : '-');
  return [
    head,
    ...rows.map((r) => [
      `${r.scenario} (${r.unit})`,
      r.berthText ?? claimFmt(r.berth, r.unit),
      claimFmt(r.raw, r.unit),
      r.ratio ? `${r.ratio.value.toFixed(r.ratio.value < 10 ? 2 : 1)}x ${r.ratio.label}` : '-',
      claimVerdict(r),
      r.berth.otherLoadPercent !== undefined || r.raw.otherLoadPercent !== undefined ? `${load(r.berth)}/${load(r.raw)}` : '',
    ]),
  ];
}

function textTable(t: string[][]): string {
  const widths = t[0]!.map((_, i) => Math.max(...t.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(t[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...t.slice(1).map(line)].join('\n');
}

export const consoleClaimTable = (rows: ClaimRow[]): string => textTable(claimTableRows(rows));

function markdownTable(t: string[][]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  return [`| ${t[0]!.map(esc).join(' | ')} |`, `|${t[0]!.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...t.slice(1).map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

function failures(rows: Row[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    for (const s of ['berth', 'raw', 'swarm'] as const) {
      const e = r[s].error;
      if (e && e !== 'n/a') out.push(`- ${r.scenario}, N=${r.n}, ${s}: ${e}`);
    }
  }
  return [...new Set(out)];
}

const cpuText = (c: CpuFigures): string =>
  `${c.seconds.toFixed(2)} s wall, dockerd+containerd CPU ${c.engineCpuSeconds.toFixed(2)} s, machine busy ${c.machineBusyPercent.toFixed(0)} % (other people's processes ${c.foreignPercent.toFixed(0)} %)`;

function berthBreakdown(phases: BerthPhase[], raw: RawPhase[], swarm: SwarmPhase[], cores: number): string {
  const lines: string[] = [];
  for (const p of phases) {
    const f = p.figures;
    lines.push(`**${p.phase}, N=${p.n}** — berth: ${cpuText(f.cpu)}, controller CPU ${f.cpu.processCpuSeconds?.toFixed(2) ?? '?'} s`);
    lines.push('');
    lines.push('| series | count | mean (ms) | total (s) |');
    lines.push('|---|---:|---:|---:|');
    for (const o of f.ops) lines.push(`| \`${o.series}\` | ${o.count} | ${o.meanMs.toFixed(1)} | ${o.totalSeconds.toFixed(2)} |`);
    for (const c of f.counters) lines.push(`| \`${c.series}\` | ${c.delta} | | |`);
    const peer = raw.find((r) => r.n === p.n && r.phase === p.phase);
    if (peer) {
      lines.push('');
      lines.push(`raw engine, same phase: ${cpuText(peer.cpu)}; parallelism ${peer.parallelism}: ` + Object.entries(peer.opMs).map(([op, v]) => `${op} ${v.count}× mean ${v.meanMs.toFixed(1)} ms (p90 ${v.p90Ms.toFixed(0)})`).join(', '));
      const extraEngine = f.cpu.engineCpuSeconds - peer.cpu.engineCpuSeconds;
      const extra = extraEngine + (f.cpu.processCpuSeconds ?? 0);
      lines.push('');
      lines.push(
        `CPU berth spent beyond the raw engine: controller ${(f.cpu.processCpuSeconds ?? 0).toFixed(2)} s + engine daemons ${extraEngine >= 0 ? '+' : ''}${extraEngine.toFixed(2)} s = ${extra.toFixed(2)} CPU-s; ` +
          `were the ${cores} cores the only bottleneck, that would cost up to ${(extra / cores).toFixed(2)} s of wall time; the measured gap is ${(f.cpu.seconds - peer.cpu.seconds).toFixed(2)} s.`,
      );
    }
    const sw = swarm.find((r) => r.n === p.n && r.phase === p.phase);
    if (sw) {
      lines.push('');
      lines.push(`swarm, same phase: ${cpuText(sw.cpu)}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

const scaleFigures = (scale: ScaleReport | undefined): Array<ScaleFigures | undefined> => (scale ? scale.runs.map((r) => r.figures) : []);

export function targetTableRows(lines: TargetLine[]): string[][] {
  return [['target', 'measured', 'verdict', 'why missed'], ...lines.map((l) => [l.target, l.measured, l.verdict === 'missed' ? 'MISSED' : l.verdict, l.note ?? ''])];
}

export function scaleTableRows(scale: ScaleReport): string[][] {
  const head = ['Instances', 'pools', 'containers', 'converge (s)', 'CPU (s)', 'reconciles', 'reconciles/s', 'peak heap (MiB)', 'peak RSS (MiB)', 'settled heap (MiB)', 'plan() per Instance (µs)', 'plan() all (ms)', 'resync (ms)'];
  return [
    head,
    ...scale.runs.map((r) => {
      const f = r.figures;
      if (!f) return [String(r.instances), String(scale.config.pools), `failed: ${r.error ?? '?'}`, '', '', '', '', '', '', '', '', '', ''];
      return [
        f.instances.toLocaleString('en-US'),
        String(f.pools),
        f.containers.toLocaleString('en-US'),
        (f.convergeMs / 1000).toFixed(2),
        f.cpuSeconds.toFixed(1),
        String(f.reconciles),
        f.reconcilesPerSecond.toFixed(0),
        f.peakHeapMiB.toFixed(0),
        f.peakRssMiB.toFixed(0),
        f.settledHeapMiB.toFixed(0),
        f.planPerObjectUs.toFixed(1),
        f.planAllMs.toFixed(1),
        f.resyncMs.toFixed(0),
      ];
    }),
  ];
}

export const consoleTargetTable = (lines: TargetLine[]): string => textTable(targetTableRows(lines));
export const consoleScaleTable = (scale: ScaleReport): string => textTable(scaleTableRows(scale));

export function runTargets(meta: Meta, rows: Row[], scale: ScaleReport | undefined): TargetLine[] {
  return targetLines(rows, scaleFigures(scale), { instances: meta.sections.includes('instances'), scale: scale !== undefined }, meta.sizes);
}

export async function writeResults(
  dir: string,
  meta: Meta,
  rows: Row[],
  berthPhases: BerthPhase[],
  rawPhases: RawPhase[],
  swarmPhases: SwarmPhase[],
  notes: string[],
  claims?: ClaimsReport,
  scale?: ScaleReport,
  name = 'results',
): Promise<void> {
  const instances = rows.length > 0;
  const targets = runTargets(meta, rows, scale);
  const claimFailures = claims ? claims.rows.flatMap((r) => (['berth', 'raw'] as const).flatMap((s) => (r[s].error && r[s].error !== 'n/a' ? [`- claims, ${r.scenario}, ${s}: ${r[s].error}`] : []))) : [];
  const allFailures = [...failures(rows), ...new Set(claimFailures)];
  const md = [
    '# berth benchmark results',
    '',
    `Generated by \`${meta.command}\` (bench/main.ts) — do not edit by hand.`,
    '',
    `- date: ${meta.date}`,
    `- engine: Docker ${meta.engine} (API ${meta.apiVersion}, ${meta.storageDriver}), kernel ${meta.kernel}`,
    `- machine: ${meta.cores} cores (${meta.cpuModel}), ${meta.memoryGiB.toFixed(0)} GiB; Node ${meta.node}`,
    `- berth ${meta.berthVersion} at ${meta.gitCommit}, controller defaults (--workers 8, --max-concurrent-ops 16)`,
    `- sections: ${meta.sections.join(', ')}`,
    ...(instances ? [`- sizes ${meta.sizes.join(', ')}; ${meta.killSamples} kill samples per system and size; idle window ${meta.idleSeconds} s`] : []),
    !instances && !claims
      ? '- no engine section ran'
      : meta.rawCalibration.length
      ? `- raw engine parallelism ${meta.rawParallelism} (calibrated in this run at N=${meta.rawCalibration[0]?.n ?? '?'}, in run order: ${meta.rawCalibration.map((c) => `${c.parallelism} → ${c.seconds !== undefined ? `${c.seconds.toFixed(2)} s` : 'failed'}`).join(', ')})`
      : `- raw engine parallelism ${meta.rawParallelism} (fixed${instances ? '; see the notes below' : ': measured best on this engine, see bench/main.ts'})`,
    ...(instances ? [`- swarm: ${meta.swarm}; update order ${meta.swarmUpdateOrder}, parallelism 0 (all at once), restart delay 0`] : []),
    `- ${meta.containersCreated} containers created in ${meta.wallSeconds.toFixed(0)} s; load average ${meta.loadAverage.start.join(' ')} at the start, ${meta.loadAverage.end.join(' ')} at the end`,
    '',
    '## Targets (issue 13)',
    '',
    markdownTable(targetTableRows(targets)),
    '',
    'Computed from this run alone; "not measured" means the section or size did not run (BENCH_ONLY, BENCH_SIZES). N=500 is opt-in: BENCH_SIZES=20,100,500.',
    '',
    ...(instances
      ? [
          '## Instances',
          '',
          markdownTable(tableRows(rows)),
          '',
          'Ratios are berth divided by the peer: below 1 means berth is faster (or, for CPU and RSS, lighter). "other load" is the CPU that processes outside the bench, the engine and the containers used while each figure was measured (% of all cores): above about 10 % a figure was taken on a busy machine and its ratio is unreliable.',
          '',
        ]
      : []),
    ...(claims
      ? [
          '## Claims',
          '',
          markdownTable(claimTableRows(claims.rows)),
          '',
          'Latencies in ms, rates per second; ratios as labelled (cold/warm: how many times longer a cold start takes than a warm claim). "other load" is the CPU that processes outside the bench, the engine and the containers used while the figure was measured (% of all cores; berth/raw): above about 10 % the figure was taken on a busy machine.',
          '',
        ]
      : []),
    ...(scale
      ? [
          '## Scale simulation (in-memory runtime)',
          '',
          markdownTable(scaleTableRows(scale)),
          '',
          `berth's Manager (store, work queue, ${8} workers, reconcilers, the lifecycle supervisor and one xstate actor per container) on the in-memory runtime, which answers at once: what is left is the controller's own cost. Each size runs in a process of its own. ${scale.config.pools} InstancePools with minReady ${scale.config.minReady} beside the Instances, all applied to the store at once (as the API source does); converged = every Instance Ready on its generation and every pool at minReady. CPU is the process's user+system time during converge, V8's GC helper threads included (so it can exceed wall time); on a shared machine wall time can also be well above it. plan() is planInstance alone over the converged world (each Instance with its own containers, as a resync groups them), the median of 7 passes after 3 unmeasured ones (the planner compiled, as in a running controller); resync is one periodic resync of the converged world (one list, each key's planner on the snapshot; nothing is enqueued when converged). Heap is V8's used heap (peak sampled every 50 ms; settled after a GC).`,
          '',
          headroomText(scaleFigures(scale)),
          '',
        ]
      : []),
    '## How each figure is measured',
    '',
    ...(instances ? notes.map((n) => `- ${n}`) : []),
    ...(claims ? [...(instances ? ['', '### Claims', ''] : []), ...claims.notes.map((n) => `- ${n}`)] : []),
    '',
    ...(allFailures.length ? ['## Failures', '', ...allFailures, ''] : []),
    ...(instances ? ["## Where berth's time went (deltas of its /metrics over each phase)", '', berthBreakdown(berthPhases, rawPhases, swarmPhases, meta.cores)] : []),
    ...(claims ? ["## Where a claim's time went", '', ...claims.breakdown] : []),
  ].join('\n');
  await mkdir(dir, { recursive: true });
  await writeFile(`${dir}/${name}.md`, md.trimEnd() + '\n');
  const json = {
    meta,
    rows: rows.map((r) => ({
      ...r,
      ratios: {
        berthOverRaw: r.berth.value !== undefined && r.raw.value ? round(r.berth.value / r.raw.value, 3) : null,
        berthOverSwarm: r.berth.value !== undefined && r.swarm.value ? round(r.berth.value / r.swarm.value, 3) : null,
      },
      verdict: verdict(r) || null,
    })),
    berthPhases,
    rawPhases,
    swarmPhases,
    notes,
    ...(claims ? { claims: { rows: claims.rows.map((r) => ({ ...r, verdict: claimVerdict(r) || null })), detail: claims.detail, notes: claims.notes } } : {}),
    ...(scale ? { scale } : {}),
    targets,
  };
  await writeFile(`${dir}/${name}.json`, JSON.stringify(json, null, 2) + '\n');
}
