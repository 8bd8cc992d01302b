// One controller id per engine. Two controllers with the same id would each
// prune what the other's specs declare, so a controller holds a lock in the
// engine while it runs: a volume named after its id (creating a volume that
// exists returns the existing one, so the engine arbitrates who created it
// first), labelled with the holder's identity.
//
// A holder killed with SIGKILL cannot release it, so a lock is stale (taken
// over at once) when its holder can be proven dead:
// - same host and boot: the process is gone or a zombie, or its pid now
//   belongs to a process that started at another time;
// - the holder ran in a container on this engine (its hostname is the
//   container's id): that container is not running, or restarted since.
// Anything else (another machine sharing DOCKER_HOST) cannot be proven dead:
// the controller refuses to start and says how to take over (--force-takeover).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type Dockerode from 'dockerode';
import { isRuntimeError } from '../errors.js';
import { LABEL } from '../types.js';
import { dockerCall, type DockerTimeouts } from './call.js';

export const LOCK_LABEL = 'berth.dev/lock';
export const LOCK_HOLDER_LABEL = 'berth.dev/lock-holder';

export interface LockHolder {
  host: string;
  bootId: string;
  pid: number;
  /** The process's start time in clock ticks since boot (/proc/PID/stat field 22): pids are reused, this is not. */
  startTicks: string;
  since: string;
}

export class LockHeldError extends Error {
  override readonly name = 'LockHeldError';
  constructor(
    readonly controllerId: string,
    readonly holder: LockHolder | undefined,
  ) {
    const who = holder ? `pid ${holder.pid} on host ${holder.host} since ${holder.since}` : 'a controller whose identity is unreadable';
    super(
      `another berth controller with --controller-id ${controllerId} is active on this engine (${who}). ` +
        'Two controllers with one id would prune each other\'s containers: give this one another --controller-id, stop the other, ' +
        'or, if you know it is gone, start this one with --force-takeover',
    );
  }
}

export function lockVolumeName(controllerId: string): string {
  const safe = controllerId.replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 60);
  return `berth-lock-${safe}-${createHash('sha256').update(controllerId).digest('hex').slice(0, 8)}`;
}

/**
 * The process's start time (/proc/PID/stat field 22); undefined when it is
 * gone, or dead and not yet reaped by its parent (a zombie: a controller
 * SIGKILLed under a shell or an init that reaps late stays one for seconds or
 * for good, and its restart must not wait for that).
 */
async function liveProcessStartTicks(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may hold spaces and parentheses: count from the last ')'. Then field 3 is the state.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

const bootId = async (): Promise<string> => (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();

export async function currentHolder(): Promise<LockHolder> {
  return { host: hostname(), bootId: await bootId(), pid: process.pid, startTicks: (await liveProcessStartTicks(process.pid)) ?? '', since: new Date().toISOString() };
}

const sameProcess = (a: LockHolder, b: LockHolder): boolean => a.host === b.host && a.bootId === b.bootId && a.pid === b.pid && a.startTicks === b.startTicks;

function parseHolder(labels: Record<string, string> | null | undefined): LockHolder | undefined {
  try {
    const h = JSON.parse(labels?.[LOCK_HOLDER_LABEL] ?? '') as LockHolder;
    return typeof h.host === 'string' && typeof h.pid === 'number' ? h : undefined;
  } catch {
    return undefined;
  }
}

export class EngineLock {
  private readonly name: string;
  private me: LockHolder | undefined;

  constructor(
    private readonly docker: Dockerode,
    private readonly controllerId: string,
    private readonly timeouts: DockerTimeouts,
  ) {
    this.name = lockVolumeName(controllerId);
  }

  /** Takes the lock, taking over a stale one (or any, with force); throws LockHeldError when it is held. */
  async acquire(opts: { force?: boolean; signal?: AbortSignal } = {}): Promise<{ tookOverFrom?: LockHolder }> {
    const me = (this.me ??= await currentHolder());
    let tookOverFrom: LockHolder | undefined;
    const existing = await this.inspect(opts.signal);
    if (existing) {
      const holder = parseHolder(existing);
      if (holder && sameProcess(holder, me)) return {};
      if (!opts.force && !(holder && (await this.isStale(holder, opts.signal)))) throw new LockHeldError(this.controllerId, holder);
      tookOverFrom = holder;
      await this.remove(opts.signal);
    }
    await dockerCall('volume create', this.timeouts.create, opts.signal, (s) =>
      this.docker.createVolume({
        Name: this.name,
        Labels: { [LABEL.managedBy]: this.controllerId, [LOCK_LABEL]: 'controller', [LOCK_HOLDER_LABEL]: JSON.stringify(me) },
        abortSignal: s,
      } as Dockerode.VolumeCreateOptions),
    );
    // Two starting at once both "create": the engine kept the first one's labels.
    const winner = parseHolder(await this.inspect(opts.signal));
    if (!winner || !sameProcess(winner, me)) throw new LockHeldError(this.controllerId, winner);
    return tookOverFrom ? { tookOverFrom } : {};
  }

  /** Gives the lock up if this process holds it (graceful shutdown). */
  async release(signal?: AbortSignal): Promise<void> {
    const holder = parseHolder(await this.inspect(signal));
    if (holder && this.me && sameProcess(holder, this.me)) await this.remove(signal);
  }

  private async isStale(holder: LockHolder, signal?: AbortSignal): Promise<boolean> {
    const me = this.me!;
    if (holder.host === me.host && holder.bootId === me.bootId && holder.bootId !== '') {
      const ticks = await liveProcessStartTicks(holder.pid);
      return ticks === undefined || ticks !== holder.startTicks;
    }
    if (/^[0-9a-f]{12,64}$/.test(holder.host)) {
      try {
        const c = await dockerCall('inspect', this.timeouts.inspect, signal, (s) => this.docker.getContainer(holder.host).inspect({ abortSignal: s }));
        return !c.State.Running || Date.parse(c.State.StartedAt) > Date.parse(holder.since);
      } catch (e) {
        if (isRuntimeError(e, 'NotFound')) return true;
        throw e;
      }
    }
    return false;
  }

  private async inspect(signal?: AbortSignal): Promise<Record<string, string> | undefined> {
    try {
      const v = await dockerCall('volume inspect', this.timeouts.inspect, signal, (s) => this.docker.getVolume(this.name).inspect({ abortSignal: s } as object));
      return (v.Labels as Record<string, string> | null) ?? {};
    } catch (e) {
      if (isRuntimeError(e, 'NotFound')) return undefined;
      throw e;
    }
  }

  private async remove(signal?: AbortSignal): Promise<void> {
    try {
      await dockerCall('volume remove', this.timeouts.remove, signal, (s) => this.docker.getVolume(this.name).remove({ abortSignal: s } as object));
    } catch (e) {
      if (!isRuntimeError(e, 'NotFound')) throw e;
    }
  }
}
