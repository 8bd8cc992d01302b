// CPU and memory of a process, and of the machine, from /proc (Linux only).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { sleep } from './engine.js';

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** utime + stime of a process, in seconds. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / ticksPerSecond();
}

/** VmRSS of a process in MiB. */
export function processRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Busy and total jiffies of the whole machine (all CPUs). */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

let enginePids: number[] | undefined;
/** The engine's daemons (dockerd, containerd), found by name; only read, never signalled. */
export function engineDaemonPids(): number[] {
  if (enginePids) return enginePids;
  enginePids = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const comm = readFileSync(`/proc/${d}/comm`, 'utf8').trim();
      if (comm === 'dockerd' || comm === 'containerd') enginePids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return enginePids;
}

const sumCpu = (pids: number[]): number =>
  pids.reduce((acc, p) => {
    try {
      return acc + processCpuSeconds(p);
    } catch {
      return acc;
    }
  }, 0);

const ENGINE_COMMS = /^(dockerd|containerd|containerd-shim.*|runc|runc:.*|docker-init|docker-proxy)$/;

function memoryCgroup(pid: number | 'self'): string | undefined {
  try {
    return /^\d+:memory:(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds so far of every process that is neither this bench's (same
 * memory cgroup: the bench and the controllers it spawns), nor the engine's
 * (dockerd, containerd, shims, runc), nor inside a container: what else is
 * running on a shared machine.
 */
function foreignCpu(): Map<number, number> {
  const mine = memoryCgroup('self');
  const out = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    try {
      const cg = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      if (cg.includes('/docker/') || cg.includes('docker-')) continue;
      if (mine !== undefined && memoryCgroup(pid) === mine) continue;
      if (ENGINE_COMMS.test(readFileSync(`/proc/${pid}/comm`, 'utf8').trim())) continue;
      out.set(pid, processCpuSeconds(pid));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export interface CpuFigures {
  seconds: number;
  /** CPU seconds of the measured process (the controller), when there is one. */
  processCpuSeconds?: number;
  /** CPU seconds of dockerd + containerd (shims and runc not included: see machineBusyPercent). */
  engineCpuSeconds: number;
  /** Busy share of all cores over the window. */
  machineBusyPercent: number;
  /** CPU of other people's processes over the window, as a share of all cores (a noisy neighbour shows here). */
  foreignPercent: number;
}

/** A stopwatch over CPU: the process's and the engine daemons' CPU seconds and the machine's busy share. */
export function cpuMeter(pid: number | undefined): () => CpuFigures {
  const t0 = performance.now();
  const p0 = pid !== undefined ? processCpuSeconds(pid) : undefined;
  const e0 = sumCpu(engineDaemonPids());
  const f0 = foreignCpu();
  const m0 = machineCpu();
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const m1 = machineCpu();
    let foreign = 0;
    // A process new since the start spent all its CPU inside the window; one that ended is lost (an underestimate).
    for (const [pid, cpu] of foreignCpu()) foreign += cpu - (f0.get(pid) ?? 0);
    const busy = m1.total > m0.total ? ((m1.busy - m0.busy) / (m1.total - m0.total)) * 100 : NaN;
    return {
      seconds,
      ...(pid !== undefined && p0 !== undefined ? { processCpuSeconds: processCpuSeconds(pid) - p0 } : {}),
      engineCpuSeconds: sumCpu(engineDaemonPids()) - e0,
      machineBusyPercent: busy,
      foreignPercent: (foreign / seconds / cpus()) * 100,
    };
  };
}

export interface IdleUsage {
  seconds: number;
  /** Of one core: 100 = one core fully busy. */
  cpuPercent: number;
  rssMiBMean: number;
  rssMiBMax: number;
}

/** Samples a process for `seconds`: CPU % (of one core) over the whole window, RSS every second. */
export async function idleUsage(pid: number, seconds: number): Promise<IdleUsage> {
  const t0 = performance.now();
  const c0 = processCpuSeconds(pid);
  const rss: number[] = [processRssMiB(pid)];
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    await sleep(Math.min(1000, end - performance.now()));
    rss.push(processRssMiB(pid));
  }
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = processCpuSeconds(pid) - c0;
  return {
    seconds: elapsed,
    cpuPercent: (cpu / elapsed) * 100,
    rssMiBMean: rss.reduce((a, b) => a + b, 0) / rss.length,
    rssMiBMax: Math.max(...rss),
  };
}

const cpus = (): number => availableParallelism();

export function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? m[1]!.trim() : 'unknown';
  } catch {
    return 'unknown';
  }
}
