// Applied specs and state are written atomically: a crash leaves either the
// old or the new content. Applied specs: temp file, fsync, rename (DESIGN's
// recipe); claims, written on each claim's critical path: two slots (below). The
// directory is not fsynced: that only guards the rename against a power cut,
// and costs a claim three more filesystem calls on its critical path.
//
// The calls of a write run back to back on one worker thread. Through the libuv
// threadpool each call was a hop back to the event loop, and under load each
// hop waited for whatever the loop was doing (a pool's reconcile, an engine
// answer): a claim's one durable write took 2-5 ms instead of the fsync's one.
import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';

// Plain CommonJS so that it runs the same from the sources (tests) and the build.
// Two ways to make a file durable:
//  replace: temp file, write, fsync, rename (DESIGN's recipe), for files written now and then.
//  slots:   the file holds two preallocated slots, each a frame (magic, sequence, length, crc32,
//           text); a write overwrites the older slot in place and fdatasyncs it. No inode is made
//           and no block allocated, so the flush waits for no filesystem journal commit: on ext4
//           beside a busy container engine a rename's fsync waited tens of ms for the engine's
//           metadata. A torn write leaves a bad checksum in the slot being written and the other
//           slot (the last durable state) intact, so a crash still leaves the old or the new text.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const { randomBytes } = require('node:crypto');
const { crc32 } = require('node:zlib');
const MAGIC = 0x42535431; // "BST1"
const HEADER = 20;
const open = new Map(); // file -> { fd, ino, capacity, seq }

function replaceFile(file, bytes) {
  const dir = path.dirname(file);
  const tmp = path.join(dir, '.' + path.basename(file) + '.' + randomBytes(6).toString('hex') + '.tmp');
  try {
    let fd;
    try {
      fd = fs.openSync(tmp, 'w', 0o600);
    } catch (e) {
      // The directory is made on first use, and again if it went away since.
      if (e.code !== 'ENOENT') throw e;
      fs.mkdirSync(dir, { recursive: true });
      fd = fs.openSync(tmp, 'w', 0o600);
    }
    try {
      fs.writeSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    try { fs.rmSync(tmp, { force: true }); } catch {}
    throw e;
  }
}

function frame(seq, text) {
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
function newestSlot(buf) {
  if (buf.length < 2 * HEADER || buf.length % 2 !== 0) return undefined;
  const capacity = buf.length / 2;
  let best;
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

function readSlotted(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    if (e.code === 'ENOENT') return { missing: true };
    throw e;
  }
  if (buf.length === 0) return { missing: true };
  const slot = newestSlot(buf);
  if (slot) return { text: slot.text };
  if (buf.length >= 4 && buf.readUInt32BE(0) === MAGIC) return { corrupt: true };
  // Not slotted: a file written whole before (read as it is).
  return { text: buf.toString('utf8') };
}

/** The file as this thread keeps it open, if it is still the one at the path. */
function current(file) {
  const s = open.get(file);
  if (!s) return undefined;
  try {
    const st = fs.statSync(file);
    if (st.ino === s.ino && st.size === 2 * s.capacity) return s;
  } catch {}
  // Replaced or removed behind this thread's back: start over from the path.
  open.delete(file);
  try { fs.closeSync(s.fd); } catch {}
  return undefined;
}

function adopt(file) {
  let fd;
  try {
    fd = fs.openSync(file, 'r+');
  } catch (e) {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  }
  const buf = fs.readFileSync(fd);
  const slot = newestSlot(buf);
  if (!slot) {
    fs.closeSync(fd);
    return undefined;
  }
  const s = { fd, ino: fs.fstatSync(fd).ino, capacity: slot.capacity, seq: slot.seq };
  open.set(file, s);
  return s;
}

/** A new slotted file, both slots preallocated (zeros written and flushed, so later overwrites allocate nothing). */
function recreate(file, seq, f) {
  let capacity = 4096;
  while (capacity < 2 * f.length) capacity *= 2;
  const bytes = Buffer.alloc(2 * capacity);
  f.copy(bytes, (seq % 2) * capacity);
  replaceFile(file, bytes);
  const fd = fs.openSync(file, 'r+');
  const s = { fd, ino: fs.fstatSync(fd).ino, capacity, seq };
  open.set(file, s);
}

function writeSlot(file, text) {
  const s = current(file) ?? adopt(file);
  const seq = (s ? s.seq : 0) + 1;
  const f = frame(seq, text);
  if (!s || f.length > s.capacity) {
    if (s) {
      open.delete(file);
      fs.closeSync(s.fd);
    }
    return recreate(file, seq, f);
  }
  fs.writeSync(s.fd, f, 0, f.length, (seq % 2) * s.capacity);
  fs.fdatasyncSync(s.fd);
  s.seq = seq;
}

parentPort.on('message', ({ id, op, file, data }) => {
  try {
    if (op === 'read') return parentPort.postMessage({ id, result: readSlotted(file) });
    if (op === 'slots') writeSlot(file, data);
    else replaceFile(file, data);
    parentPort.postMessage({ id });
  } catch (e) {
    if (op === 'slots') {
      // Whatever happened, the next write starts again from the path.
      const s = open.get(file);
      open.delete(file);
      if (s) try { fs.closeSync(s.fd); } catch {}
    }
    parentPort.postMessage({ id, error: { message: e.message, code: e.code, syscall: e.syscall, path: e.path } });
  }
});
`;

interface Pending {
  resolve: (result: unknown) => void;
  reject: (e: Error) => void;
  file: string;
  op: Op;
}

interface WorkerFailure {
  message: string;
  code?: string;
  syscall?: string;
  path?: string;
}

type Op = 'replace' | 'slots' | 'read';

/**
 * The thread costs a controller about 10 MiB of RSS (its own V8 heap). Until a
 * slotted file is written (a claim, whose next write is on a request's
 * critical path and must not wait for a new thread), it ends after this long
 * without work: state written now and then (applied specs, restart counts)
 * and the startup read do not keep it.
 */
const IDLE_EXIT_MS = 10_000;

class DurableThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private keepAlive = false;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly idleExitMs: number) {}

  /** Whether the thread is running now (for tests). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** Runs one operation on the thread; operations run in the order they were asked for. */
  run(op: Op, file: string, data?: string): Promise<unknown> {
    clearTimeout(this.idleTimer);
    if (op === 'slots') this.keepAlive = true;
    const worker = this.worker ?? this.spawn();
    const id = ++this.nextId;
    return new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, file, op });
      // An operation in flight keeps the process alive; an idle thread does not.
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, op, file, data });
    });
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on('message', ({ id, error, result }: { id: number; error?: WorkerFailure; result?: unknown }) => {
      const p = this.pending.get(id);
      if (!p) return;
      this.settled(id, worker);
      if (error) p.reject(new Error(`cannot ${p.op === 'read' ? 'read' : 'write'} ${p.file}`, { cause: Object.assign(new Error(error.message), error) }));
      else p.resolve(result);
    });
    const lost = (cause: unknown): void => {
      // A thread ended for idleness is no longer the current one; what is pending belongs to its successor.
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(new Error(`cannot ${p.op === 'read' ? 'read' : 'write'} ${p.file}: the writer thread stopped`, { cause }));
      }
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`exit code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private settled(id: number, worker: Worker): void {
    this.pending.delete(id);
    if (this.pending.size > 0) return;
    worker.unref();
    if (this.keepAlive) return;
    this.idleTimer = setTimeout(() => {
      if (this.worker !== worker || this.pending.size > 0) return;
      this.worker = undefined;
      void worker.terminate();
    }, this.idleExitMs);
    this.idleTimer.unref();
  }
}

const thread = new DurableThread(Number(process.env['BERTH_DURABLE_THREAD_IDLE_MS'] ?? IDLE_EXIT_MS));

/** Whether the thread that makes writes durable is running (it ends when idle; see IDLE_EXIT_MS). */
export const durableThreadRunning = (): boolean => thread.running;

/** Durable once resolved: the file holds `data` whole (or, after a crash, its previous content). */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  await thread.run('replace', path, data);
}

/**
 * Durable once resolved, like writeFileAtomic, for a file rewritten on a
 * request's critical path (each claim): the text goes into the older of the
 * file's two slots. Read it back with readStateFile.
 */
export async function writeStateSlots(path: string, data: string): Promise<void> {
  await thread.run('slots', path, data);
}

/**
 * The text last made durable by writeStateSlots (or a file written whole,
 * such as one from before slots); undefined when there is none.
 */
export async function readStateFile(path: string): Promise<string | undefined> {
  const r = (await thread.run('read', path)) as { text?: string; missing?: boolean; corrupt?: boolean };
  if (r.corrupt) throw new Error(`${path}: neither of its two copies is intact (bad checksum)`);
  return r.text;
}

/** The file's text, or undefined when it does not exist. */
export async function readFileIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}`, { cause: e });
  }
}
