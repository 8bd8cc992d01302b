// The order claims are served in and the order members are handed out in.
import type { ClaimView, MemberView } from './types.js';

/** Oldest claim first; the id breaks ties so that the order never depends on how claims were listed. */
export const compareFifo = (a: ClaimView, b: ClaimView): number => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Free: passing its probe, not terminating, held by no claim, not awaiting
 * recycling, and, after a Reuse recycle, probed again since.
 */
export function isFree(m: MemberView): boolean {
  if (!m.ready || m.terminating || m.claimedBy !== undefined || m.released) return false;
  // At or after the recycle: a member without a probe is ready again in the same millisecond.
  return m.recycledAt === undefined || (m.lastReadyAt ?? -Infinity) >= m.recycledAt;
}

/** Members with the current config first (an outdated one is about to rotate out), then the oldest (it ages out first anyway). */
export const compareHandOut = (a: MemberView, b: MemberView): number =>
  Number(b.current) - Number(a.current) || a.createdAt - b.createdAt || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0);
