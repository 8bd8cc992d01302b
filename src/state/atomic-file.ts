// Applied specs and state are written atomically: a crash leaves either the
// old or the new content. Applied specs and restart counts: temp file, fsync,
// rename (DESIGN's recipe); claims, written on each claim's critical path, use
// two slots in place (state-slots.ts), and make a new file with this. The
// directory is not fsynced: that only guards the rename against a power cut.
//
// The calls of a write (open, write, fsync, close, rename) run back to back on
// one worker thread: through the libuv threadpool each call was a hop back to
// the event loop, and under load each hop waited for whatever the loop was doing.
import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';

// Plain CommonJS so that it runs the same from the sources (tests) and the build.
// temp file, write, fsync, rename (DESIGN's recipe).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const { randomBytes } = require('node:crypto');

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

parentPort.on('message', ({ id, file, data }) => {
  try {
    replaceFile(file, data);
    parentPort.postMessage({ id });
  } catch (e) {
    parentPort.postMessage({ id, error: { message: e.message, code: e.code, syscall: e.syscall, path: e.path } });
  }
});
`;

interface Pending {
  resolve: () => void;
  reject: (e: Error) => void;
  file: string;
}

interface WorkerFailure {
  message: string;
  code?: string;
  syscall?: string;
  path?: string;
}

/**
 * The thread costs a controller about 10 MiB of RSS (its own V8 heap), and the
 * files it writes are written now and then (applied specs, restart counts, a
 * new claims file): it ends after this long without work, and starts again
 * for the next write.
 */
const IDLE_EXIT_MS = 10_000;

class DurableThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly idleExitMs: number) {}

  /** Whether the thread is running now (for tests). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** Replaces the file with `data`; writes run in the order they were asked for. */
  replace(file: string, data: string | Uint8Array): Promise<void> {
    clearTimeout(this.idleTimer);
    const worker = this.worker ?? this.spawn();
    const id = ++this.nextId;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, file });
      // A write in flight keeps the process alive; an idle thread does not.
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, file, data });
    });
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on('message', ({ id, error }: { id: number; error?: WorkerFailure }) => {
      const p = this.pending.get(id);
      if (!p) return;
      this.settled(id, worker);
      if (error) p.reject(new Error(`cannot write ${p.file}`, { cause: Object.assign(new Error(error.message), error) }));
      else p.resolve();
    });
    const lost = (cause: unknown): void => {
      // A thread ended for idleness is no longer the current one; what is pending belongs to its successor.
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(new Error(`cannot write ${p.file}: the writer thread stopped`, { cause }));
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
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await thread.replace(path, data);
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
