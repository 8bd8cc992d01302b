// A directory tree of YAML (a GitOps checkout), watched. Every change reloads
// the tree (cheap, and immune to the editor rename dance); resources that
// vanished are deleted from the store, so their containers are pruned. A file
// that fails to parse keeps its last good resources: a typo must never prune
// a tenant's container.
import { watch, type FSWatcher } from 'node:fs';
import { loadSpecPaths, type LoadedResource } from '../spec/load.js';
import type { SpecError } from '../spec/errors.js';
import type { ControllerPolicy } from '../spec/policy.js';
import { keyOf, keyString, type ResourceKey } from '../spec/schema.js';
import { OwnershipConflict, type ResourceStore } from '../controller/resource-store.js';

export interface FileSourceOptions {
  store: ResourceStore;
  dirs: string[];
  policy: ControllerPolicy;
  /** Problems found by a reload, each reported once until it goes away. */
  onProblem: (message: string, file: string) => void;
  onReload?: (summary: { resources: number; errors: number }) => void;
  debounceMs?: number;
  /** A slow rescan as a safety net for missed inotify events (network filesystems, overflow). */
  rescanMs?: number;
  /** How long a resource must stay missing from the files before it is deleted. */
  deleteConfirmMs?: number;
}

export class FileSource {
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private rescan: NodeJS.Timeout | undefined;
  private reloading: Promise<void> = Promise.resolve();
  private reported = new Set<string>();
  /** file -> keys it defined at its last good load. */
  private byFile = new Map<string, ResourceKey[]>();
  /** keyString -> when a reload first found it missing. */
  private readonly missingSince = new Map<string, number>();
  private confirmTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: FileSourceOptions) {}

  async start(): Promise<void> {
    await this.reload();
    for (const dir of this.o.dirs) {
      try {
        const w = watch(dir, { recursive: true }, () => this.schedule());
        w.on('error', (e) => this.o.onProblem(`watching ${dir} failed: ${e.message}; falling back to periodic rescans`, dir));
        this.watchers.push(w);
      } catch (e) {
        this.o.onProblem(`cannot watch ${dir}: ${(e as Error).message}`, dir);
      }
    }
    this.rescan = setInterval(() => this.schedule(), this.o.rescanMs ?? 30_000);
    this.rescan.unref();
  }

  stop(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.timer) clearTimeout(this.timer);
    if (this.confirmTimer) clearTimeout(this.confirmTimer);
    if (this.rescan) clearInterval(this.rescan);
  }

  /** Reloads now; resolves when the store reflects the files. */
  reload(): Promise<void> {
    this.reloading = this.reloading.then(() => this.reloadOnce()).catch((e: Error) => this.o.onProblem(`reload failed: ${e.message}`, this.o.dirs.join(',')));
    return this.reloading;
  }

  private confirmLater(ms: number): void {
    if (this.confirmTimer) return;
    this.confirmTimer = setTimeout(() => {
      this.confirmTimer = undefined;
      void this.reload();
    }, ms);
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload(), this.o.debounceMs ?? 100);
  }

  private async reloadOnce(): Promise<void> {
    const { resources, errors } = await loadSpecPaths(this.o.dirs, { policy: this.o.policy });
    const badFiles = new Set(errors.map((e) => e.file));
    this.report(errors);

    const nextByFile = new Map<string, ResourceKey[]>();
    const present = new Set<string>();
    const add = (file: string, key: ResourceKey): void => {
      present.add(keyString(key));
      nextByFile.set(file, [...(nextByFile.get(file) ?? []), key]);
    };
    for (const loaded of resources) {
      if (this.apply(loaded)) add(loaded.file, keyOf(loaded.resource));
    }
    // A broken file keeps what it defined before, so its containers stay.
    for (const file of badFiles) {
      for (const key of this.byFile.get(file) ?? []) if (!present.has(keyString(key)) && this.o.store.get(key)) add(file, key);
    }
    // A resource that vanished is deleted (and its containers pruned) only when a
    // second reload a moment later agrees: an editor or a checkout rewriting a
    // file in place can be caught half-written (empty), and that must not prune.
    const now = Date.now();
    const confirmMs = this.o.deleteConfirmMs ?? 300;
    for (const id of [...this.missingSince.keys()]) if (present.has(id)) this.missingSince.delete(id);
    for (const key of this.o.store.keysFrom((o) => o.source === 'file')) {
      const id = keyString(key);
      if (present.has(id)) continue;
      const since = this.missingSince.get(id);
      if (since === undefined) {
        this.missingSince.set(id, now);
        this.confirmLater(confirmMs);
      } else if (now - since >= confirmMs) {
        this.missingSince.delete(id);
        this.o.store.delete(key, { source: 'file', file: '', line: 0 });
      } else {
        this.confirmLater(confirmMs - (now - since));
      }
    }
    this.byFile = nextByFile;
    this.o.onReload?.({ resources: present.size, errors: errors.length });
  }

  private apply(loaded: LoadedResource): boolean {
    try {
      this.o.store.apply(loaded.resource, { source: 'file', file: loaded.file, line: loaded.line });
      return true;
    } catch (e) {
      if (e instanceof OwnershipConflict) {
        this.o.onProblem(`${loaded.file}:${loaded.line}: ${keyString(keyOf(loaded.resource))} was applied through the API; the file is ignored until it is deleted there`, loaded.file);
        return false;
      }
      throw e;
    }
  }

  private report(errors: SpecError[]): void {
    const now = new Set(errors.map((e) => e.format()));
    for (const e of errors) if (!this.reported.has(e.format())) this.o.onProblem(e.format(), e.file);
    this.reported = now;
  }
}
