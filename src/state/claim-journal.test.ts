import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClaimJournal, readFrames } from './claim-journal.js';

let dir = '';
let journal: ClaimJournal | undefined;
afterEach(async () => {
  journal?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('ClaimJournal', () => {
  it('is made preallocated; appends fill it in place until one does not fit', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-journal-'));
    const file = join(dir, 'claims.journal');
    journal = new ClaimJournal(file, 256);
    expect(await journal.open(3)).toEqual([]);
    const inode = (await stat(file)).ino;
    expect(journal.append(3, 'a'.repeat(100))).toBe(true);
    expect(journal.append(3, 'b'.repeat(100))).toBe(true);
    expect(journal.append(3, 'c'.repeat(100))).toBe(false);
    expect([(await stat(file)).ino, (await stat(file)).size]).toEqual([inode, 256]);
    expect(readFrames(await readFile(file), 3).texts).toEqual(['a'.repeat(100), 'b'.repeat(100)]);
  });

  it('reads only the frames of its epoch, from the start, up to the first that is not one (torn, older, zeros)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-journal-'));
    const file = join(dir, 'claims.journal');
    journal = new ClaimJournal(file, 4096);
    await journal.open(1);
    for (const t of ['one', 'two', 'three']) journal.append(1, t);
    journal.reset();
    journal.append(2, 'fresh');
    journal.close();
    // Epoch 2 starts again at 0: the frames of epoch 1 beyond it do not count.
    journal = new ClaimJournal(file, 4096);
    expect(await journal.open(2)).toEqual(['fresh']);
    journal.append(2, 'more');
    journal.append(2, 'torn');
    journal.close();
    const bytes = await readFile(file);
    const tornAt = bytes.indexOf('torn');
    bytes[tornAt] = 'T'.charCodeAt(0);
    await writeFile(file, bytes);
    journal = new ClaimJournal(file, 4096);
    expect(await journal.open(2)).toEqual(['fresh', 'more']);
    // The next append goes where the torn frame began.
    journal.append(2, 'after');
    journal.close();
    expect(readFrames(await readFile(file), 2).texts).toEqual(['fresh', 'more', 'after']);
  });
});
