import { lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packTarEntries } from '../archive/tar-entries.js';
import { parseRemote } from './commands/cp.js';
import { extractLocal, packLocal } from './local-archive.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-cp-unit-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const t = new Date(1_700_000_000_000);

describe('packLocal / extractLocal', () => {
  it('a directory round-trips into an existing directory and onto a new name', async () => {
    await mkdir(join(dir, 'src/sub'), { recursive: true });
    await writeFile(join(dir, 'src/a.txt'), 'alpha');
    await writeFile(join(dir, 'src/sub/b.bin'), Buffer.from([0, 255, 1]));
    await symlink('a.txt', join(dir, 'src/link'));
    const { archive, entries, bytes } = await packLocal(join(dir, 'src'), 1 << 20);
    expect([entries, bytes]).toEqual([5, 8]);

    await mkdir(join(dir, 'into'));
    await extractLocal(archive, join(dir, 'into'), 1 << 20, 'test');
    expect(await readFile(join(dir, 'into/src/a.txt'), 'utf8')).toBe('alpha');
    expect([...(await readFile(join(dir, 'into/src/sub/b.bin')))]).toEqual([0, 255, 1]);
    expect(await readlink(join(dir, 'into/src/link'))).toBe('a.txt');

    await extractLocal(archive, join(dir, 'renamed'), 1 << 20, 'test');
    expect(await readFile(join(dir, 'renamed/sub/b.bin'))).toEqual(Buffer.from([0, 255, 1]));
  });

  it('a file lands in a directory, on a new name, or over a file', async () => {
    const archive = await packTarEntries([{ path: 'out.txt', type: 'file', mode: 0o644, mtime: t, data: Buffer.from('report') }]);
    await extractLocal(archive, dir, 1 << 20, 'test');
    await extractLocal(archive, join(dir, 'copy.txt'), 1 << 20, 'test');
    await writeFile(join(dir, 'old.txt'), 'old');
    await extractLocal(archive, join(dir, 'old.txt'), 1 << 20, 'test');
    for (const f of ['out.txt', 'copy.txt', 'old.txt']) expect(await readFile(join(dir, f), 'utf8')).toBe('report');
    expect((await lstat(join(dir, 'out.txt'))).mtime.getTime()).toBe(t.getTime());
    await expect(extractLocal(archive, join(dir, 'missing/x.txt'), 1 << 20, 'test')).rejects.toThrow(/no such directory/);
  });

  it('never writes through a link: one already there, or one the archive made', async () => {
    await mkdir(join(dir, 'outside'));
    await mkdir(join(dir, 'dest'));
    await symlink(join(dir, 'outside'), join(dir, 'dest/src'));
    const archive = await packTarEntries([
      { path: 'src', type: 'directory', mode: 0o755, mtime: t, data: Buffer.alloc(0) },
      { path: 'src/x', type: 'file', mode: 0o644, mtime: t, data: Buffer.from('x') },
    ]);
    await expect(extractLocal(archive, join(dir, 'dest'), 1 << 20, 'the archive')).rejects.toThrow(/src exists and is not a directory/);

    const sneaky = await packTarEntries([
      { path: 'top', type: 'directory', mode: 0o755, mtime: t, data: Buffer.alloc(0) },
      { path: 'top/l', type: 'symlink', mode: 0o777, mtime: t, data: Buffer.alloc(0), linkname: '.' },
      { path: 'top/l/x', type: 'file', mode: 0o644, mtime: t, data: Buffer.from('x') },
    ]);
    await expect(extractLocal(sneaky, join(dir, 'dest'), 1 << 20, 'the archive')).rejects.toThrow(/refusing to write through the symbolic link .*top\/l/);

    // A file entry over an existing link replaces the link; the link's target is untouched.
    await writeFile(join(dir, 'outside/secret'), 'keep');
    await symlink(join(dir, 'outside/secret'), join(dir, 'dest/out.txt'));
    await extractLocal(await packTarEntries([{ path: 'out.txt', type: 'file', mode: 0o644, mtime: t, data: Buffer.from('new') }]), join(dir, 'dest'), 1 << 20, 'test');
    expect(await readFile(join(dir, 'outside/secret'), 'utf8')).toBe('keep');
    expect((await lstat(join(dir, 'dest/out.txt'))).isFile()).toBe(true);
  });

  it('refuses to pack a link out of the tree, and more than the cap', async () => {
    await mkdir(join(dir, 'src'));
    await symlink('/etc/passwd', join(dir, 'src/pw'));
    await expect(packLocal(join(dir, 'src'), 1 << 20)).rejects.toThrow(/links to the absolute path "\/etc\/passwd", outside the copied tree/);
    await writeFile(join(dir, 'big'), Buffer.alloc(5000));
    await expect(packLocal(join(dir, 'big'), 4096)).rejects.toThrow(/holds more than 4096 bytes/);
  });
});

describe('parseRemote', () => {
  it('tells INSTANCE:PATH from local paths', () => {
    expect(parseRemote('runner-x:/work')).toEqual({ instance: 'runner-x', path: '/work' });
    expect(parseRemote('py-a1b2:out.txt')).toEqual({ instance: 'py-a1b2', path: 'out.txt' });
    expect(parseRemote('./src')).toBeUndefined();
    expect(parseRemote('/tmp/a:b')).toBeUndefined();
    expect(parseRemote('C:\\src')).toBeUndefined();
    expect(() => parseRemote('web:')).toThrow(/give a path in the container/);
  });
});
