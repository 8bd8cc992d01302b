// The local end of `berth cp`: packs a local file or directory into a tar
// (links are stored as links, never followed), and unpacks a tar from a
// container without writing outside the destination: every entry passed
// entryProblem (no absolute names, no `..`, no link out of the tree), and
// nothing is written through a symbolic link that already exists or that the
// archive itself created, since a link inside the tree could still point at
// something outside once it is on disk.
import { constants } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, open, readdir, readFile, readlink, rm, symlink, utimes } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { entryProblem, renameTop, topOf } from '../archive/entry-policy.js';
import { ArchiveLimitError, mib } from '../archive/limits.js';
import { packTarEntries, readTarEntries, type TarEntry } from '../archive/tar-entries.js';
import { CliError } from './errors.js';

const errnoOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

async function lstatOrUndefined(path: string): Promise<import('node:fs').Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** A tar of `src` whose top entry is src's own name, as `docker cp` sends it. */
export async function packLocal(src: string, maxBytes: number): Promise<{ archive: Buffer; entries: number; bytes: number }> {
  const root = resolve(src);
  const top = basename(root);
  const rootStat = await lstatOrUndefined(root);
  if (!rootStat) throw new CliError(`${src}: no such file or directory`);
  const entries: TarEntry[] = [];
  let bytes = 0;
  const add = async (abs: string, rel: string): Promise<void> => {
    const st = await lstat(abs);
    const mode = st.mode & 0o777;
    const mtime = st.mtime;
    if (st.isDirectory()) {
      entries.push({ path: rel, type: 'directory', mode, mtime, data: Buffer.alloc(0) });
      for (const name of (await readdir(abs)).sort()) await add(join(abs, name), `${rel}/${name}`);
    } else if (st.isFile()) {
      bytes += st.size;
      if (bytes > maxBytes) throw new CliError(`${src} holds more than ${mib(maxBytes)} (raise --max-size, and the controller's --max-copy-size)`);
      entries.push({ path: rel, type: 'file', mode, mtime, data: await readFile(abs) });
    } else if (st.isSymbolicLink()) {
      const linkname = await readlink(abs);
      const problem = entryProblem({ name: rel, type: 'symlink', linkname });
      if (problem) throw new CliError(`${abs}: ${problem}; berth cp copies links as links and refuses ones that leave the tree`);
      entries.push({ path: rel, type: 'symlink', mode: 0o777, mtime, data: Buffer.alloc(0), linkname });
    } else {
      throw new CliError(`${abs} is neither a file, a directory nor a symbolic link (sockets, FIFOs and devices are not copied)`);
    }
  };
  await add(root, top === '' ? '.' : top);
  const archive = await packTarEntries(entries);
  if (archive.length > maxBytes) throw new CliError(`${src} packs to more than ${mib(maxBytes)} (raise --max-size, and the controller's --max-copy-size)`);
  return { archive, entries: entries.length, bytes };
}

export interface Extracted {
  entries: number;
  bytes: number;
}

/**
 * Unpacks an archive from a container at `dest`, with docker cp's meaning:
 * an existing directory receives the top entry; a missing path (whose parent
 * exists) or an existing file replaced by a file takes its place.
 */
export async function extractLocal(archive: Buffer, dest: string, maxBytes: number, what: string): Promise<Extracted> {
  let entries: TarEntry[];
  try {
    entries = await readTarEntries(archive, { maxBytes, what });
  } catch (e) {
    if (e instanceof ArchiveLimitError) throw new CliError(`${e.message} (raise --max-size)`, undefined, [], { cause: e });
    throw new CliError((e as Error).message, undefined, [], { cause: e });
  }
  if (entries.length === 0) throw new CliError(`${what} is empty`);
  const tops = new Set(entries.map((e) => topOf(e.path)));
  const destAbs = resolve(dest);
  const destStat = await lstatOrUndefined(destAbs);
  let root: string;
  if (destStat?.isDirectory()) {
    root = destAbs;
  } else {
    if (tops.size !== 1) throw new CliError(`${dest} is not a directory, and ${what} holds ${tops.size} top-level entries`);
    const [top] = [...tops] as [string];
    const topEntry = entries.find((e) => e.path === top);
    if (destStat && topEntry?.type === 'directory') throw new CliError(`cannot copy a directory onto the file ${dest}`);
    root = dirname(destAbs);
    const parent = await lstatOrUndefined(root);
    if (!parent?.isDirectory()) throw new CliError(`${dirname(dest)}: no such directory`);
    const name = basename(destAbs);
    entries = entries.map((e) => ({ ...e, path: renameTop(e.path, name), ...(e.type === 'link' && e.linkname && topOf(e.linkname) === top ? { linkname: renameTop(e.linkname, name) } : {}) }));
  }

  const dirs: Array<{ path: string; mode: number; mtime: Date }> = [];
  let bytes = 0;
  for (const e of entries) {
    const target = join(root, e.path);
    const rel = relative(root, target);
    if (rel.startsWith('..') || resolve(target) !== target) throw new CliError(`${what}: entry ${JSON.stringify(e.path)} would land outside ${root}`);
    await refuseLinksOnTheWay(root, rel, what);
    const existing = await lstatOrUndefined(target);
    switch (e.type) {
      case 'directory':
        if (existing && !existing.isDirectory()) throw new CliError(`${target} exists and is not a directory (${what} has a directory there)`);
        if (!existing) await mkdir(target, { mode: 0o700 });
        dirs.push({ path: target, mode: e.mode, mtime: e.mtime });
        break;
      case 'file': {
        if (existing?.isDirectory()) throw new CliError(`${target} is a directory (${what} has a file there)`);
        if (existing?.isSymbolicLink()) await rm(target); // replace the link, never write through it
        // O_NOFOLLOW: a link that appears between the check and the open fails instead of being followed.
        const fh = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
        try {
          await fh.writeFile(e.data);
        } finally {
          await fh.close();
        }
        await chmod(target, e.mode);
        await utimes(target, e.mtime, e.mtime);
        bytes += e.data.length;
        break;
      }
      case 'symlink':
        if (existing?.isDirectory()) throw new CliError(`${target} is a directory (${what} has a link there)`);
        if (existing) await rm(target);
        await symlink(e.linkname!, target);
        break;
      case 'link': {
        // A hard link repeats an earlier entry of this archive: copy it (a real hard link could reach outside).
        const source = join(root, e.linkname!);
        const st = await lstatOrUndefined(source);
        if (!st?.isFile() || relative(root, source).startsWith('..')) throw new CliError(`${what}: hard link ${JSON.stringify(e.path)} names ${JSON.stringify(e.linkname)}, which is not a file it unpacked`);
        if (existing) await rm(target, { recursive: false });
        await copyFile(source, target, constants.COPYFILE_EXCL);
        break;
      }
    }
  }
  // Directory modes last (deepest first), so a read-only directory does not stop its own content.
  for (const d of dirs.reverse()) {
    await chmod(d.path, d.mode);
    await utimes(d.path, d.mtime, d.mtime);
  }
  return { entries: entries.length, bytes };
}

/** Refuses a symbolic link at any directory between root and the entry (root itself is the user's choice). */
async function refuseLinksOnTheWay(root: string, rel: string, what: string): Promise<void> {
  const parts = rel.split(sep).slice(0, -1);
  let cur = root;
  for (const p of parts) {
    cur = join(cur, p);
    const st = await lstatOrUndefined(cur);
    if (st?.isSymbolicLink()) throw new CliError(`${what}: refusing to write through the symbolic link ${cur}`);
    if (st && !st.isDirectory()) throw new CliError(`${what}: ${cur} is not a directory`);
  }
}
