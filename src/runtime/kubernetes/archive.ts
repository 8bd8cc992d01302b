// Files in and out of a Pod: tar over the exec API (src/runtime/tar-exec.ts;
// the API has no archive call). Output is kept as bytes (a tar is binary) and
// capped: a sandbox cannot make the controller buffer more than maxBytes.
import { ArchiveLimitError, mib } from '../../archive/limits.js';
import { RuntimeError } from '../errors.js';
import { statCommand, statFromAnswer, tarCreateCommand, tarExtractCommand, tarFailure } from '../tar-exec.js';
import type { PathStat } from '../types.js';
import { abortError, type KubeTimeouts } from './call.js';
import { openExec, waitFor, type ExecContext } from './exec.js';

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

const failure = (what: string, r: TarRun): RuntimeError => tarFailure(what, r.exitCode, r.stderr || r.stdout.toString('utf8'));

export async function statPodPath(ctx: ExecContext, namespace: string, pod: string, path: string, signal?: AbortSignal): Promise<PathStat | undefined> {
  const what = `stat ${path} in pod ${namespace}/${pod}`;
  const r = await run(ctx, namespace, pod, statCommand(path), undefined, 4096, signal);
  if (r.exitCode !== 0) throw failure(what, r);
  return statFromAnswer(r.stdout.toString('utf8'), what);
}

export async function getPodArchive(ctx: ExecContext, namespace: string, pod: string, path: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
  const r = await run(ctx, namespace, pod, tarCreateCommand(path), undefined, maxBytes, signal);
  // tar's own failure first: GNU tar still writes an end-of-archive block for a missing path.
  if (r.exitCode !== 0) throw failure(`tar of ${path} in pod ${namespace}/${pod}`, r);
  if (r.truncated) throw new ArchiveLimitError(`the archive of ${path} is larger than the limit of ${mib(maxBytes)}`);
  return r.stdout;
}

export async function putPodArchive(ctx: ExecContext, namespace: string, pod: string, dir: string, archive: Buffer, signal?: AbortSignal): Promise<void> {
  const r = await run(ctx, namespace, pod, tarExtractCommand(dir), archive, 64 * 1024, signal);
  if (r.exitCode !== 0) throw failure(`unpacking into ${dir} in pod ${namespace}/${pod}`, r);
}
