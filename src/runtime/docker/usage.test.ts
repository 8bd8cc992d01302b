import { describe, expect, it } from 'vitest';
import { cpuPercent, memoryBytes, usageFromStats } from './usage.js';

// Trimmed from a Docker 20.10 one-shot stats answer on cgroup v1.
const STATS = {
  cpu_stats: { cpu_usage: { total_usage: 2_000_000_000, percpu_usage: [1, 1, 1, 1] }, system_cpu_usage: 110_000_000_000, online_cpus: 4 },
  precpu_stats: { cpu_usage: { total_usage: 1_500_000_000 }, system_cpu_usage: 100_000_000_000, online_cpus: 4 },
  memory_stats: { usage: 50_000_000, stats: { total_inactive_file: 10_000_000, cache: 20_000_000 } },
  pids_stats: { current: 3 },
};

describe('usage', () => {
  it('computes cpu percent like docker stats (of one core)', () => {
    expect(cpuPercent(STATS)).toBeCloseTo(20);
  });

  it('memory without inactive file pages (v1), inactive_file (v2), else cache', () => {
    expect(memoryBytes(STATS)).toBe(40_000_000);
    expect(memoryBytes({ memory_stats: { usage: 50, stats: { inactive_file: 5 } } })).toBe(45);
    expect(memoryBytes({ memory_stats: { usage: 50, stats: { cache: 20 } } })).toBe(30);
    expect(memoryBytes({ memory_stats: { usage: 50, stats: { cache: 80 } } })).toBe(50);
    expect(memoryBytes({ memory_stats: {} })).toBeUndefined();
  });

  it('reports nothing it cannot compute (a stopped container)', () => {
    expect(usageFromStats({ cpu_stats: { cpu_usage: { total_usage: 0 } }, precpu_stats: { cpu_usage: { total_usage: 0 } }, memory_stats: {}, pids_stats: {} })).toEqual({});
    expect(usageFromStats(STATS)).toEqual({ cpuPercent: 20, memoryBytes: 40_000_000, pids: 3 });
  });

  it('uses the per-cpu count when online_cpus is missing', () => {
    const s = { ...STATS, cpu_stats: { ...STATS.cpu_stats, online_cpus: undefined } };
    expect(cpuPercent(s)).toBeCloseTo(20);
  });
});
