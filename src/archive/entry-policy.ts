// What a tar entry may be, wherever berth unpacks one (the controller before
// it hands an archive to the engine, the CLI before it writes to local disk).
// Pure: names and link targets only. An archive comes from a user or from a
// sandbox that may be hostile, so every entry must stay inside the directory
// it is unpacked into: no absolute names, no `..`, no link whose target
// leaves the tree, and only files, directories and links (no devices, FIFOs).
import { posix } from 'node:path';

export type EntryType = 'file' | 'directory' | 'symlink' | 'link';

const ALLOWED: ReadonlySet<string> = new Set<EntryType>(['file', 'directory', 'symlink', 'link']);

/**
 * The entry's name as a clean relative path ("src/a.txt"; "." for the root),
 * or an error message saying why it is refused.
 */
export function cleanEntryName(name: string): { ok: true; path: string } | { ok: false; error: string } {
  if (name === '' || name.includes('\0')) return { ok: false, error: `entry ${JSON.stringify(name)} has an empty or NUL-containing name` };
  if (name.startsWith('/') || /^[A-Za-z]:[\\/]/.test(name)) return { ok: false, error: `entry ${JSON.stringify(name)} has an absolute path` };
  if (name.split(/[\\/]/).includes('..')) return { ok: false, error: `entry ${JSON.stringify(name)} contains ".." (it would leave the target directory)` };
  const path = posix.normalize(name.replace(/\\/g, '/')).replace(/\/+$/, '');
  return { ok: true, path: path === '' ? '.' : path };
}

/** Why an entry is refused, or undefined when it is fine. `linkname` is the link target of symlinks and hard links. */
export function entryProblem(entry: { name: string; type: string; linkname?: string | null | undefined }): string | undefined {
  if (!ALLOWED.has(entry.type)) return `entry ${JSON.stringify(entry.name)} is a ${entry.type}; only files, directories and links are copied`;
  const clean = cleanEntryName(entry.name);
  if (!clean.ok) return clean.error;
  if (entry.type === 'symlink' || entry.type === 'link') {
    const target = entry.linkname ?? '';
    if (target === '') return `entry ${JSON.stringify(entry.name)} is a link without a target`;
    if (target.startsWith('/')) return `entry ${JSON.stringify(entry.name)} links to the absolute path ${JSON.stringify(target)}, outside the copied tree`;
    // A symlink resolves against its own directory; a hard link names another entry of the archive.
    const base = entry.type === 'symlink' ? posix.dirname(clean.path) : '.';
    const resolved = posix.normalize(posix.join(base, target));
    if (resolved === '..' || resolved.startsWith('../')) return `entry ${JSON.stringify(entry.name)} links to ${JSON.stringify(target)}, outside the copied tree`;
  }
  return undefined;
}

/** The first path element of a clean entry path: "src" for "src/a/b". */
export const topOf = (path: string): string => path.split('/')[0]!;

/** Renames the top element of a clean path: rename("src/a", "dst") = "dst/a". */
export function renameTop(path: string, to: string): string {
  const rest = path.split('/').slice(1);
  return [to, ...rest].join('/');
}
