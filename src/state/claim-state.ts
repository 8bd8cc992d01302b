// The durable record of claims and the pool members they hold (standalone
// mode: the state directory). A binding is written here (group commit) before
// the claim is reported Bound, so a controller killed mid-claim never binds a
// member twice nor loses a claim. Claims applied through the API are kept in
// the same file as their bindings, so a claim that binds at once costs one
// durable write, and a burst of them shares it. The file is rewritten on each
// claim's critical path, so it is a two-slot state file (atomic-file.ts):
// one in-place write and fdatasync per commit, no new inode.
//
// In Kubernetes mode the record is the claim's status in the apiserver: this
// state has no file and is rebuilt from the claims' statuses (rebuildFrom)
// before anything is bound.
import { randomInt } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileIfExists } from './atomic-file.js';
import { readStateFile, writeStateSlots } from './state-slots.js';
import { ClaimJournal, JOURNAL_CAPACITY } from './claim-journal.js';
import type { ClaimBinding } from '../reconcile/claim/status.js';
import type { ObservedPort } from '../runtime/types.js';

/** A claim's binding (what status reports) plus what the claim rules need of it. */
export interface ClaimRecord extends ClaimBinding {
  /** keyString of the InstancePool. */
  pool: string;
  /** Epoch ms the claim was made (its FIFO position). */
  createdAt: number;
  member?: string;
  /** Bound at once from a warm member, without waiting. */
  warm?: boolean;
}

export interface MemberRecord {
  uses: number;
  /** keyString of the claim holding it. */
  claim?: string;
  /** Its claim ended; the pool must replace or recycle it before it serves again. */
  released?: boolean;
  /** The deleted claim that released it: that claim's finalizer goes once the member is recycled or gone. */
  releasedBy?: string;
  /** Epoch ms of a Reuse recycle: it serves again only after a probe passes later than this. */
  recycledAt?: number;
}

/** The snapshot (claims.state), and each change in the journal (where null marks a removal). */
interface Persisted {
  /** The snapshot's epoch (claim-journal.ts); absent in a change and in files from before the journal. */
  epoch?: number;
  claims: Record<string, ClaimRecord>;
  members: Record<string, MemberRecord>;
  /** Claims applied through the API (keyString -> the resource as applied). */
  objects?: Record<string, unknown>;
}

/** A claim as its source stores it, for rebuilding bindings from statuses. */
export interface StoredClaim {
  id: string;
  pool: string;
  createdAt: number;
  status?: { phase?: string; instance?: string; containerId?: string; ports?: ObservedPort[]; boundAt?: string; expiresAt?: string; waitDurationMs?: number; conditions?: Array<{ type: string; reason?: string; message?: string }> };
  /** Another manager than berth set the status's binding fields: the status is not berth's record. */
  editedBy?: string;
}

/** Why a claim whose binding was changed outside berth fails at a rebuild. */
export const BINDING_UNKNOWN = 'BindingUnknown';

export const memberKey = (pool: string, member: string): string => `${pool}#${member}`;

export class ClaimState {
  // Records are frozen and replaced, never changed in place: a commit finds what changed by identity, and
  // each record keeps the JSON text it was first written as (texts).
  private readonly claimRecords = new Map<string, Readonly<ClaimRecord>>();
  private readonly memberRecords = new Map<string, Readonly<MemberRecord>>();
  private readonly texts = new WeakMap<object, string>();
  private readonly byPool = new Map<string, Set<string>>();
  /** How many of each pool's claims are Pending: a pool's status and every wake ask, and a flooded pool's queue is long. */
  private readonly pendingByPool = new Map<string, number>();
  /**
   * Pools whose members may have been handed out without a record saying so
   * (a claim's binding was changed outside berth while no leader acted): the
   * first list recycles every member no claim holds (takeUntrusted).
   */
  private readonly untrustedPools = new Set<string>();
  /** What changed since the last write (keys of claims, members, applied objects): a commit writes only these. */
  private dirty: Dirty = emptyDirty();
  /** The snapshot's epoch: only journal frames of this epoch count. */
  private epoch = 0;
  /** The snapshot could not be read: the next commit writes a whole new one, not a change to it. */
  private needsSnapshot = false;
  private readonly file: string | undefined;
  private readonly journal: ClaimJournal | undefined;
  /** Where claims were kept before the two-slot file: read once if the new file is missing, then removed. */
  private readonly legacyFile: string | undefined;
  private busy: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  constructor(
    stateDir: string | undefined,
    /** The API-applied claim objects to keep beside their records. */
    private readonly applied: AppliedClaims = NO_APPLIED_CLAIMS,
    /** The journal's size when it is made (tests: a small one, to reach a new snapshot quickly). */
    journalBytes = JOURNAL_CAPACITY,
  ) {
    this.file = stateDir ? join(stateDir, 'claims.state') : undefined;
    this.journal = stateDir ? new ClaimJournal(join(stateDir, 'claims.journal'), journalBytes) : undefined;
    this.legacyFile = stateDir ? join(stateDir, 'claims.json') : undefined;
  }

  /** Loads the records; resolves to the API-applied claim objects to restore into the store. */
  async load(onError: (message: string) => void): Promise<unknown[]> {
    if (!this.file || !this.journal) return [];
    let text: string | undefined;
    let from = this.file;
    try {
      text = await readStateFile(this.file);
      if (text === undefined && this.legacyFile) {
        from = this.legacyFile;
        text = await readFileIfExists(this.legacyFile);
      }
    } catch (e) {
      onError(`${(e as Error).message}; claims start empty`);
      this.needsSnapshot = true;
      return this.openJournal(onError, []);
    }
    if (!text) {
      // Made now, empty, so the first claim writes into preallocated files instead of making one
      // (a temp file and rename on the writer thread, whose start cost that claim ~40 ms).
      this.epoch = freshEpoch();
      if (text === undefined) await writeStateSlots(this.file, this.snapshotText(this.epoch, new Map(), new Map(), [])).catch((e: Error) => ((this.needsSnapshot = true), onError(`${e.message}; the first claim makes it`)));
      else this.needsSnapshot = true;
      return this.openJournal(onError, []);
    }
    let data: Persisted;
    try {
      data = JSON.parse(text) as Persisted;
    } catch (e) {
      onError(`${from}: unreadable (${(e as Error).message}); claims start empty`);
      this.needsSnapshot = true;
      return this.openJournal(onError, []);
    }
    this.epoch = from === this.file && typeof data.epoch === 'number' ? data.epoch : 0;
    // A snapshot from before the journal: the first commit writes one with an epoch of its own.
    if (typeof data.epoch !== 'number') this.needsSnapshot = true;
    const claims = new Map(Object.entries(data.claims ?? {}));
    const members = new Map(Object.entries(data.members ?? {}));
    const objects = new Map(Object.entries(data.objects ?? {}));
    // The legacy file has no journal: one left beside it is from no snapshot of ours.
    const changes = from === this.file ? await this.journal.open(this.epoch).catch((e: Error) => (onError(`${e.message}; claims as of the last snapshot`), (this.needsSnapshot = true), [])) : [];
    for (const change of changes) {
      let d: Persisted;
      try {
        d = JSON.parse(change) as Persisted;
      } catch (e) {
        onError(`${this.journal.file}: a change is unreadable (${(e as Error).message}); the changes after it are not applied`);
        this.needsSnapshot = true;
        break;
      }
      applyChange(claims, d.claims);
      applyChange(members, d.members);
      applyChange(objects, d.objects);
    }
    for (const [k, v] of claims) this.setClaim(k, v);
    for (const [k, v] of members) this.putMember(k, v);
    // As loaded is as written.
    this.dirty = emptyDirty();
    if (from === this.legacyFile) await this.migrate([...objects].map(([k, v]) => [k, JSON.stringify(v)] as const), onError);
    return [...objects.values()];
  }

  /** Opens (or makes) the journal for the current epoch; a failure is reported and the next commit writes a snapshot. */
  private async openJournal(onError: (message: string) => void, result: unknown[]): Promise<unknown[]> {
    try {
      await this.journal!.open(this.epoch);
    } catch (e) {
      onError(`${(e as Error).message}; each claim commit writes the whole state`);
    }
    return result;
  }

  /** Writes what the old claims.json held into the two-slot file, then removes claims.json. */
  private async migrate(held: ReadonlyArray<readonly [string, string]>, onError: (message: string) => void): Promise<void> {
    try {
      this.epoch = freshEpoch();
      await writeStateSlots(this.file!, this.snapshotText(this.epoch, this.claimRecords, this.memberRecords, held));
      this.needsSnapshot = false;
      await this.openJournal(onError, []);
      await rm(this.legacyFile!, { force: true });
    } catch (e) {
      onError(`${this.file}: could not take over ${this.legacyFile} (${(e as Error).message}); it is kept and read again at the next start`);
    }
  }

  /**
   * Kubernetes mode: the bindings as the claims' statuses record them. A claim
   * that is Bound holds its member (which is therefore never warm); one that
   * ended keeps its outcome; one without a status is Pending.
   */
  rebuildFrom(claims: readonly StoredClaim[]): void {
    for (const c of claims) {
      if (this.claims.has(c.id)) continue;
      if (c.editedBy !== undefined) {
        // Which member it held is known to no one now: it fails, and its pool recycles every member no other claim holds.
        this.setClaim(c.id, {
          pool: c.pool,
          phase: 'Failed',
          createdAt: c.createdAt,
          reason: BINDING_UNKNOWN,
          message: `its status was changed by ${c.editedBy}, not berth, while no leader acted: the member it held is unknown (the pool recycles its unheld members); claim another`,
        });
        this.untrustedPools.add(c.pool);
        continue;
      }
      const s = c.status;
      const phase = (['Pending', 'Bound', 'Released', 'Expired', 'Failed'] as const).find((p) => p === s?.phase) ?? 'Pending';
      const poolName = c.pool.slice(c.pool.lastIndexOf('/') + 1);
      const member = phase === 'Bound' && s?.instance?.startsWith(`${poolName}-`) ? s.instance.slice(poolName.length + 1) : undefined;
      const bound = s?.conditions?.find((x) => x.type === 'Bound');
      const rec: ClaimRecord = {
        pool: c.pool,
        phase: phase === 'Bound' && member === undefined ? 'Pending' : phase,
        createdAt: c.createdAt,
        ...(member !== undefined ? { member, instance: s!.instance! } : {}),
        ...(member !== undefined && s?.containerId ? { containerId: s.containerId } : {}),
        ...(member !== undefined && s?.ports ? { ports: s.ports } : {}),
        ...(s?.boundAt ? { boundAt: Date.parse(s.boundAt) } : {}),
        ...(s?.expiresAt ? { expiresAt: Date.parse(s.expiresAt) } : {}),
        ...(s?.waitDurationMs !== undefined ? { waitMs: s.waitDurationMs } : {}),
        ...(bound?.reason ? { reason: bound.reason } : {}),
        ...(bound?.message ? { message: bound.message } : {}),
      };
      this.setClaim(c.id, rec);
      if (rec.phase === 'Bound' && member !== undefined) {
        const m = this.member(c.pool, member);
        this.setMember(c.pool, member, { ...m, claim: c.id });
      }
    }
  }

  /** The claims' records by keyString; change them with setClaim and deleteClaim. */
  get claims(): ReadonlyMap<string, Readonly<ClaimRecord>> {
    return this.claimRecords;
  }

  /** Records (a copy of) the claim's record, frozen; returns it. */
  setClaim(id: string, record: ClaimRecord): Readonly<ClaimRecord> {
    const frozen = Object.freeze({ ...record });
    const before = this.claimRecords.get(id);
    if (before && before.pool !== frozen.pool) this.byPool.get(before.pool)?.delete(id);
    if (before) this.countPending(before, -1);
    this.countPending(frozen, 1);
    this.claimRecords.set(id, frozen);
    let ofPool = this.byPool.get(frozen.pool);
    if (!ofPool) this.byPool.set(frozen.pool, (ofPool = new Set()));
    ofPool.add(id);
    this.touch('claims', id);
    return frozen;
  }

  deleteClaim(id: string): void {
    const before = this.claimRecords.get(id);
    if (!before) return;
    this.claimRecords.delete(id);
    this.countPending(before, -1);
    const ofPool = this.byPool.get(before.pool);
    ofPool?.delete(id);
    if (ofPool?.size === 0) this.byPool.delete(before.pool);
    this.touch('claims', id);
  }

  /** The claims of one pool, [keyString, record] (a pool's rules need not look at every other pool's queue). */
  *claimsOf(pool: string): Iterable<[string, Readonly<ClaimRecord>]> {
    for (const id of this.byPool.get(pool) ?? []) {
      const r = this.claimRecords.get(id);
      if (r) yield [id, r];
    }
  }

  /** How many of the pool's claims are Pending. */
  pendingOf(pool: string): number {
    return this.pendingByPool.get(pool) ?? 0;
  }

  private countPending(r: Readonly<ClaimRecord>, delta: number): void {
    if (r.phase !== 'Pending') return;
    const n = (this.pendingByPool.get(r.pool) ?? 0) + delta;
    if (n > 0) this.pendingByPool.set(r.pool, n);
    else this.pendingByPool.delete(r.pool);
  }

  /** The keyStrings of one pool's claims, live (look each up in `claims`): no tuple per claim, for loops over a long queue. */
  claimIdsOf(pool: string): ReadonlySet<string> {
    return this.byPool.get(pool) ?? NO_IDS;
  }

  member(pool: string, member: string): Readonly<MemberRecord> {
    return this.memberRecords.get(memberKey(pool, member)) ?? { uses: 0 };
  }

  setMember(pool: string, member: string, record: MemberRecord): void {
    this.putMember(memberKey(pool, member), record);
  }

  private putMember(key: string, record: MemberRecord): Readonly<MemberRecord> {
    const frozen = Object.freeze({ ...record });
    this.memberRecords.set(key, frozen);
    this.touch('members', key);
    return frozen;
  }

  /** Some member this (deleted) claim released has not been recycled or removed yet. */
  awaitsRecycling(claimId: string): boolean {
    for (const m of this.memberRecords.values()) if (m.releasedBy === claimId) return true;
    return false;
  }

  /** The pool's members may have been handed out unrecorded (rebuildFrom); true once, for its first list after. */
  takeUntrusted(pool: string): boolean {
    return this.untrustedPools.delete(pool);
  }

  /** Member ids of a pool that have a record. */
  membersOf(pool: string): string[] {
    const prefix = `${pool}#`;
    return [...this.memberRecords.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  }

  forgetMember(pool: string, member: string): void {
    if (this.memberRecords.delete(memberKey(pool, member))) this.touch('members', memberKey(pool, member));
  }

  /**
   * An API-applied claim is about to change or go: the next commit writes it.
   * Marked before the store takes it, so that the commit of a bind made as
   * the claim arrives carries the claim too (one write, not two).
   */
  appliedChanging(id: string): void {
    this.touch('objects', id);
  }

  /** Kept for the next commit; without a file (Kubernetes mode) nothing is. */
  private touch(kind: keyof Dirty, id: string): void {
    if (this.file) this.dirty[kind].add(id);
  }

  /**
   * Durable once resolved: the file holds the records and applied claims as
   * of (at least) this call. A commit writes what changed since the last one
   * into the journal; a full journal (or an unreadable snapshot) makes a new
   * snapshot instead. Commits made while a snapshot is being written share
   * the one write after it.
   */
  commit(): Promise<void> {
    if (!this.file) return Promise.resolve();
    if (!this.busy) return this.flushNow();
    this.next ??= this.busy
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        return this.flushNow();
      });
    return this.next;
  }

  private flushNow(): Promise<void> {
    const p = this.flush().finally(() => {
      if (this.busy === p) this.busy = undefined;
    });
    this.busy = p;
    return p;
  }

  private async flush(): Promise<void> {
    const dirty = this.dirty;
    if (!dirty.claims.size && !dirty.members.size && !dirty.objects.size && !this.needsSnapshot) return;
    this.dirty = emptyDirty();
    try {
      // Synchronous, like a slot overwrite: one pwrite and one fdatasync into preallocated space.
      if (!this.needsSnapshot && this.journal?.isOpen && this.journal.append(this.epoch, this.changeText(dirty))) return;
      // After a snapshot no one could read, frames of any epoch may lie in the journal: a fresh one ignores them.
      const epoch = this.needsSnapshot ? freshEpoch() : this.epoch + 1;
      await writeStateSlots(this.file!, this.snapshotText(epoch, this.claimRecords, this.memberRecords, this.applied.all()));
      this.epoch = epoch;
      this.needsSnapshot = false;
      this.journal?.reset();
    } catch (e) {
      // Not written: the next commit writes these changes too.
      for (const k of ['claims', 'members', 'objects'] as const) for (const id of dirty[k]) this.dirty[k].add(id);
      throw e;
    }
  }

  /** The changed entries in the Persisted shape, null for a removed one. */
  private changeText(dirty: Dirty): string {
    const claims = [...dirty.claims].map((id) => entryText(id, this.claimRecords.get(id), (r) => this.text(r)));
    const members = [...dirty.members].map((id) => entryText(id, this.memberRecords.get(id), (r) => this.text(r)));
    const objects = [...dirty.objects].map((id) => entryText(id, this.applied.get(id), (t) => t));
    return `{"claims":{${claims.join(',')}},"members":{${members.join(',')}},"objects":{${objects.join(',')}}}`;
  }

  private snapshotText(epoch: number, claims: ReadonlyMap<string, object>, members: ReadonlyMap<string, object>, objects: Iterable<readonly [string, string]>): string {
    const parts: string[] = [];
    for (const [id, json] of objects) parts.push(`${JSON.stringify(id)}:${json}`);
    return `{"epoch":${epoch},"claims":${this.mapText(claims)},"members":${this.mapText(members)},"objects":{${parts.join(',')}}}`;
  }

  /** A map of frozen records as a JSON object. */
  private mapText(records: ReadonlyMap<string, object>): string {
    const parts: string[] = [];
    for (const [id, record] of records) parts.push(`${JSON.stringify(id)}:${this.text(record)}`);
    return `{${parts.join(',')}}`;
  }

  /** A frozen record's JSON text, made once. */
  private text(record: object): string {
    let text = this.texts.get(record);
    if (text === undefined) this.texts.set(record, (text = JSON.stringify(record)));
    return text;
  }
}

/** The API-applied claims, as JSON texts by keyString (the source keeps each text, made once per applied version). */
export interface AppliedClaims {
  /** All of them, for a snapshot. */
  all(): Iterable<readonly [string, string]>;
  /** One of them; undefined when it is not (or no longer) applied. */
  get(id: string): string | undefined;
}

const NO_IDS: ReadonlySet<string> = new Set();

const NO_APPLIED_CLAIMS: AppliedClaims = { all: () => [], get: () => undefined };

interface Dirty {
  claims: Set<string>;
  members: Set<string>;
  objects: Set<string>;
}

/**
 * The epoch of a snapshot made without a readable one before it (first start,
 * an unreadable file, a migration): unlike every epoch before it, so that no
 * frame left in the journal counts.
 */
const freshEpoch = (): number => randomInt(1, 2 ** 32 - 1);

const emptyDirty = (): Dirty => ({ claims: new Set(), members: new Set(), objects: new Set() });

const entryText = <T>(id: string, value: T | undefined, text: (v: T) => string): string => `${JSON.stringify(id)}:${value === undefined ? 'null' : text(value)}`;

/** Applies one journal change (null: removed) to a loaded map. */
function applyChange<T>(into: Map<string, T>, change: Record<string, T | null> | undefined): void {
  for (const [k, v] of Object.entries(change ?? {})) {
    if (v === null) into.delete(k);
    else into.set(k, v);
  }
}
