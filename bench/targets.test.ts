import { describe, expect, it } from 'vitest';
import type { Row } from './report.js';
import type { ScaleFigures } from './scale-figures.js';
import { headroomText, scaleVerdicts } from './scale-figures.js';
import { rowMet, targetLines } from './targets.js';

const row = (scenario: string, n: number, berth: number | undefined, raw: number | undefined, target?: Row['target'], unit = 's'): Row => ({
  scenario,
  unit,
  n,
  ...(target ? { target } : {}),
  berth: berth === undefined ? { error: 'timed out' } : { value: berth },
  raw: raw === undefined ? { error: 'n/a' } : { value: raw },
  swarm: { error: 'n/a' },
});

const figures = (over: Partial<ScaleFigures>): ScaleFigures => ({
  instances: 10_000,
  pools: 100,
  poolMinReady: 5,
  containers: 10_500,
  applyMs: 100,
  convergeMs: 8_000,
  reconciles: 40_000,
  reconcilesPerSecond: 5_000,
  cpuSeconds: 7.5,
  baseHeapMiB: 15,
  peakHeapMiB: 250,
  peakRssMiB: 400,
  settledHeapMiB: 150,
  settledRssMiB: 380,
  planAllMs: 15,
  planPerObjectUs: 1.5,
  planActing: 0,
  resyncMs: 300,
  resyncEnqueued: 0,
  gcExposed: true,
  ...over,
});

describe('bench targets', () => {
  it('judges a ratio, a margin over raw and an absolute bound, inclusive', () => {
    expect(rowMet(row('converge', 100, 10.5, 10, { kind: 'ratio-raw', max: 1.05 }))).toBe(true);
    expect(rowMet(row('converge', 100, 10.6, 10, { kind: 'ratio-raw', max: 1.05 }))).toBe(false);
    expect(rowMet(row('kill', 100, 330, 300, { kind: 'raw-plus', max: 30 }, 'ms'))).toBe(true);
    expect(rowMet(row('kill', 100, 331, 300, { kind: 'raw-plus', max: 30 }, 'ms'))).toBe(false);
    expect(rowMet(row('idle', 100, 0.5, undefined, { kind: 'absolute', max: 0.5 }, '% core'))).toBe(true);
    expect(rowMet(row('converge', 100, undefined, 10, { kind: 'ratio-raw', max: 1.05 }))).toBeUndefined();
    expect(rowMet(row('converge', 100, 10, undefined, { kind: 'ratio-raw', max: 1.05 }))).toBeUndefined();
  });

  it('lists every target of the issue, a size not run as not measured', () => {
    const rows = [
      row('converge', 100, 12, 10, { kind: 'ratio-raw', max: 1.05 }),
      row('replace all', 100, 10, 10, { kind: 'ratio-raw', max: 1.1 }),
      row('idle controller RSS', 100, 90, undefined, { kind: 'absolute', max: 80 }, 'MiB'),
    ];
    const lines = targetLines(rows, [figures({})], { instances: true, scale: true }, [100]);
    const byTarget = Object.fromEntries(lines.map((l) => [l.target.split(' <=')[0], l]));
    expect(byTarget['converge N=100']).toMatchObject({ verdict: 'missed', measured: '12.00 s vs raw 10.00 s = 1.20x' });
    expect(byTarget['converge N=500']).toMatchObject({ verdict: 'not measured', measured: 'N=500 not in BENCH_SIZES' });
    expect(byTarget['replace all N=100']?.verdict).toBe('met');
    expect(byTarget['kill -> running median N=100']?.verdict).toBe('not measured');
    expect(byTarget['idle controller RSS at N=100']?.verdict).toBe('missed');
    expect(lines.filter((l) => l.target.includes('10,000')).map((l) => l.verdict)).toEqual(['met', 'met', 'met']);
  });

  it('says whose each miss is: the machine when others used it, else the controller with its CPU beside the engine\'s', () => {
    const cpu = { seconds: 16.1, processCpuSeconds: 2.4, engineCpuSeconds: 9.8, machineBusyPercent: 81, foreignPercent: 2 };
    const replace: Row = { ...row('replace all', 100, 16.1, 14.5, { kind: 'ratio-raw', max: 1.1 }), berth: { value: 16.1, cpu, otherLoadPercent: 2 } };
    const busy: Row = { ...row('converge', 100, 12, 10, { kind: 'ratio-raw', max: 1.05 }), berth: { value: 12, otherLoadPercent: 35 } };
    const lines = targetLines([replace, busy, row('idle controller CPU', 100, 0.7, undefined, { kind: 'absolute', max: 0.5 }, '% core')], [], { instances: true, scale: false }, [100]);
    const note = (t: string): string | undefined => lines.find((l) => l.target.startsWith(t))?.note;
    expect(note('replace all N=100')).toBe(
      "the controller: its 2.4 s of CPU beside the engine's 9.8 s in 16.1 s, the machine 81 % busy; one engine call per container more than raw (the rename that keeps the name on a container)",
    );
    expect(note('converge N=100')).toBe('the machine: other processes used 35 % of it meanwhile');
    expect(note('idle controller CPU')).toBe('the controller');
    expect(lines.filter((l) => l.verdict !== 'missed').every((l) => l.note === undefined)).toBe(true);
  });

  it('judges the simulation targets on the 10,000 run, and says when the machine starved it', () => {
    expect(scaleVerdicts([figures({ planAllMs: 25 })]).map((v) => v.met)).toEqual([false, true, true]);
    expect(scaleVerdicts([figures({ instances: 1000 })]).map((v) => v.met)).toEqual([undefined, undefined, undefined]);
    const slow = targetLines([], [figures({ convergeMs: 30_000, cpuSeconds: 9 })], { instances: false, scale: true }, []);
    expect(slow.find((l) => l.target.startsWith('10,000 Instances converge'))).toMatchObject({ verdict: 'missed', note: expect.stringContaining('the machine') });
  });

  it('says how far one controller goes from the largest run', () => {
    const text = headroomText([figures({ instances: 1000, containers: 1500, settledHeapMiB: 30 }), figures({})]);
    expect(text).toContain('at 10,000 Instances and 100 pools (10,500 containers)');
    expect(text).toContain('13.7 KiB of settled heap per Instance');
    expect(headroomText([undefined])).toContain('No simulation converged');
  });
});
