// What the controller remembers per owner beyond the runtime's labels: restart
// counts for backoff and completed runs, which must survive a controller
// restart (or a finished job would run again). Persisted atomically, debounced.
import { join } from 'node:path';
import { keyString, type ResourceKey } from '../spec/schema.js';
import type { RestartMemory } from '../reconcile/types.js';
import type { InstanceStatus } from '../spec/status.js';
import { readFileIfExists, writeFileAtomic } from './atomic-file.js';

/** The planner's memory plus what status reports about the last replacement. */
export interface OwnerMemory extends RestartMemory, KeptIdentity {
  lastDrift?: InstanceStatus['lastDrift'];
}

/**
 * What a resource declared in a spec file keeps across controller restarts,
 * as the apiserver keeps it for a custom resource (src/sources/kept-identity.ts).
 */
export interface KeptIdentity {
  createdAt?: string;
  uid?: string;
  generation?: number;
  /** Digest of the spec that generation was given to: a spec edited while berth was down is a new generation. */
  specDigest?: string;
}
export class RestartMemoryStore {
  private readonly memory = new Map<string, OwnerMemory>();
  private readonly file: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(stateDir: string | undefined, private readonly onError: (e: Error) => void = () => undefined) {
    this.file = stateDir ? join(stateDir, 'memory.json') : undefined;
  }

  async load(): Promise<void> {
    if (!this.file) return;
    const text = await readFileIfExists(this.file);
    if (!text) return;
    try {
      for (const [k, v] of Object.entries(JSON.parse(text) as Record<string, OwnerMemory>)) this.memory.set(k, v);
    } catch (e) {
      this.onError(new Error(`${this.file}: unreadable, restart counts start from zero`, { cause: e }));
    }
  }

  get(key: ResourceKey): OwnerMemory {
    return this.memory.get(keyString(key)) ?? { restartCount: 0 };
  }

  update(key: ResourceKey, patch: Partial<OwnerMemory>): OwnerMemory {
    const before = this.get(key);
    const next = { ...before, ...patch };
    this.memory.set(keyString(key), next);
    // Every create resets the count: most updates change nothing written, and need no write (nor the writer thread).
    if (JSON.stringify(next) !== JSON.stringify(before)) this.schedule();
    return next;
  }

  delete(key: ResourceKey): void {
    if (this.memory.delete(keyString(key))) this.schedule();
  }

  /** Writes now; used at shutdown. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.write();
  }

  private schedule(): void {
    if (!this.file || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.write();
    }, 200);
    this.timer.unref();
  }

  private write(): Promise<void> {
    if (!this.file) return Promise.resolve();
    const file = this.file;
    this.writing = this.writing
      .then(() => writeFileAtomic(file, JSON.stringify(Object.fromEntries(this.memory), null, 1)))
      .catch((e: Error) => this.onError(e));
    return this.writing;
  }
}
