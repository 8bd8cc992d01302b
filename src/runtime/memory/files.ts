// A container's file tree for the memory runtime: what putArchive unpacks,
// statPath reports and getArchive packs again (the last path element as the
// top entry, as `docker cp` does). Paths are absolute and normalized.
import { posix } from 'node:path';
import { ArchiveLimitError, mib } from '../../archive/limits.js';
import { packTarEntries, readTarEntries, type TarEntry } from '../../archive/tar-entries.js';
import { RuntimeError } from '../errors.js';
import type { PathStat } from '../types.js';

type Node = Omit<TarEntry, 'path'>;

const clean = (p: string): string => posix.normalize(posix.join('/', p)).replace(/(.)\/$/, '$1');

export class MemoryFiles {
  private readonly nodes = new Map<string, Node>();

  constructor() {
    for (const dir of ['/', '/tmp']) this.nodes.set(dir, { type: 'directory', mode: 0o755, mtime: new Date(0), data: Buffer.alloc(0) });
  }

  stat(path: string): PathStat | undefined {
    const n = this.nodes.get(clean(path));
    if (!n) return undefined;
    return { type: n.type === 'link' ? 'file' : n.type, size: n.data.length };
  }

  async put(dir: string, archive: Buffer, maxBytes: number): Promise<void> {
    const base = clean(dir);
    if (this.nodes.get(base)?.type !== 'directory') throw new RuntimeError('NotFound', `putArchive: ${dir} is not a directory in the container`);
    for (const e of await readTarEntries(archive, { maxBytes, what: 'the archive' })) {
      const { path: _path, ...node } = e;
      this.nodes.set(clean(posix.join(base, e.path)), node);
    }
  }

  async get(path: string, maxBytes: number): Promise<Buffer> {
    const root = clean(path);
    if (!this.nodes.has(root)) throw new RuntimeError('NotFound', `getArchive: ${path}: no such file or directory`);
    const parent = posix.dirname(root);
    const entries = [...this.nodes.entries()]
      .filter(([p]) => p === root || p.startsWith(`${root}/`))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([p, n]): TarEntry => ({ ...n, path: posix.relative(parent, p) }));
    const tar = await packTarEntries(entries);
    if (tar.length > maxBytes) throw new ArchiveLimitError(`the archive of ${path} is larger than the limit of ${mib(maxBytes)}`);
    return tar;
  }
}
