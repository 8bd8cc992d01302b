// A tar archive as a list of checked entries, and back. tar-stream parses and
// writes the format (ustar, pax and GNU long names, checksums) instead of
// hand-written header parsing; this file adds berth's rules: every entry passes
// entryProblem, and the archive and its content stay under their caps.
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { cleanEntryName, entryProblem, type EntryType } from './entry-policy.js';
import { ArchiveEntryError, ArchiveLimitError, MAX_ARCHIVE_ENTRIES, mib } from './limits.js';

export interface TarEntry {
  /** Clean relative path ("src/a.txt"). */
  path: string;
  type: EntryType;
  /** Permission bits only (no setuid, setgid, sticky). */
  mode: number;
  mtime: Date;
  /** File content (empty for directories and links). */
  data: Buffer;
  /** Symlink target, or for a hard link the path of the entry it repeats. */
  linkname?: string;
}

export interface ReadLimits {
  /** Cap on the archive's bytes and, separately, on the sum of its file sizes. */
  maxBytes: number;
  /** Names the archive in errors ("the upload", "/work/out in runner-x"). */
  what: string;
}

/** Reads at most maxBytes of a stream; more is an ArchiveLimitError. */
export async function readCapped(input: NodeJS.ReadableStream, maxBytes: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of Readable.from(input as AsyncIterable<Buffer>)) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += b.length;
    if (size > maxBytes) {
      (input as Readable).destroy?.();
      throw new ArchiveLimitError(`${what} is larger than the limit of ${mib(maxBytes)}`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** Parses a tar held in memory; throws ArchiveEntryError on a refused entry, ArchiveLimitError past a cap. */
export async function readTarEntries(archive: Buffer, limits: ReadLimits): Promise<TarEntry[]> {
  if (archive.length > limits.maxBytes) throw new ArchiveLimitError(`${limits.what} is larger than the limit of ${mib(limits.maxBytes)}`);
  const extract = tar.extract();
  const entries: TarEntry[] = [];
  let content = 0;
  const parsing = (async () => {
    for await (const entry of extract) {
      const h = entry.header;
      const type: string = h.type ?? 'file';
      // pax global headers carry no file; tar-stream folds per-entry pax headers into the next header.
      if (type === 'pax-global-header') {
        entry.resume();
        continue;
      }
      const problem = entryProblem({ name: h.name, type, linkname: h.linkname });
      if (problem) throw new ArchiveEntryError(`${limits.what}: ${problem}`);
      if (entries.length >= MAX_ARCHIVE_ENTRIES) throw new ArchiveLimitError(`${limits.what} has more than ${MAX_ARCHIVE_ENTRIES} entries`);
      const chunks: Buffer[] = [];
      for await (const c of entry as AsyncIterable<Buffer>) {
        content += c.length;
        if (content > limits.maxBytes) throw new ArchiveLimitError(`${limits.what} holds more than ${mib(limits.maxBytes)} of file content`);
        chunks.push(c);
      }
      const clean = cleanEntryName(h.name);
      entries.push({
        path: clean.ok ? clean.path : h.name,
        type: type as EntryType,
        mode: (h.mode ?? (type === 'directory' ? 0o755 : 0o644)) & 0o777,
        mtime: h.mtime ?? new Date(),
        data: Buffer.concat(chunks),
        ...(h.linkname ? { linkname: type === 'link' ? normalizeLinkPath(h.linkname) : h.linkname } : {}),
      });
    }
  })();
  extract.end(archive);
  try {
    await parsing;
  } catch (e) {
    extract.destroy();
    if (e instanceof ArchiveEntryError || e instanceof ArchiveLimitError) throw e;
    throw new ArchiveEntryError(`${limits.what} is not a valid tar archive: ${(e as Error).message}`, { cause: e });
  }
  return entries;
}

function normalizeLinkPath(p: string): string {
  const clean = cleanEntryName(p);
  return clean.ok ? clean.path : p;
}

/** Writes entries as a tar (directories get a trailing slash, as tar does). */
export async function packTarEntries(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const out: Buffer[] = [];
  pack.on('data', (c: unknown) => void out.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    pack.once('end', () => resolve());
    pack.once('error', reject);
  });
  for (const e of entries) {
    const header: Partial<tar.Header> & { name: string } = {
      name: e.type === 'directory' ? `${e.path}/` : e.path,
      type: e.type,
      mode: e.mode,
      mtime: e.mtime,
      size: e.type === 'file' ? e.data.length : 0,
      ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
    };
    await new Promise<void>((resolve, reject) => pack.entry(header as tar.Header, e.type === 'file' ? e.data : Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await ended;
  return Buffer.concat(out);
}
