import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { ArchiveEntryError, ArchiveLimitError } from './limits.js';
import { packTarEntries, readCapped, readTarEntries, type TarEntry } from './tar-entries.js';

const t = new Date(1_700_000_000_000);

/** A tar built without berth's checks, as a hostile client or sandbox could send it. */
async function rawTar(headers: Array<Partial<tar.Header> & { name: string; body?: string }>): Promise<Buffer> {
  const pack = tar.pack();
  const out: Buffer[] = [];
  pack.on('data', (c: unknown) => void out.push(c as Buffer));
  const ended = new Promise<void>((r) => pack.once('end', () => r()));
  for (const h of headers) {
    const { body, ...header } = h;
    pack.entry(header as tar.Header, body ?? '');
  }
  pack.finalize();
  await ended;
  return Buffer.concat(out);
}

describe('tar entries', () => {
  it('round-trips files, directories, links, modes and mtimes', async () => {
    const entries: TarEntry[] = [
      { path: 'src', type: 'directory', mode: 0o755, mtime: t, data: Buffer.alloc(0) },
      { path: 'src/a.bin', type: 'file', mode: 0o640, mtime: t, data: Buffer.from([0, 1, 2, 255]) },
      { path: 'src/' + 'n'.repeat(150), type: 'file', mode: 0o600, mtime: t, data: Buffer.from('long name') },
      { path: 'src/l', type: 'symlink', mode: 0o777, mtime: t, data: Buffer.alloc(0), linkname: 'a.bin' },
      { path: 'src/h', type: 'link', mode: 0o640, mtime: t, data: Buffer.alloc(0), linkname: 'src/a.bin' },
    ];
    const back = await readTarEntries(await packTarEntries(entries), { maxBytes: 1 << 20, what: 'test' });
    expect(back).toEqual(entries);
  });

  it('strips setuid, setgid and sticky bits', async () => {
    const back = await readTarEntries(await rawTar([{ name: 'x', mode: 0o4755 }]), { maxBytes: 1 << 20, what: 'test' });
    expect(back[0]!.mode).toBe(0o755);
  });

  it('refuses traversal entries with the entry named', async () => {
    for (const [h, message] of [
      [{ name: '../evil' }, 'the upload: entry "../evil" contains ".." (it would leave the target directory)'],
      [{ name: '/etc/cron.d/x' }, 'the upload: entry "/etc/cron.d/x" has an absolute path'],
      [{ name: 'ok/link', type: 'symlink', linkname: '/etc' }, 'the upload: entry "ok/link" links to the absolute path "/etc", outside the copied tree'],
      [{ name: 'dev', type: 'character-device' }, 'the upload: entry "dev" is a character-device; only files, directories and links are copied'],
    ] as const) {
      const err = await readTarEntries(await rawTar([{ name: 'ok', type: 'directory' }, h as { name: string }]), { maxBytes: 1 << 20, what: 'the upload' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ArchiveEntryError);
      expect((err as Error).message).toBe(message);
    }
  });

  it('caps the archive and its content', async () => {
    const archive = await rawTar([{ name: 'big', body: 'x'.repeat(5000) }]);
    await expect(readTarEntries(archive, { maxBytes: 4096, what: 'the upload' })).rejects.toThrow(new ArchiveLimitError('the upload is larger than the limit of 4096 bytes'));
    await expect(readCapped(Readable.from([Buffer.alloc(3000), Buffer.alloc(3000)]), 5000, 'the body')).rejects.toThrow(/the body is larger than the limit of 5000 bytes/);
  });

  it('says when the bytes are not a tar', async () => {
    const err = await readTarEntries(Buffer.from('not a tar archive, just text'.repeat(40)), { maxBytes: 1 << 20, what: 'the upload' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArchiveEntryError);
    expect((err as Error).message).toMatch(/^the upload is not a valid tar archive/);
  });
});
