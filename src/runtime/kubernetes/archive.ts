// Files in and out of a Pod: tar over the exec API, as `kubectl cp` does
// (the API has no archive call). It needs sh and tar in the image; an image
// without them gets a clear error. Output is kept as bytes (a tar is binary)
// and capped: a sandbox cannot make the controller buffer more than maxBytes.
import { posix } from 'node:path';
import { ArchiveLimitError, mib } from '../../archive/limits.js';
import { RuntimeError } from '../errors.js';
import type { PathStat } from '../types.js';
import { abortError, type KubeTimeouts } from './call.js';
import { openExec, waitFor, type ExecContext } from './exec.js';

const STAT_SCRIPT = 'if [ -L "$1" ]; then echo symlink; elif [ -d "$1" ]; then echo directory; elif [ -f "$1" ]; then echo file; elif [ -e "$1" ]; then echo other; else echo missing; fi';

interface TarRun {
  exitCode: number;
  stdout: Buffer;
  stderr: string;
  truncated: boolean;
}

async function run(ctx: ExecContext & { t: KubeTimeouts }, namespace: string, pod: string, command: string[], stdin: Buffer | undefined, cap: number, signal?: AbortSignal): Promise<TarRun> {
  const began = performance.now();
  const r = await openExec(ctx, namespace, pod, command, stdin, cap, signal);
  const outcome = await waitFor(r.ended, ctx.t.archive - (performance.now() - began), signal);
  r.close();
  if (outcome.kind === 'aborted') throw abortError(signal!);
  if (outcome.kind === 'timeout') throw new RuntimeError('Timeout', `${command[0]} in pod ${namespace}/${pod} did not finish within ${ctx.t.archive} ms`);
  const status = outcome.ending.status;
  const code = status?.status === 'Success' ? 0 : Number(status?.details?.causes?.find((c) => c.reason === 'ExitCode')?.message ?? (outcome.ending.closedEarly ? -1 : 126));
  const stderr = r.stderr.text() + (code !== 0 && status?.message && !status.details?.causes ? status.message : '');
  return { exitCode: code, stdout: r.stdout.bytes(), stderr, truncated: r.stdout.truncated };
}

function failure(what: string, r: TarRun): RuntimeError {
  const text = r.stderr.trim() || r.stdout.toString('utf8').trim();
  if (/executable file not found|not found/i.test(text) && r.exitCode >= 126) return new RuntimeError('Invalid', `${what}: the image has no sh or tar (berth copies files into Pods with tar over exec): ${text}`);
  if (/no such file|cannot (open|stat|change)|can't (open|change)/i.test(text)) return new RuntimeError('NotFound', `${what}: ${text}`);
  return new RuntimeError('Invalid', `${what} failed (exit ${r.exitCode}): ${text}`);
}

export async function statPodPath(ctx: ExecContext, namespace: string, pod: string, path: string, signal?: AbortSignal): Promise<PathStat | undefined> {
  const r = await run(ctx, namespace, pod, ['sh', '-c', STAT_SCRIPT, 'sh', path], undefined, 4096, signal);
  if (r.exitCode !== 0) throw failure(`stat ${path} in pod ${namespace}/${pod}`, r);
  const answer = r.stdout.toString('utf8').trim();
  if (answer === 'missing') return undefined;
  if (answer === 'file' || answer === 'directory' || answer === 'symlink' || answer === 'other') return { type: answer, size: 0 };
  throw new RuntimeError('Invalid', `stat ${path} in pod ${namespace}/${pod}: unexpected answer ${JSON.stringify(answer.slice(0, 100))}`);
}

export async function getPodArchive(ctx: ExecContext, namespace: string, pod: string, path: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
  const parent = posix.dirname(path);
  const base = path === '/' ? '.' : posix.basename(path);
  const r = await run(ctx, namespace, pod, ['tar', '-cf', '-', '-C', parent, base], undefined, maxBytes, signal);
  // tar's own failure first: GNU tar still writes an end-of-archive block for a missing path.
  if (r.exitCode !== 0) throw failure(`tar of ${path} in pod ${namespace}/${pod}`, r);
  if (r.truncated) throw new ArchiveLimitError(`the archive of ${path} is larger than the limit of ${mib(maxBytes)}`);
  return r.stdout;
}

export async function putPodArchive(ctx: ExecContext, namespace: string, pod: string, dir: string, archive: Buffer, signal?: AbortSignal): Promise<void> {
  // --no-same-owner is GNU tar's default for non-root and what busybox does; -o asks both for it.
  const r = await run(ctx, namespace, pod, ['tar', '-x', '-o', '-f', '-', '-C', dir], archive, 64 * 1024, signal);
  if (r.exitCode !== 0) throw failure(`unpacking into ${dir} in pod ${namespace}/${pod}`, r);
}
