// The targets, each with met / missed computed from one run: the
// instance rows (against the raw engine of the same run) and the scale
// simulation. Pure, so the report and its tests share it.
import type { Row } from './report.js';
import { scaleVerdicts, type ScaleFigures } from './scale-figures.js';

export type Target = { kind: 'ratio-raw'; max: number } | { kind: 'absolute'; max: number } | { kind: 'raw-plus'; max: number };

export interface TargetLine {
  target: string;
  measured: string;
  verdict: 'met' | 'missed' | 'not measured';
  /** Why a miss is not (only) the controller's, where the run shows it. */
  note?: string;
}

const digits = (unit: string): number => (unit === 's' ? 2 : unit === 'ms' ? 0 : 1);

export function targetText(t: Target, unit: string): string {
  if (t.kind === 'ratio-raw') return `<= ${t.max}x raw`;
  if (t.kind === 'raw-plus') return `<= raw + ${t.max} ${unit}`;
  return `<= ${t.max} ${unit}`;
}

/** met / missed for a row with a target; undefined when either side has no value. */
export function rowMet(r: Row): boolean | undefined {
  const t = r.target;
  const b = r.berth.value;
  if (!t || b === undefined) return undefined;
  if (t.kind === 'absolute') return b <= t.max;
  const raw = r.raw.value;
  if (raw === undefined || raw === 0) return undefined;
  return t.kind === 'ratio-raw' ? b / raw <= t.max : b - raw <= t.max;
}

function rowMeasured(r: Row): string {
  const d = digits(r.unit);
  const b = r.berth.value;
  if (b === undefined) return r.berth.error && r.berth.error !== 'n/a' ? `failed: ${r.berth.error}` : '-';
  const raw = r.raw.value;
  if (r.target?.kind === 'ratio-raw' && raw) return `${b.toFixed(d)} ${r.unit} vs raw ${raw.toFixed(d)} ${r.unit} = ${(b / raw).toFixed(2)}x`;
  if (r.target?.kind === 'raw-plus' && raw !== undefined) return `${b.toFixed(d)} ${r.unit} vs raw ${raw.toFixed(d)} ${r.unit} (+${(b - raw).toFixed(d)})`;
  return `${b.toFixed(d)} ${r.unit}`;
}

/** A figure taken while other processes used this much of the machine says more about the machine than about berth. */
const BUSY_PERCENT = 10;

/**
 * Whose a miss is, from what the run measured: the machine when others used
 * it meanwhile; otherwise the controller, with its CPU beside the engine's on
 * the cores they share (and, for a replace, the engine call berth makes that
 * the raw engine does not).
 */
export function whyMissed(r: Row, otherLoadPercent: number): string {
  if (otherLoadPercent > BUSY_PERCENT) return `the machine: other processes used ${otherLoadPercent.toFixed(0)} % of it meanwhile`;
  const cpu = r.berth.cpu;
  const measured =
    cpu?.processCpuSeconds !== undefined
      ? `: its ${cpu.processCpuSeconds.toFixed(1)} s of CPU beside the engine's ${cpu.engineCpuSeconds.toFixed(1)} s in ${cpu.seconds.toFixed(1)} s, the machine ${cpu.machineBusyPercent.toFixed(0)} % busy`
      : '';
  const extraCall = r.scenario === 'replace all' ? '; one engine call per container more than raw (the rename that keeps the name on a container)' : '';
  return `the controller${measured}${extraCall}`;
}

export function targetLines(rows: readonly Row[], scale: ReadonlyArray<ScaleFigures | undefined>, sectionsRun: { instances: boolean; scale: boolean }, sizes: readonly number[]): TargetLine[] {
  const out: TargetLine[] = [];
  const converge: Target = { kind: 'ratio-raw', max: 1.05 };
  const replace: Target = { kind: 'ratio-raw', max: 1.1 };
  const kill: Target = { kind: 'raw-plus', max: 30 };
  const wanted: Array<{ scenario: string; n: number; text: string; target: Target; unit: string }> = [
    ...[100, 500].map((n) => ({ scenario: 'converge', n, text: `converge N=${n}`, target: converge, unit: 's' })),
    ...sizes.map((n) => ({ scenario: 'replace all', n, text: `replace all N=${n}`, target: replace, unit: 's' })),
    ...sizes.map((n) => ({ scenario: 'kill->running median', n, text: `kill -> running median N=${n}`, target: kill, unit: 'ms' })),
    { scenario: 'idle controller CPU', n: 100, text: 'idle controller CPU at N=100', target: { kind: 'absolute', max: 0.5 }, unit: '% core' },
    { scenario: 'idle controller RSS', n: 100, text: 'idle controller RSS at N=100', target: { kind: 'absolute', max: 80 }, unit: 'MiB' },
  ];
  for (const w of wanted) {
    const text = `${w.text} ${targetText(w.target, w.unit)}`;
    const found = rows.find((x) => x.scenario === w.scenario && x.n === w.n);
    if (!found) {
      out.push({ target: text, measured: !sectionsRun.instances ? 'instances section not run' : `N=${w.n} not in BENCH_SIZES`, verdict: 'not measured' });
      continue;
    }
    const r: Row = { ...found, target: w.target };
    const met = rowMet(r);
    const load = Math.max(r.berth.otherLoadPercent ?? 0, r.raw.otherLoadPercent ?? 0);
    out.push({
      target: text,
      measured: rowMeasured(r),
      verdict: met === undefined ? 'not measured' : met ? 'met' : 'missed',
      ...(met === false ? { note: whyMissed(r, load) } : {}),
    });
  }
  for (const v of scaleVerdicts(scale)) {
    const run = scale.find((f) => f?.instances === 10_000);
    const cpuShare = run ? run.cpuSeconds / (run.convergeMs / 1000) : undefined;
    out.push({
      target: `${v.target} <= ${v.max} ${v.unit}`,
      measured: v.value === undefined ? (sectionsRun.scale ? 'the 10,000 run failed or did not run' : 'scale section not run') : `${v.value.toFixed(v.unit === 's' ? 2 : 1)} ${v.unit}`,
      verdict: v.met === undefined ? 'not measured' : v.met ? 'met' : 'missed',
      ...(v.met === false && v.unit === 's' && cpuShare !== undefined && cpuShare < 0.7
        ? { note: `partly the machine: the controller got ${(cpuShare * 100).toFixed(0)} % of a core (${run!.cpuSeconds.toFixed(1)} s CPU in ${(run!.convergeMs / 1000).toFixed(1)} s)` }
        : v.met === false
          ? { note: 'the controller' }
          : {}),
    });
  }
  return out;
}
