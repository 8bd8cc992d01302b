// Files in and out of a container through the engine's archive API
// (HEAD/GET/PUT /containers/{id}/archive), the calls `docker cp` makes, or tar
// over exec where that API cannot reach (needsExec). The engine resolves paths
// inside the container's root, so nothing it unpacks can land on the host;
// berth still checks every entry before it sends one.
import type Dockerode from 'dockerode';
import { ArchiveLimitError, mib } from '../../archive/limits.js';
import { readCapped } from '../../archive/tar-entries.js';
import { RuntimeError, isRuntimeError } from '../errors.js';
import { statCommand, statFromAnswer, tarCreateCommand, tarExtractCommand, tarFailure } from '../tar-exec.js';
import type { PathStat } from '../types.js';
import { dockerCall, type DockerTimeouts } from './call.js';
import { runExec } from './exec.js';

/** Go's os.FileMode type bits, as the engine sends them in X-Docker-Container-Path-Stat. */
const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;
const hasBit = (mode: number, bit: number): boolean => Math.floor(mode / bit) % 2 === 1;

export function statFromHeader(header: string | undefined): PathStat | undefined {
  if (!header) return undefined;
  const stat = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as { size?: number; mode?: number };
  const mode = stat.mode ?? 0;
  const type = hasBit(mode, MODE_DIR) ? 'directory' : hasBit(mode, MODE_SYMLINK) ? 'symlink' : mode < 2 ** 20 ? 'file' : 'other';
  return { type, size: stat.size ?? 0 };
}

type ArchiveStream = NodeJS.ReadableStream & { headers?: Record<string, string | string[] | undefined>; resume?: () => void };

export async function statPath(docker: Dockerode, id: string, path: string, t: DockerTimeouts, signal?: AbortSignal): Promise<PathStat | undefined> {
  try {
    const res = (await dockerCall('stat path', t.archive, signal, (s) => docker.getContainer(id).infoArchive({ path, abortSignal: s } as object))) as ArchiveStream;
    res.resume?.();
    const header = res.headers?.['x-docker-container-path-stat'];
    return statFromHeader(Array.isArray(header) ? header[0] : header);
  } catch (e) {
    if (isRuntimeError(e, 'NotFound')) return undefined;
    throw e;
  }
}

export async function getArchive(docker: Dockerode, id: string, path: string, maxBytes: number, t: DockerTimeouts, signal?: AbortSignal): Promise<Buffer> {
  // The deadline covers the whole transfer, not just the opening: a stalled engine must not hold a request forever.
  const got = await dockerCall('get archive', t.archive, signal, async (s) => {
    const stream = (await docker.getContainer(id).getArchive({ path, abortSignal: s })) as NodeJS.ReadableStream;
    try {
      return { data: await readCapped(stream, maxBytes, `the archive of ${path}`) };
    } catch (e) {
      if (e instanceof ArchiveLimitError) return { tooLarge: e };
      throw e;
    }
  });
  if ('tooLarge' in got) throw got.tooLarge;
  return got.data;
}

export async function putArchive(docker: Dockerode, id: string, dir: string, archive: Buffer, t: DockerTimeouts, signal?: AbortSignal): Promise<void> {
  try {
    await dockerCall('put archive', t.archive, signal, (s) =>
      docker.getContainer(id).putArchive(archive, { path: dir, noOverwriteDirNonDir: 'true', abortSignal: s } as object),
    );
  } catch (e) {
    // A read-only root or a file where a directory should be: the engine says which.
    if (isRuntimeError(e) && (e.code === 'Unknown' || e.code === 'Invalid')) throw new RuntimeError('Invalid', e.message, { cause: e });
    throw e;
  }
}

/**
 * The engine's archive API writes into the container's own layer: it refuses a
 * read-only root, and under a tmpfs mount it would read and write the layer
 * beneath the mount, not what the container sees. Those paths go through tar
 * over exec instead (src/runtime/tar-exec.ts).
 */
export function needsExec(info: Pick<Dockerode.ContainerInspectInfo, 'HostConfig' | 'Mounts'>, path: string): boolean {
  if (info.HostConfig?.ReadonlyRootfs) return true;
  const tmpfs = [...Object.keys(info.HostConfig?.Tmpfs ?? {}), ...(info.Mounts ?? []).filter((m) => (m.Type as string) === 'tmpfs').map((m) => m.Destination)];
  return tmpfs.some((t) => path === t || path.startsWith(t.endsWith('/') ? t : `${t}/`));
}

export async function statPathByExec(docker: Dockerode, id: string, path: string, t: DockerTimeouts, signal?: AbortSignal): Promise<PathStat | undefined> {
  const what = `stat ${path} in container ${id.slice(0, 12)}`;
  const r = await runExec(docker, id, { command: statCommand(path), timeoutMs: t.archive, outputCapBytes: 4096 }, t, signal);
  if (r.exitCode !== 0) throw tarFailure(what, r.exitCode, r.stderr || r.stdout);
  return statFromAnswer(r.stdout, what);
}

export async function getArchiveByExec(docker: Dockerode, id: string, path: string, maxBytes: number, t: DockerTimeouts, signal?: AbortSignal): Promise<Buffer> {
  const r = await runExec(docker, id, { command: tarCreateCommand(path), timeoutMs: t.archive, outputCapBytes: maxBytes, binaryStdout: true }, t, signal);
  if (r.timedOut) throw new RuntimeError('Timeout', `tar of ${path} did not finish within ${t.archive} ms`);
  // tar's own failure first: GNU tar still writes an end-of-archive block for a missing path.
  if (r.exitCode !== 0) throw tarFailure(`tar of ${path} in container ${id.slice(0, 12)}`, r.exitCode, r.stderr);
  const out = r.stdoutBytes ?? Buffer.alloc(0);
  if (r.truncated && out.length >= maxBytes) throw new ArchiveLimitError(`the archive of ${path} is larger than the limit of ${mib(maxBytes)}`);
  return out;
}

export async function putArchiveByExec(docker: Dockerode, id: string, dir: string, archive: Buffer, t: DockerTimeouts, signal?: AbortSignal): Promise<void> {
  const r = await runExec(docker, id, { command: tarExtractCommand(dir), stdin: archive, timeoutMs: t.archive, outputCapBytes: 64 * 1024 }, t, signal);
  if (r.timedOut) throw new RuntimeError('Timeout', `unpacking into ${dir} did not finish within ${t.archive} ms`);
  if (r.exitCode !== 0) throw tarFailure(`unpacking into ${dir} in container ${id.slice(0, 12)}`, r.exitCode, r.stderr || r.stdout);
}
