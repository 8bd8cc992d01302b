// Files in and out of a container with tar over exec, as `kubectl cp` does:
// the commands and the reading of their answers, shared by the Pod runtime
// (the exec API is its only way in) and the Docker runtime (whose archive API
// cannot write to a read-only root and sees under a tmpfs, not into it). The
// image needs sh and tar; the files are written as the container's user.
import { posix } from 'node:path';
import { RuntimeError } from './errors.js';
import type { PathStat } from './types.js';

export const STAT_SCRIPT = 'if [ -L "$1" ]; then echo symlink; elif [ -d "$1" ]; then echo directory; elif [ -f "$1" ]; then echo file; elif [ -e "$1" ]; then echo other; else echo missing; fi';

export const statCommand = (path: string): string[] => ['sh', '-c', STAT_SCRIPT, 'sh', path];

/** A tar of path on stdout, its last element as the top entry. */
export function tarCreateCommand(path: string): string[] {
  return ['tar', '-cf', '-', '-C', posix.dirname(path), path === '/' ? '.' : posix.basename(path)];
}

/** Unpacks stdin into dir; -o: files belong to the user running tar (GNU tar and busybox). */
export const tarExtractCommand = (dir: string): string[] => ['tar', '-x', '-o', '-f', '-', '-C', dir];

export function statFromAnswer(answer: string, what: string): PathStat | undefined {
  const a = answer.trim();
  if (a === 'missing') return undefined;
  if (a === 'file' || a === 'directory' || a === 'symlink' || a === 'other') return { type: a, size: 0 };
  throw new RuntimeError('Invalid', `${what}: unexpected answer ${JSON.stringify(a.slice(0, 100))}`);
}

/** A failed tar or stat exec as a RuntimeError: NotFound for a missing path, Invalid with tar's words otherwise. */
export function tarFailure(what: string, exitCode: number, output: string): RuntimeError {
  const text = output.trim();
  if (exitCode >= 126 && /executable file not found|not found|no such file or directory: unknown/i.test(text)) {
    return new RuntimeError('Invalid', `${what}: the image has no sh or tar (berth copies files with tar over exec here): ${text}`);
  }
  if (/no such file|cannot (open|stat|change)|can't (open|change)/i.test(text)) return new RuntimeError('NotFound', `${what}: ${text}`);
  return new RuntimeError('Invalid', `${what} failed (exit ${exitCode}): ${text}`);
}
