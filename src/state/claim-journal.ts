// The changes made to claims.state since its last snapshot, so that a commit
// writes what changed (a claim, its binding) instead of every waiting claim:
// with thousands of claims queued on one pool, rewriting the whole state made
// every claim on every other pool wait for a megabyte to be serialised and
// flushed.
//
// The file is preallocated (zeros written and flushed once) and frames are
// written into it in place, like the slots of state-slots.ts: an append
// allocates no block and changes no size, so its fdatasync waits for no
// filesystem journal commit. Each frame is (magic, epoch, length, crc32,
// text). Only frames of the snapshot's epoch count, read from the start
// until the first that is not one (zeros, a torn write, a frame of an older
// epoch): after a new snapshot (epoch + 1) the journal starts again at
// offset 0 and what lies beyond its end is ignored.
import { closeSync, fdatasyncSync, fstatSync, openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { writeFileAtomic } from './atomic-file.js';

const MAGIC = 0x424a4e31; // "BJN1"
const HEADER = 16;
/** About two thousand claims' lifecycles (create, bind, release) between snapshots. */
export const JOURNAL_CAPACITY = 2 * 1024 * 1024;

function frame(epoch: number, text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  const head = Buffer.alloc(HEADER);
  head.writeUInt32BE(MAGIC, 0);
  head.writeUInt32BE(epoch >>> 0, 4);
  head.writeUInt32BE(body.length, 8);
  head.writeUInt32BE(crc32(body, crc32(head.subarray(4, 12))), 12);
  return Buffer.concat([head, body]);
}

/** The texts of the epoch's frames from the start of `buf`, and where the next frame goes. */
export function readFrames(buf: Buffer, epoch: number): { texts: string[]; end: number } {
  const texts: string[] = [];
  let at = 0;
  while (at + HEADER <= buf.length) {
    if (buf.readUInt32BE(at) !== MAGIC || buf.readUInt32BE(at + 4) !== epoch >>> 0) break;
    const len = buf.readUInt32BE(at + 8);
    if (at + HEADER + len > buf.length) break;
    const body = buf.subarray(at + HEADER, at + HEADER + len);
    if (crc32(body, crc32(buf.subarray(at + 4, at + 12))) !== buf.readUInt32BE(at + 12)) break;
    texts.push(body.toString('utf8'));
    at += HEADER + len;
  }
  return { texts, end: at };
}

export class ClaimJournal {
  private fd: number | undefined;
  private capacity = 0;
  private offset = 0;

  constructor(
    readonly file: string,
    private readonly size = JOURNAL_CAPACITY,
  ) {}

  /**
   * The texts written in this epoch, oldest first; later appends follow the
   * last of them. A missing file is made (preallocated).
   */
  async open(epoch: number): Promise<string[]> {
    this.close();
    let buf: Buffer | undefined;
    try {
      buf = await readFile(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${this.file}`, { cause: e });
    }
    const { texts, end } = buf ? readFrames(buf, epoch) : { texts: [], end: 0 };
    if (!buf || buf.length < HEADER) await writeFileAtomic(this.file, Buffer.alloc(this.size));
    this.fd = openSync(this.file, 'r+');
    this.capacity = fstatSync(this.fd).size;
    this.offset = end;
    return texts;
  }

  /** Durable once it returns true; false: it does not fit (write a snapshot, then reset). */
  append(epoch: number, text: string): boolean {
    if (this.fd === undefined) throw new Error(`${this.file} is not open`);
    const f = frame(epoch, text);
    if (this.offset + f.length > this.capacity) return false;
    try {
      writeSync(this.fd, f, 0, f.length, this.offset);
      fdatasyncSync(this.fd);
    } catch (e) {
      throw new Error(`cannot write ${this.file}`, { cause: e });
    }
    this.offset += f.length;
    return true;
  }

  get isOpen(): boolean {
    return this.fd !== undefined;
  }

  /** A snapshot of a new epoch holds everything: the journal starts again. */
  reset(): void {
    this.offset = 0;
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = undefined;
  }
}
