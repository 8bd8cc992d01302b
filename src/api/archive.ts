// Files in and out of an Instance's container (or a claimed pool member), for
// `berth cp`: GET .../instances/{name}/archive?path=P answers a tar of P;
// PUT with a tar body unpacks it at P, with docker cp's meaning of P (an
// existing directory receives the archive's top entry; a missing path, or an
// existing file replaced by a file, takes the top entry's place).
//
// Both directions are capped (archiveLimitBytes) and every entry is checked
// (src/archive/entry-policy.ts) before anything reaches the engine or the
// client: the upload may come from anyone holding the token, the download from
// a sandbox that may be hostile.
import { posix } from 'node:path';
import { cleanEntryName, renameTop, topOf } from '../archive/entry-policy.js';
import { ArchiveEntryError, ArchiveLimitError, DEFAULT_ARCHIVE_LIMIT_BYTES } from '../archive/limits.js';
import { packTarEntries, readCapped, readTarEntries, type TarEntry } from '../archive/tar-entries.js';
import type { ResourceKey } from '../spec/schema.js';
import type { ApiDeps, RequestContext } from './context.js';
import { containerOf, runtimeFailure } from './exec.js';
import { ApiError, badRequest, methodNotAllowed, sendJson } from './status.js';

/** The `path` parameter: absolute, normalised, no NUL. */
export function containerPath(raw: string | null): string {
  if (raw === null || raw === '') throw badRequest('the path parameter is required: ?path=/absolute/path/in/the/container');
  if (raw.includes('\0')) throw badRequest('path contains a NUL byte');
  if (!raw.startsWith('/')) throw badRequest(`path must be absolute inside the container, got ${JSON.stringify(raw)}`);
  const p = posix.normalize(raw);
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

type ArchiveRuntime = NonNullable<ApiDeps['archive']>;

function limitError(e: ArchiveLimitError): ApiError {
  return new ApiError(413, 'RequestEntityTooLarge', e.message);
}

export async function handleArchive(ctx: RequestContext, deps: ApiDeps, key: ResourceKey): Promise<void> {
  if (ctx.method !== 'GET' && ctx.method !== 'PUT') throw methodNotAllowed(ctx.method, ['GET', 'PUT']);
  const runtime = deps.archive;
  if (!runtime) throw new ApiError(404, 'NotFound', 'this controller does not copy files (no archive runtime was given to the API)');
  const path = containerPath(ctx.url.searchParams.get('path'));
  const containerId = containerOf(deps, key, ctx.method === 'PUT');
  const limit = deps.archiveLimitBytes ?? DEFAULT_ARCHIVE_LIMIT_BYTES;
  const where = `${path} in instance "${key.name}"`;
  try {
    if (ctx.method === 'GET') await copyOut(ctx, runtime, containerId, path, limit, where);
    else await copyIn(ctx, runtime, containerId, path, limit, where);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    if (e instanceof ArchiveLimitError) throw limitError(e);
    if (ctx.signal.aborted) throw e;
    throw runtimeFailure(e, key, containerId) ?? e;
  }
}

async function copyOut(ctx: RequestContext, runtime: ArchiveRuntime, containerId: string, path: string, limit: number, where: string): Promise<void> {
  const stat = await runtime.statPath(containerId, path, ctx.signal);
  if (!stat) throw new ApiError(404, 'NotFound', `no such file or directory: ${where}`);
  const archive = await runtime.getArchive(containerId, path, limit, ctx.signal);
  try {
    await readTarEntries(archive, { maxBytes: limit, what: `the archive of ${where}` });
  } catch (e) {
    if (e instanceof ArchiveEntryError) throw new ApiError(409, 'Conflict', `refusing to hand out ${where}: ${e.message}`);
    throw e;
  }
  ctx.res.writeHead(200, {
    'Content-Type': 'application/x-tar',
    'Content-Length': String(archive.length),
    'X-Berth-Path-Type': stat.type,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  ctx.res.end(archive);
}

async function copyIn(ctx: RequestContext, runtime: ArchiveRuntime, containerId: string, path: string, limit: number, where: string): Promise<void> {
  const type = (ctx.req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-tar' && type !== 'application/tar') {
    throw new ApiError(415, 'UnsupportedMediaType', `a copy into a container takes a tar body (Content-Type: application/x-tar), got ${JSON.stringify(type || '(none)')}`);
  }
  const declared = Number(ctx.req.headers['content-length'] ?? NaN);
  if (declared > limit) throw limitError(new ArchiveLimitError(`the upload (${declared} bytes) is larger than the limit of ${limit} bytes`));
  const body = await readCapped(ctx.req, limit, 'the upload');
  let entries: TarEntry[];
  try {
    entries = await readTarEntries(body, { maxBytes: limit, what: 'the upload' });
  } catch (e) {
    if (e instanceof ArchiveEntryError) throw badRequest(e.message);
    throw e;
  }
  if (entries.length === 0) throw badRequest('the upload is an empty archive');
  const tops = new Set(entries.map((e) => topOf(e.path)));
  if (tops.has('.')) throw badRequest('the upload names the target directory itself ("."); pack the copied file or directory by its name');

  const stat = await runtime.statPath(containerId, path, ctx.signal);
  let dir: string;
  let unpacked = entries;
  if (stat?.type === 'directory') {
    dir = path;
  } else {
    // The path itself becomes the copied file or directory, as docker cp does.
    if (path === '/') throw badRequest('cannot replace the root directory');
    if (tops.size !== 1) throw badRequest(`${where} is not a directory, so the upload must hold one file or directory, not ${tops.size}`);
    const top = [...tops][0]!;
    const topEntry = entries.find((e) => e.path === top);
    if (stat && (stat.type === 'file' || stat.type === 'symlink' || stat.type === 'other') && topEntry?.type === 'directory') {
      throw new ApiError(409, 'Conflict', `cannot copy a directory onto the file ${where}`);
    }
    dir = posix.dirname(path);
    const parent = await runtime.statPath(containerId, dir, ctx.signal);
    if (parent?.type !== 'directory') throw new ApiError(404, 'NotFound', `the directory ${dir} does not exist in the container (copying to ${where})`);
    const name = posix.basename(path);
    unpacked = entries.map((e) => ({ ...e, path: renameTop(e.path, name), ...(e.type === 'link' && e.linkname ? { linkname: renameLink(e.linkname, top, name) } : {}) }));
  }
  await runtime.putArchive(containerId, dir, await packTarEntries(unpacked), ctx.signal);
  sendJson(ctx.res, 200, {
    path,
    entries: entries.length,
    bytes: entries.reduce((n, e) => n + e.data.length, 0),
  });
}

function renameLink(linkname: string, top: string, to: string): string {
  const clean = cleanEntryName(linkname);
  return clean.ok && topOf(clean.path) === top ? renameTop(clean.path, to) : linkname;
}
