import { mkdtemp, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readStateFile, writeStateSlots } from './state-slots.js';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const HEADER = 20;

/** Offset of the slot holding the highest sequence number (read straight from the bytes). */
async function newestSlotOffset(file: string): Promise<number> {
  const buf = await readFile(file);
  const capacity = buf.length / 2;
  const seq = (at: number): number => buf.readUInt32BE(at + 4) * 0x100000000 + buf.readUInt32BE(at + 8);
  return seq(0) > seq(capacity) ? 0 : capacity;
}

async function flipByte(file: string, at: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, at);
  } finally {
    await fh.close();
  }
}

describe('two-slot state files', () => {
  it('reads back the last text written, and undefined when there is no file', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-slots-'));
    const file = join(dir, 'state', 'claims.state');
    expect(await readStateFile(file)).toBeUndefined();
    for (let i = 0; i < 5; i++) await writeStateSlots(file, `{"n":${i}}`);
    expect(await readStateFile(file)).toBe('{"n":4}');
    // Two preallocated slots: the file does not grow with writes.
    expect((await stat(file)).size).toBe(8192);
  });

  it('a torn write in the slot being written leaves the previous text readable', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-slots-'));
    const file = join(dir, 'claims.state');
    await writeStateSlots(file, 'before');
    await writeStateSlots(file, 'after');
    await flipByte(file, (await newestSlotOffset(file)) + HEADER + 2);
    expect(await readStateFile(file)).toBe('before');
  });

  it('both copies damaged: an error naming the file, never a wrong text', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-slots-'));
    const file = join(dir, 'claims.state');
    await writeStateSlots(file, 'one');
    await writeStateSlots(file, 'two');
    await flipByte(file, HEADER);
    await flipByte(file, 4096 + HEADER);
    await expect(readStateFile(file)).rejects.toThrow(`${file}: neither of its two copies is intact`);
  });

  it('a text larger than a slot moves to a larger file, keeping what was written', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-slots-'));
    const file = join(dir, 'claims.state');
    await writeStateSlots(file, 'small');
    const big = 'x'.repeat(10_000);
    await writeStateSlots(file, big);
    expect(await readStateFile(file)).toBe(big);
    expect((await stat(file)).size).toBe(2 * 32768);
    await writeStateSlots(file, 'small again');
    expect(await readStateFile(file)).toBe('small again');
  });

  it('a file removed or rewritten by someone else between writes is made again, not written through a stale handle', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-slots-'));
    const file = join(dir, 'claims.state');
    await writeStateSlots(file, 'one');
    await rm(dir, { recursive: true });
    await writeStateSlots(file, 'two');
    expect(await readStateFile(file)).toBe('two');
    await writeFile(file, 'junk');
    await writeStateSlots(file, 'three');
    expect(await readStateFile(file)).toBe('three');
    // Replaced by a rename (a restore from a backup): the same size, another inode.
    await writeFile(`${file}.restored`, await readFile(file));
    await rename(`${file}.restored`, file);
    await writeStateSlots(file, 'four');
    expect(await readStateFile(file)).toBe('four');
  });

  it('a file written whole (no slots) is read as it is', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-slots-'));
    const file = join(dir, 'claims.state');
    await writeFile(file, '{"claims":{}}');
    expect(await readStateFile(file)).toBe('{"claims":{}}');
    await writeStateSlots(file, '{"claims":{"a":1}}');
    expect(await readStateFile(file)).toBe('{"claims":{"a":1}}');
  });
});
