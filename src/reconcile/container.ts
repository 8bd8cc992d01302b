// Small readings of an observed container that several rules share.
import type { ObservedContainer } from '../runtime/types.js';

/** The short id people see in `docker ps` and in plan text. */
/**
 * A container id as people read it: a Docker id cut to 12 characters, as the
 * docker CLI does; any other id (a Pod's `<namespace>/<name>`) whole, since
 * cutting it cut Pod names in Events and messages.
 */
export const id12 = (id: string): string => (/^[0-9a-f]{13,}$/.test(id) ? id.slice(0, 12) : id);

/** The process exists (running, paused, or being restarted by the engine itself). */
export const isAlive = (c: ObservedContainer): boolean => c.state === 'running' || c.state === 'paused' || c.state === 'restarting';

/** Created but never started (e.g. the controller stopped between create and start). */
export const neverStarted = (c: ObservedContainer): boolean => c.state === 'created';

/** Ran and stopped: exited or dead. */
export const hasExited = (c: ObservedContainer): boolean => c.state === 'exited' || c.state === 'dead';

/**
 * An exited container that did not succeed: dead, oom-killed, a non-zero exit
 * code, or an exit code nobody could read (unknown counts as failure, so
 * OnFailure errs on the side of running the workload again).
 */
export const exitedWithFailure = (c: ObservedContainer): boolean => c.state === 'dead' || c.oomKilled === true || c.exitCode !== 0;

/** "exited with code 1", "was oom-killed", "is dead": for causes and messages. */
export function exitDescription(c: ObservedContainer): string {
  if (c.oomKilled === true) return 'was oom-killed';
  if (c.state === 'dead') return 'is dead';
  if (c.exitCode === undefined) return 'exited with an unknown code';
  return `exited with code ${c.exitCode}`;
}

/** Docker reports names with a leading slash; compare without it (no RegExp: every plan compares a name). */
export const sameName = (a: string, b: string): boolean => withoutSlash(a) === withoutSlash(b);
const withoutSlash = (s: string): string => (s.charCodeAt(0) === 47 ? s.slice(1) : s);

/** A total order for "which container is newer": createdAt, then id, so plans never depend on list order. */
export function compareOldestFirst(a: ObservedContainer, b: ObservedContainer): number {
  const byAge = finiteOr(a.createdAt, 0) - finiteOr(b.createdAt, 0);
  if (byAge !== 0) return byAge;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export const finiteOr = (n: number | undefined, fallback: number): number => (typeof n === 'number' && Number.isFinite(n) ? n : fallback);
