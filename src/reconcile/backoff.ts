// Restart backoff in the manner of Kubernetes' CrashLoopBackOff: the first
// restart is immediate, then 10 s doubling to a 5 min cap; a container that
// ran for 10 minutes resets the count. Pure: memory and clock come in.
import type { ObservedContainer } from '../runtime/types.js';
import { finiteOr } from './container.js';
import type { RestartMemory } from './types.js';

export const BACKOFF_BASE_MS = 10_000;
export const BACKOFF_CAP_MS = 300_000;
/** A container that ran this long is healthy again: its next restart counts as the first. */
export const BACKOFF_RESET_AFTER_MS = 600_000;

/** Delay before the restart that follows `restartCount` earlier consecutive restarts. */
export function restartDelayMs(restartCount: number): number {
  if (!(restartCount >= 1)) return 0; // 0, negative, NaN: first restart, immediate
  if (restartCount > 32) return BACKOFF_CAP_MS;
  return Math.min(BACKOFF_BASE_MS * 2 ** (Math.floor(restartCount) - 1), BACKOFF_CAP_MS);
}

/** How long the container ran: started to finished, or to now while it runs. */
export function ranForMs(c: ObservedContainer, now: number): number | undefined {
  if (c.startedAt === undefined || !Number.isFinite(c.startedAt)) return undefined;
  const end = c.state === 'exited' || c.state === 'dead' ? c.finishedAt : now;
  if (end === undefined || !Number.isFinite(end)) return undefined;
  return end - c.startedAt;
}

/** memory.restartCount, or 0 once the container ran for BACKOFF_RESET_AFTER_MS. */
export function effectiveRestartCount(memory: RestartMemory, c: ObservedContainer, now: number): number {
  const ran = ranForMs(c, now);
  if (ran !== undefined && ran >= BACKOFF_RESET_AFTER_MS) return 0;
  const count = finiteOr(memory.restartCount, 0);
  return count > 0 ? Math.floor(count) : 0;
}

export type RestartGate = { allowed: true; attempt: number } | { allowed: false; attempt: number; until: number; delayMs: number };

/** May berth restart now? If not, until when it waits. `attempt` is the restart's number (1 = first). */
export function restartGate(memory: RestartMemory, c: ObservedContainer, now: number): RestartGate {
  const count = effectiveRestartCount(memory, c, now);
  const attempt = count + 1;
  const delayMs = restartDelayMs(count);
  const last = memory.lastRestartAt;
  if (delayMs === 0 || last === undefined || !Number.isFinite(last)) return { allowed: true, attempt };
  const until = last + delayMs;
  return until > now ? { allowed: false, attempt, until, delayMs } : { allowed: true, attempt };
}

/** Go-style short duration, as Kubernetes prints back-off: 10s, 5m0s, 1m20s. */
export function formatDelay(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  return `${Math.floor(s / 60)}m${s % 60}s`;
}
