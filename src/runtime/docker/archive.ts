// Files in and out of a container through the engine's archive API
// (HEAD/GET/PUT /containers/{id}/archive), the calls `docker cp` makes. The
// engine resolves paths inside the container's root, so nothing it unpacks
// can land on the host; berth still checks every entry before it sends one.
import type Dockerode from 'dockerode';
import { ArchiveLimitError } from '../../archive/limits.js';
import { readCapped } from '../../archive/tar-entries.js';
import { RuntimeError, isRuntimeError } from '../errors.js';
import type { PathStat } from '../types.js';
import { dockerCall, type DockerTimeouts } from './call.js';

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
