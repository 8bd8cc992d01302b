// A state file rewritten on a request's critical path (claims.state: each
// claim's binding). The file holds two preallocated slots, each a frame
// (magic, sequence, length, crc32, text); a write overwrites the older slot in
// place and fdatasyncs it. No inode is made and no block allocated, so the
// flush waits for no filesystem journal commit: on ext4 beside a busy
// container engine a rename's fsync waited tens of ms for the engine's
// metadata. A torn write leaves a bad checksum in the slot being written and
// the other slot (the last durable state) intact, so a crash still leaves the
// old or the new text.
//
// The overwrite runs on the event loop, synchronously: it is one pwrite and
// one fdatasync of a few KiB (0.4 ms at the median here), and a claim waits
// for it anyway. Handing it to a thread cost each claim two thread wake-ups and
// a message each way on top (0.7 ms at the median, more under load, when the
// reply waited for whatever the loop was doing). Making a new file (the first
// write, or a state that outgrew its slots) is temp file, fsync, rename, and
// goes to the writer thread like every such write.
import { closeSync, fdatasyncSync, fstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { writeFileAtomic } from './atomic-file.js';

const MAGIC = 0x42535431; // "BST1"
const HEADER = 20;
const FIRST_CAPACITY = 4096;

interface OpenSlots {
  fd: number;
  capacity: number;
  seq: number;
}

interface Slot {
  seq: number;
  capacity: number;
  text: string;
}

function frame(seq: number, text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  const head = Buffer.alloc(HEADER);
  head.writeUInt32BE(MAGIC, 0);
  head.writeUInt32BE(Math.floor(seq / 0x100000000), 4);
  head.writeUInt32BE(seq >>> 0, 8);
  head.writeUInt32BE(body.length, 12);
  head.writeUInt32BE(crc32(body, crc32(head.subarray(4, 16))), 16);
  return Buffer.concat([head, body]);
}

/** The newest intact slot of a slotted file's bytes; undefined when the bytes are not one. */
function newestSlot(buf: Buffer): Slot | undefined {
  if (buf.length < 2 * HEADER || buf.length % 2 !== 0) return undefined;
  const capacity = buf.length / 2;
  let best: Slot | undefined;
  for (let i = 0; i < 2; i++) {
    const at = i * capacity;
    if (buf.readUInt32BE(at) !== MAGIC) continue;
    const len = buf.readUInt32BE(at + 12);
    if (HEADER + len > capacity) continue;
    const body = buf.subarray(at + HEADER, at + HEADER + len);
    if (crc32(body, crc32(buf.subarray(at + 4, at + 16))) !== buf.readUInt32BE(at + 16)) continue;
    const seq = buf.readUInt32BE(at + 4) * 0x100000000 + buf.readUInt32BE(at + 8);
    if (!best || seq > best.seq) best = { seq, capacity, text: body.toString('utf8') };
  }
  return best;
}

/** The files this process writes, kept open between writes (one descriptor each). */
const open = new Map<string, OpenSlots>();
/** One write at a time per file: a new file is made asynchronously, and a write must not overtake it. */
const queues = new Map<string, Promise<void>>();

/**
 * The file as this process keeps it open, if it is still the one at the path:
 * still linked (a removed file, or one replaced by a rename, has no link left)
 * and still its size (one truncated and rewritten in place has another). An
 * fstat of the open descriptor: a stat of the path walked the directory, and
 * beside a busy engine that lookup waited on the filesystem for ms.
 */
function current(file: string): OpenSlots | undefined {
  const s = open.get(file);
  if (!s) return undefined;
  try {
    const st = fstatSync(s.fd);
    if (st.nlink > 0 && st.size === 2 * s.capacity) return s;
  } catch {
    // closed behind our back: made again below
  }
  // Replaced or removed behind this process's back: start over from the path.
  forget(file);
  return undefined;
}

function forget(file: string): void {
  const s = open.get(file);
  open.delete(file);
  if (s) {
    try {
      closeSync(s.fd);
    } catch {
      // already closed
    }
  }
}

function adopt(file: string): OpenSlots | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const slot = newestSlot(readFileSync(fd));
  if (!slot) {
    closeSync(fd);
    return undefined;
  }
  const s = { fd, capacity: slot.capacity, seq: slot.seq };
  open.set(file, s);
  return s;
}

/** A new slotted file, both slots preallocated (zeros written and flushed, so later overwrites allocate nothing). */
async function recreate(file: string, seq: number, f: Buffer): Promise<void> {
  let capacity = FIRST_CAPACITY;
  while (capacity < 2 * f.length) capacity *= 2;
  const bytes = Buffer.alloc(2 * capacity);
  f.copy(bytes, (seq % 2) * capacity);
  await writeFileAtomic(file, bytes);
  const fd = openSync(file, 'r+');
  open.set(file, { fd, capacity, seq });
}

async function writeSlot(file: string, text: string): Promise<void> {
  try {
    const s = current(file) ?? adopt(file);
    const seq = (s ? s.seq : 0) + 1;
    const f = frame(seq, text);
    if (!s || f.length > s.capacity) {
      if (s) forget(file);
      return await recreate(file, seq, f);
    }
    writeSync(s.fd, f, 0, f.length, (seq % 2) * s.capacity);
    fdatasyncSync(s.fd);
    s.seq = seq;
  } catch (e) {
    // Whatever happened, the next write starts again from the path.
    forget(file);
    throw new Error(`cannot write ${file}`, { cause: e });
  }
}

/**
 * Durable once resolved, like writeFileAtomic: the text goes into the older of
 * the file's two slots. Read it back with readStateFile.
 */
export function writeStateSlots(file: string, text: string): Promise<void> {
  const before = queues.get(file);
  const done = before ? before.catch(() => undefined).then(() => writeSlot(file, text)) : writeSlot(file, text);
  const settled = done.catch(() => undefined);
  queues.set(file, settled);
  void settled.then(() => {
    if (queues.get(file) === settled) queues.delete(file);
  });
  return done;
}

/**
 * The text last made durable by writeStateSlots (or a file written whole,
 * such as one from before slots); undefined when there is none.
 */
export async function readStateFile(file: string): Promise<string | undefined> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${file}`, { cause: e });
  }
  if (buf.length === 0) return undefined;
  const slot = newestSlot(buf);
  if (slot) return slot.text;
  if (buf.length >= 4 && buf.readUInt32BE(0) === MAGIC) throw new Error(`${file}: neither of its two copies is intact (bad checksum)`);
  // Not slotted: a file written whole before (read as it is).
  return buf.toString('utf8');
}
