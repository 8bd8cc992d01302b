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
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileIfExists } from './atomic-file.js';
import { readStateFile, writeStateSlots } from './state-slots.js';
import { CoalescingWriter } from './coalescing-writer.js';
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

interface Persisted {
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
}

export const memberKey = (pool: string, member: string): string => `${pool}#${member}`;

export class ClaimState {
  readonly claims = new Map<string, ClaimRecord>();
  readonly members = new Map<string, MemberRecord>();
  private readonly writer: CoalescingWriter | undefined;
  private readonly file: string | undefined;
  /** Where claims were kept before the two-slot file: read once if the new file is missing, then removed. */
  private readonly legacyFile: string | undefined;

  constructor(
    stateDir: string | undefined,
    /** The API-applied claim objects to keep beside their records (keyString -> resource). */
    private readonly appliedClaims: () => Record<string, unknown> = () => ({}),
  ) {
    this.file = stateDir ? join(stateDir, 'claims.state') : undefined;
    this.legacyFile = stateDir ? join(stateDir, 'claims.json') : undefined;
    this.writer = this.file ? new CoalescingWriter(this.file, () => this.serialise(), writeStateSlots) : undefined;
  }

  /** Loads the records; resolves to the API-applied claim objects to restore into the store. */
  async load(onError: (message: string) => void): Promise<unknown[]> {
    if (!this.file) return [];
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
      return [];
    }
    if (!text) {
      // Made now, empty, so the first claim overwrites a slot instead of making
      // the file (a temp file and rename on the writer thread, whose start cost
      // that claim ~40 ms).
      if (text === undefined) await this.commit().catch((e: Error) => onError(`${e.message}; the first claim makes it`));
      return [];
    }
    let objects: unknown[];
    try {
      const data = JSON.parse(text) as Persisted;
      for (const [k, v] of Object.entries(data.claims ?? {})) this.claims.set(k, v);
      for (const [k, v] of Object.entries(data.members ?? {})) this.members.set(k, v);
      objects = Object.values(data.objects ?? {});
    } catch (e) {
      onError(`${from}: unreadable (${(e as Error).message}); claims start empty`);
      return [];
    }
    if (from === this.legacyFile) await this.migrate(objects, onError);
    return objects;
  }

  /** Writes what the old claims.json held into the two-slot file, then removes claims.json. */
  private async migrate(objects: unknown[], onError: (message: string) => void): Promise<void> {
    const held = Object.fromEntries(objects.map((o, i) => [String(i), o]));
    try {
      await writeStateSlots(this.file!, this.serialise(() => held));
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
      this.claims.set(c.id, rec);
      if (rec.phase === 'Bound' && member !== undefined) {
        const m = this.member(c.pool, member);
        this.setMember(c.pool, member, { ...m, claim: c.id });
      }
    }
  }

  member(pool: string, member: string): MemberRecord {
    return this.members.get(memberKey(pool, member)) ?? { uses: 0 };
  }

  setMember(pool: string, member: string, record: MemberRecord): void {
    this.members.set(memberKey(pool, member), record);
  }

  /** Some member this (deleted) claim released has not been recycled or removed yet. */
  awaitsRecycling(claimId: string): boolean {
    for (const m of this.members.values()) if (m.releasedBy === claimId) return true;
    return false;
  }

  /** Member ids of a pool that have a record. */
  membersOf(pool: string): string[] {
    const prefix = `${pool}#`;
    return [...this.members.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  }

  forgetMember(pool: string, member: string): void {
    this.members.delete(memberKey(pool, member));
  }

  /** Durable once resolved. */
  commit(): Promise<void> {
    return this.writer?.write() ?? Promise.resolve();
  }

  private serialise(objects: () => Record<string, unknown> = this.appliedClaims): string {
    const data: Persisted = { claims: Object.fromEntries(this.claims), members: Object.fromEntries(this.members), objects: objects() };
    return JSON.stringify(data);
  }
}
