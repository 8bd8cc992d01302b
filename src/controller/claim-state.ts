// The durable record of claims and the pool members they hold. A binding is
// written here (group commit) before the claim is reported Bound, so a
// controller killed mid-claim never binds a member twice nor loses a claim.
import { join } from 'node:path';
import { readFileIfExists } from '../sources/atomic-file.js';
import { CoalescingWriter } from '../sources/coalescing-writer.js';
import type { ClaimPhase } from '../spec/status.js';
import type { ObservedPort } from '../runtime/types.js';

export interface ClaimRecord {
  /** keyString of the InstancePool. */
  pool: string;
  phase: ClaimPhase;
  /** Epoch ms the claim was made (its FIFO position). */
  createdAt: number;
  member?: string;
  instance?: string;
  containerId?: string;
  ports?: ObservedPort[];
  boundAt?: number;
  expiresAt?: number;
  waitMs?: number;
  /** Bound at once from a warm member, without waiting. */
  warm?: boolean;
  reason?: string;
  message?: string;
}

export interface MemberRecord {
  uses: number;
  /** keyString of the claim holding it. */
  claim?: string;
  /** Its claim ended; the pool must replace or recycle it before it serves again. */
  released?: boolean;
  /** Epoch ms of a Reuse recycle: it serves again only after a probe passes later than this. */
  recycledAt?: number;
}

interface Persisted {
  claims: Record<string, ClaimRecord>;
  members: Record<string, MemberRecord>;
}

export const memberKey = (pool: string, member: string): string => `${pool}#${member}`;

export class ClaimState {
  readonly claims = new Map<string, ClaimRecord>();
  readonly members = new Map<string, MemberRecord>();
  private readonly writer: CoalescingWriter | undefined;
  private readonly file: string | undefined;

  constructor(stateDir: string | undefined) {
    this.file = stateDir ? join(stateDir, 'claims.json') : undefined;
    this.writer = this.file ? new CoalescingWriter(this.file, () => this.serialise()) : undefined;
  }

  async load(onError: (message: string) => void): Promise<void> {
    if (!this.file) return;
    const text = await readFileIfExists(this.file);
    if (!text) return;
    try {
      const data = JSON.parse(text) as Persisted;
      for (const [k, v] of Object.entries(data.claims ?? {})) this.claims.set(k, v);
      for (const [k, v] of Object.entries(data.members ?? {})) this.members.set(k, v);
    } catch (e) {
      onError(`${this.file}: unreadable (${(e as Error).message}); claims start empty`);
    }
  }

  member(pool: string, member: string): MemberRecord {
    return this.members.get(memberKey(pool, member)) ?? { uses: 0 };
  }

  setMember(pool: string, member: string, record: MemberRecord): void {
    this.members.set(memberKey(pool, member), record);
  }

  forgetMember(pool: string, member: string): void {
    this.members.delete(memberKey(pool, member));
  }

  /** Durable once resolved. */
  commit(): Promise<void> {
    return this.writer?.write() ?? Promise.resolve();
  }

  private serialise(): string {
    const data: Persisted = { claims: Object.fromEntries(this.claims), members: Object.fromEntries(this.members) };
    return JSON.stringify(data);
  }
}
