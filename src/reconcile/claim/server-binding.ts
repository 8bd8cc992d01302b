// What berth does when the apiserver's copy of a claim disagrees with its own
// record (Kubernetes mode, after a 409 on a status write with a
// resourceVersion precondition): the claim's status in the apiserver is the
// record, so a binding another writer made (an old leader's late write) is
// adopted, an outcome another writer gave is kept, and a bind of ours that
// is not there did not happen. A status someone other than berth set (a
// user's `kubectl patch --subresource=status`) is no binding: berth's record
// stands and is written back. Pure: record + server status -> verdict.
import type { ClaimPhase } from '../../spec/status.js';
import type { ObservedPort } from '../../runtime/types.js';

/** A claim's status as the apiserver holds it (the fields a binding is read from). */
export interface ServerClaimStatus {
  phase?: string;
  instance?: string;
  containerId?: string;
  ports?: ObservedPort[];
  boundAt?: string;
  expiresAt?: string;
  waitDurationMs?: number;
  conditions?: Array<{ type: string; reason?: string; message?: string }>;
}

/** How a conditional write of a claim's status ended: taken, refused (with the status the apiserver holds now), or the claim is gone. */
export type ClaimWriteOutcome =
  | { type: 'written' }
  | { type: 'conflict'; status: ServerClaimStatus | undefined; editedBy?: string }
  | { type: 'gone' }
  /** The source refused the status itself (a value it does not accept): writing it again would be refused again. */
  | { type: 'refused'; message: string };

/** What berth's record says of the claim. */
export interface RecordedBinding {
  phase: ClaimPhase;
  member?: string;
}

export type ServerVerdict =
  /** Nothing to take over: berth's record stands (a write of it is retried on the fresh copy). */
  | { type: 'keep' }
  /** Another writer bound the claim: the record takes that binding. */
  | { type: 'adopt'; member: string; instance: string; containerId?: string; ports?: ObservedPort[]; boundAt?: number; expiresAt?: number; waitMs?: number }
  /** Another writer ended the claim (Failed, Expired, Released): the record takes that outcome. */
  | { type: 'ended'; phase: 'Failed' | 'Expired' | 'Released'; reason?: string; message?: string }
  /** The record holds a member the server does not show: that binding is gone; the claim waits again. */
  | { type: 'unbound' };

const ENDED = ['Failed', 'Expired', 'Released'] as const;

/** The member a Bound status names (`<pool>-<member>`), or undefined. */
export function boundMember(status: ServerClaimStatus | undefined, poolName: string): string | undefined {
  if (status?.phase !== 'Bound' || typeof status.instance !== 'string') return undefined;
  const prefix = `${poolName}-`;
  return status.instance.startsWith(prefix) && status.instance.length > prefix.length ? status.instance.slice(prefix.length) : undefined;
}

/** editedBy: a manager other than berth set the server's binding fields (status-editor.ts). */
export function serverVerdict(record: RecordedBinding, server: ServerClaimStatus | undefined, poolName: string, editedBy?: string): ServerVerdict {
  // Not berth's write: no member changed hands, whatever it names; the record is written back over it.
  if (editedBy !== undefined) return { type: 'keep' };
  const member = boundMember(server, poolName);
  if (member !== undefined) {
    if (record.phase === 'Bound' && record.member === member) return { type: 'keep' };
    const time = (s: string | undefined): number | undefined => {
      const t = s === undefined ? NaN : Date.parse(s);
      return Number.isFinite(t) ? t : undefined;
    };
    const boundAt = time(server!.boundAt);
    const expiresAt = time(server!.expiresAt);
    return {
      type: 'adopt',
      member,
      instance: server!.instance!,
      ...(server!.containerId ? { containerId: server!.containerId } : {}),
      ...(Array.isArray(server!.ports) ? { ports: server!.ports } : {}),
      ...(boundAt !== undefined ? { boundAt } : {}),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
      ...(typeof server!.waitDurationMs === 'number' ? { waitMs: server!.waitDurationMs } : {}),
    };
  }
  const ended = ENDED.find((p) => p === server?.phase);
  if (ended) {
    // Our own outcome (or another one of ours being written) stands; a claim we think open takes theirs.
    if (record.phase !== 'Pending' && record.phase !== 'Bound') return { type: 'keep' };
    const cond = server?.conditions?.find((c) => c.type === 'Bound');
    return { type: 'ended', phase: ended, ...(cond?.reason ? { reason: cond.reason } : {}), ...(cond?.message ? { message: cond.message } : {}) };
  }
  // Pending or no status: a binding only we record was overwritten.
  return record.phase === 'Bound' ? { type: 'unbound' } : { type: 'keep' };
}
