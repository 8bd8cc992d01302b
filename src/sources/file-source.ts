// A directory tree of YAML (a GitOps checkout), watched. Every change reloads
// the tree (cheap, and immune to the editor rename dance); resources that
// vanished are deleted from the store, so their containers are pruned.
//
// Only a directory read whole may prune. A directory that is missing, or holds
// a file that cannot be read, parsed or validated, is Degraded: nothing it
// declared before leaves the store, and mayPrune() answers no for any key the
// store does not hold (after a restart nobody knows which keys the broken file
// declared, so every orphan container is kept). The source holds this state
// rather than remembering each file's last good resources because only the
// source knows whether it was read whole, and a remembered version does not
// survive a restart; the manager asks before it prunes what no source holds.
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { sep } from 'node:path';
import { loadSpecPaths, type LoadedResource, type ParseCache } from '../spec/load.js';
import type { SpecError } from '../spec/errors.js';
import type { ControllerPolicy } from '../spec/policy.js';
import { keyOf, keyString, type ResourceKey } from '../spec/schema.js';
import { OwnershipConflict, type ResourceStore } from '../controller/resource-store.js';
import { systemClock, type Cancel, type Clock } from '../time/clock.js';
import { metadataWithKept, sameIdentity, specDigest, type KeptIdentity } from './kept-identity.js';

export interface FileSourceOptions {
  store: ResourceStore;
  dirs: string[];
  policy: ControllerPolicy;
  /** Problems found by a reload, each reported once until it goes away. */
  onProblem: (message: string, file: string) => void;
  onReload?: (summary: { resources: number; errors: number }) => void;
  /** A directory became Degraded (reason) or healthy again (undefined). */
  onHealth?: (dir: string, reason: string | undefined) => void;
  /**
   * A resource kept from its file's last good load because the file now fails
   * (message: that file's errors), or current again (undefined).
   */
  onStale?: (key: ResourceKey, message: string | undefined) => void;
  /** Where each resource's uid, creationTimestamp and generation are kept across restarts (the state directory). */
  identities?: KeptIdentities;
  debounceMs?: number;
  /** A slow rescan as a safety net for missed inotify events (network filesystems, overflow). */
  rescanMs?: number;
  /** How long a resource must stay missing from the files before it is deleted. */
  deleteConfirmMs?: number;
  /**
   * How often each directory itself is looked at (one stat): a directory that
   * is unmounted, moved or replaced sends its watcher no event.
   */
  rootCheckMs?: number;
  /** Debounce, delete confirmation and the periodic checks read this clock (tests: a FakeClock). */
  clock?: Clock;
}

export interface KeptIdentities {
  get(key: ResourceKey): KeptIdentity | undefined;
  set(key: ResourceKey, identity: KeptIdentity): void;
  /** The files no longer declare it: declared again, it is a new resource. */
  forget(key: ResourceKey): void;
}

export class FileSource {
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly clock: Clock;
  private cancelDebounce: Cancel | undefined;
  private cancelRescan: Cancel | undefined;
  private cancelRootCheck: Cancel | undefined;
  private readonly roots = new Map<string, string>();
  private reloading: Promise<void> = Promise.resolve();
  private reported = new Set<string>();
  /** file -> keys it defined at its last good load. */
  private byFile = new Map<string, ResourceKey[]>();
  /** keyString -> when a reload first found it missing. */
  private readonly missingSince = new Map<string, number>();
  private cancelConfirm: Cancel | undefined;
  /**
   * What each file parsed to at the last reload. The periodic rescan is a
   * safety net for missed watch events: it reparses only files whose stat
   * changed (every 30 s it parsed and validated every spec file: most of an
   * idle controller's CPU at 100 files). Reloads a watch event or a root check
   * asked for parse everything, as before.
   */
  private readonly parseCache: ParseCache = new Map();
  /** The reload now scheduled was asked for by the rescan alone. */
  private rescanOnly = false;
  /** keyString -> the key and its file's errors, for resources kept from a file that now fails. */
  private stale = new Map<string, { key: ResourceKey; message: string }>();
  /** dir -> why it could not be read whole at the last reload. */
  private readonly degraded = new Map<string, string>();
  private loaded = false;
  private stopped = false;

  constructor(private readonly o: FileSourceOptions) {
    this.clock = o.clock ?? systemClock;
  }

  async start(): Promise<void> {
    await this.reload();
    const rescanMs = this.o.rescanMs ?? 30_000;
    const rescan = (): void => {
      if (this.stopped) return;
      this.cancelRescan = this.clock.setTimeout(() => {
        this.schedule(true);
        rescan();
      }, rescanMs);
    };
    rescan();
    for (const dir of this.o.dirs) this.roots.set(dir, await rootIdentity(dir));
    // The next check is armed when this one ends: a slow stat never overlaps the next.
    const rootCheckMs = this.o.rootCheckMs ?? 2_000;
    const checkRoots = (): void => {
      if (this.stopped) return;
      this.cancelRootCheck = this.clock.setTimeout(() => void this.checkRoots().finally(checkRoots), rootCheckMs);
    };
    checkRoots();
  }

  /**
   * One plain watcher per directory the last reload walked, added and closed
   * as directories come and go. (A recursive watch loses track of a
   * subdirectory that is removed and made again, as a checkout does: edits in
   * it then went unnoticed until the rescan.)
   */
  private syncWatchers(directories: string[]): void {
    const wanted = new Set(directories);
    for (const [dir, w] of this.watchers) {
      if (wanted.has(dir)) continue;
      w.close();
      this.watchers.delete(dir);
    }
    let added = false;
    for (const dir of wanted) {
      if (this.watchers.has(dir) || this.watchers.size >= MAX_WATCHED_DIRECTORIES) continue;
      added = true;
      try {
        const w = watch(dir, () => this.schedule());
        // A directory removed under its watcher: the next reload (scheduled here) drops it.
        w.on('error', () => {
          w.close();
          this.watchers.delete(dir);
          this.schedule();
        });
        this.watchers.set(dir, w);
      } catch {
        // Gone between the walk and now: the reload this causes looks again.
        this.schedule();
      }
    }
    // Files written in a new directory between the walk and its watcher had no one to tell: look once more.
    if (added && this.loaded) this.schedule();
  }

  /** A directory moved, replaced or (un)mounted gets a new watcher; a Degraded one is reloaded until it heals. */
  private async checkRoots(): Promise<void> {
    for (const dir of this.o.dirs) {
      const now = await rootIdentity(dir);
      if (now !== this.roots.get(dir)) {
        this.roots.set(dir, now);
        this.watchers.get(dir)?.close();
        this.watchers.delete(dir);
        this.schedule();
      } else if (this.degraded.has(dir)) {
        this.schedule();
      }
    }
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    this.cancelDebounce?.();
    this.cancelConfirm?.();
    this.cancelRescan?.();
    this.cancelRootCheck?.();
  }

  /** Directories that could not be read whole, with the first reason. */
  degradedDirs(): Map<string, string> {
    return new Map(this.degraded);
  }

  /**
   * May a key that no source holds have its containers pruned? Not before the
   * first load, and not while any directory is Degraded: the broken file may
   * be the one that declares it.
   */
  mayPrune(): boolean {
    return this.loaded && this.degraded.size === 0;
  }

  /** Reloads now; resolves when the store reflects the files. */
  reload(reuseParsed = false): Promise<void> {
    this.reloading = this.reloading.then(() => this.reloadOnce(reuseParsed)).catch((e: Error) => this.o.onProblem(`reload failed: ${e.message}`, this.o.dirs.join(',')));
    return this.reloading;
  }

  private confirmLater(ms: number): void {
    if (this.cancelConfirm) return;
    this.cancelConfirm = this.clock.setTimeout(() => {
      this.cancelConfirm = undefined;
      void this.reload();
    }, ms);
  }

  private schedule(fromRescan = false): void {
    if (this.stopped) return;
    // Rescan-only while nothing else asked for this reload (a pending watch event's reload parses everything).
    this.rescanOnly = fromRescan && (this.cancelDebounce === undefined || this.rescanOnly);
    this.cancelDebounce?.();
    this.cancelDebounce = this.clock.setTimeout(() => {
      const reuseParsed = this.rescanOnly;
      this.cancelDebounce = undefined;
      this.rescanOnly = false;
      void this.reload(reuseParsed);
    }, this.o.debounceMs ?? 100);
  }

  private async reloadOnce(reuseParsed: boolean): Promise<void> {
    if (this.stopped) return;
    const { resources, errors, directories } = await loadSpecPaths(this.o.dirs, { policy: this.o.policy, parseCache: this.parseCache, reuseParsed });
    if (this.stopped) return;
    this.syncWatchers(directories ?? []);
    const badFiles = new Set(errors.map((e) => e.file));
    this.report(errors);
    this.noteHealth(errors);

    const nextByFile = new Map<string, ResourceKey[]>();
    const present = new Set<string>();
    const add = (file: string, key: ResourceKey): void => {
      present.add(keyString(key));
      nextByFile.set(file, [...(nextByFile.get(file) ?? []), key]);
    };
    for (const loaded of resources) {
      if (this.apply(loaded)) add(loaded.file, keyOf(loaded.resource));
    }
    // A broken file keeps what it defined before, so its containers stay; their status says why they did not change.
    const stale = new Map<string, { key: ResourceKey; message: string }>();
    for (const file of badFiles) {
      for (const key of this.byFile.get(file) ?? []) {
        if (present.has(keyString(key)) || !this.o.store.get(key)) continue;
        add(file, key);
        stale.set(keyString(key), { key, message: fileProblem(errors.filter((e) => e.file === file)) });
      }
    }
    this.noteStale(stale);
    // A resource that vanished is deleted (and its containers pruned) only when a
    // second reload a moment later agrees: an editor or a checkout rewriting a
    // file in place can be caught half-written (empty), and that must not prune.
    const now = this.clock.now();
    const confirmMs = this.o.deleteConfirmMs ?? 300;
    for (const id of [...this.missingSince.keys()]) if (present.has(id)) this.missingSince.delete(id);
    for (const key of this.o.store.keysFrom((o) => o.source === 'file')) {
      const id = keyString(key);
      if (present.has(id)) continue;
      // Declared by a directory that was not read whole: kept, not even counted as missing.
      const origin = this.o.store.get(key)?.origin;
      if (origin?.source === 'file' && this.degraded.has(this.dirOf(origin.file) ?? '')) {
        this.missingSince.delete(id);
        continue;
      }
      const since = this.missingSince.get(id);
      if (since === undefined) {
        this.missingSince.set(id, now);
        this.confirmLater(confirmMs);
      } else if (now - since >= confirmMs) {
        this.missingSince.delete(id);
        this.o.store.delete(key, { source: 'file', file: '', line: 0 });
        this.o.identities?.forget(key);
      } else {
        this.confirmLater(confirmMs - (now - since));
      }
    }
    this.byFile = nextByFile;
    this.loaded = true;
    this.o.onReload?.({ resources: present.size, errors: errors.length });
  }

  private noteStale(next: Map<string, { key: ResourceKey; message: string }>): void {
    for (const [id, was] of this.stale) if (!next.has(id)) this.o.onStale?.(was.key, undefined);
    for (const [id, now] of next) if (this.stale.get(id)?.message !== now.message) this.o.onStale?.(now.key, now.message);
    this.stale = next;
  }

  private dirOf(file: string): string | undefined {
    return this.o.dirs.find((d) => file === d || file.startsWith(d.endsWith(sep) ? d : d + sep));
  }

  /** Each directory with an error is Degraded (the first error is the reason); the others are healthy. */
  private noteHealth(errors: SpecError[]): void {
    const now = new Map<string, string>();
    for (const e of errors) {
      const dir = this.dirOf(e.file) ?? this.o.dirs[0]!;
      if (!now.has(dir)) now.set(dir, errors.filter((x) => (this.dirOf(x.file) ?? this.o.dirs[0]) === dir).length > 1 ? `${e.format()} (and more)` : e.format());
    }
    for (const dir of this.o.dirs) {
      const before = this.degraded.get(dir);
      const after = now.get(dir);
      if (after === undefined) this.degraded.delete(dir);
      else this.degraded.set(dir, after);
      if (before !== after) this.o.onHealth?.(dir, after);
    }
  }

  private apply(loaded: LoadedResource): boolean {
    const key = keyOf(loaded.resource);
    // Only a resource the store does not hold yet (the first load after a restart) takes what was kept:
    // the store keeps the identity of those it holds.
    const kept = this.o.store.get(key) ? undefined : this.o.identities?.get(key);
    let digest: string | undefined;
    const digestOnce = (): string => (digest ??= specDigest(loaded.resource.spec));
    const resource = { ...loaded.resource, metadata: metadataWithKept(loaded.resource.metadata, kept, digestOnce) } as typeof loaded.resource;
    try {
      const { entry, change } = this.o.store.apply(resource, { source: 'file', file: loaded.file, line: loaded.line });
      if (change !== 'unchanged' && this.o.identities) {
        const m = entry.object.metadata;
        const now: KeptIdentity = { createdAt: m.creationTimestamp, uid: m.uid, generation: m.generation, specDigest: digestOnce() };
        if (!sameIdentity(this.o.identities.get(key), now)) this.o.identities.set(key, now);
      }
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

/** A status message stays readable in a table and far below metav1.Condition's 32 KiB. */
const MAX_PROBLEM_CHARS = 1_000;

/** A file's errors in one line: the first, located, and how many more. */
function fileProblem(errors: SpecError[]): string {
  const [first, ...rest] = errors;
  if (!first) return 'the file could not be read';
  const text = first.format();
  const head = text.length > MAX_PROBLEM_CHARS ? `${text.slice(0, MAX_PROBLEM_CHARS)}…` : text;
  return rest.length ? `${head} (and ${rest.length} more)` : head;
}

/** Beyond this many directories, changes deeper in are found by the periodic rescan. */
const MAX_WATCHED_DIRECTORIES = 2_000;

/** Device and inode of a directory, or "missing": what changes when it is moved, replaced or unmounted. */
async function rootIdentity(dir: string): Promise<string> {
  const info = await stat(dir).catch(() => undefined);
  return info ? `${info.dev}:${info.ino}` : 'missing';
}
