import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readFileIfExists, writeFileAtomic } from './atomic-file.js';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('writes and replaces a file, leaving no temp file behind', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-atomic-'));
    const file = join(dir, 'claims.json');
    await writeFileAtomic(file, 'one');
    await writeFileAtomic(file, 'two');
    expect(await readFile(file, 'utf8')).toBe('two');
    expect(await readdir(dir)).toEqual(['claims.json']);
  });

  it('makes the directory, and makes it again after it went away', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-atomic-'));
    const file = join(dir, 'state', 'deep', 'applied.json');
    await writeFileAtomic(file, 'a');
    await rm(join(dir, 'state'), { recursive: true });
    await writeFileAtomic(file, 'b');
    expect(await readFileIfExists(file)).toBe('b');
  });

  it('concurrent writes to different files all land', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-atomic-'));
    await Promise.all(Array.from({ length: 20 }, (_, i) => writeFileAtomic(join(dir, `f${i}`), `v${i}`)));
    const texts = await Promise.all(Array.from({ length: 20 }, (_, i) => readFile(join(dir, `f${i}`), 'utf8')));
    expect(texts).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`));
  });

  it('a failure names the file and carries the system error as its cause, and keeps the old content', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-atomic-'));
    const file = join(dir, 'claims.json');
    await writeFile(file, 'old');
    // A directory where the file should go: the rename fails (EISDIR/ENOTEMPTY), whoever runs the test.
    const blocked = join(dir, 'blocked');
    await writeFileAtomic(join(blocked, 'x'), 'x');
    const err = (await writeFileAtomic(blocked, 'new').then(
      () => undefined,
      (e: unknown) => e,
    )) as Error & { cause?: { code?: string } };
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe(`cannot write ${blocked}`);
    expect(['EISDIR', 'ENOTEMPTY', 'EEXIST']).toContain(err.cause?.code);
    expect(await readFile(file, 'utf8')).toBe('old');
    expect((await readdir(dir)).sort()).toEqual(['blocked', 'claims.json']);
  });

  it('readFileIfExists: undefined for a missing file', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-atomic-'));
    expect(await readFileIfExists(join(dir, 'none'))).toBeUndefined();
  });
});
