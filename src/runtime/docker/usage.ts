// One-shot container stats as ContainerUsage, computed the way `docker stats`
// computes them, so the numbers agree with what users see there. Pure.
import type { ContainerUsage } from '../types.js';

interface CpuSample {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] };
  system_cpu_usage?: number;
  online_cpus?: number;
}

/** The fields of the engine's stats document this reads; all optional (a stopped container reports little). */
export interface StatsDocument {
  cpu_stats?: CpuSample;
  precpu_stats?: CpuSample;
  memory_stats?: { usage?: number; stats?: Record<string, number | undefined> };
  pids_stats?: { current?: number };
}

/** CPU percent of one core (200 = two cores busy), from the two samples the engine took. */
export function cpuPercent(s: StatsDocument): number | undefined {
  const now = s.cpu_stats;
  const before = s.precpu_stats;
  const total = now?.cpu_usage?.total_usage;
  const totalBefore = before?.cpu_usage?.total_usage;
  const system = now?.system_cpu_usage;
  const systemBefore = before?.system_cpu_usage;
  if (total === undefined || totalBefore === undefined || system === undefined || systemBefore === undefined) return undefined;
  const cpuDelta = total - totalBefore;
  const systemDelta = system - systemBefore;
  const cpus = now?.online_cpus || now?.cpu_usage?.percpu_usage?.length || 1;
  if (systemDelta <= 0 || cpuDelta < 0) return undefined;
  return (cpuDelta / systemDelta) * cpus * 100;
}

/**
 * Memory in use without the page cache the kernel can drop: usage minus
 * inactive file pages (cgroup v1: total_inactive_file, v2: inactive_file), as
 * `docker stats` does since 20.10; else minus `cache` where only that exists.
 */
export function memoryBytes(s: StatsDocument): number | undefined {
  const usage = s.memory_stats?.usage;
  if (usage === undefined) return undefined;
  const stats = s.memory_stats?.stats ?? {};
  const reclaimable = stats['total_inactive_file'] ?? stats['inactive_file'] ?? stats['cache'];
  return reclaimable !== undefined && reclaimable < usage ? usage - reclaimable : usage;
}

export function usageFromStats(s: StatsDocument): ContainerUsage {
  const out: ContainerUsage = {};
  const cpu = cpuPercent(s);
  if (cpu !== undefined) out.cpuPercent = Math.round(cpu * 100) / 100;
  const memory = memoryBytes(s);
  if (memory !== undefined) out.memoryBytes = memory;
  const pids = s.pids_stats?.current;
  if (pids !== undefined) out.pids = pids;
  return out;
}
