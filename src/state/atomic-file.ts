// Applied specs and state are written atomically: temp file, fsync, rename
// (DESIGN's recipe), so a crash leaves either the old or the new file. The
// directory is not fsynced: that only guards the rename against a power cut,
// and costs a claim three more filesystem calls on its critical path.
//
// The five calls run back to back on one worker thread. Through the libuv
// threadpool each call was a hop back to the event loop, and under load each
// hop waited for whatever the loop was doing (a pool's reconcile, an engine
// answer): a claim's one durable write took 2-5 ms instead of the fsync's one.
import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';

// Plain CommonJS so that it runs the same from the sources (tests) and the build.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const { randomBytes } = require('node:crypto');
parentPort.on('message', ({ id, file, data }) => {
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
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    parentPort.postMessage({ id });
  } catch (e) {
    try { fs.rmSync(tmp, { force: true }); } catch {}
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

class DurableWriter {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  write(file: string, data: string): Promise<void> {
    const worker = this.worker ?? this.spawn();
    const id = ++this.nextId;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, file });
      // A write in flight keeps the process alive; an idle worker does not.
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
      if (this.worker === worker) this.worker = undefined;
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
    if (this.pending.size === 0) worker.unref();
  }
}

const writer = new DurableWriter();

/** Durable once resolved: the file holds `data` whole (or, after a crash, its previous content). */
export function writeFileAtomic(path: string, data: string): Promise<void> {
  return writer.write(path, data);
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
