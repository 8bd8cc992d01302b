// The claim rules for one pool, pure and total: claims + members + now ->
// decisions (DESIGN.md, rule 8).
//
//   1. release: a deleted claim gives its member back (to be recycled)
//   2. expire:  a Bound claim past expiresAt releases its member
//      lost:    a Bound claim whose member the pool's last list did not find fails
//   3. bind:    Pending claims, oldest first, take free members (current
//               config first, then oldest); one member never goes to two claims
//   4. timeout: a Pending claim still unbound at createdAt + claimTimeoutSeconds fails
//
// Members freed by 1 and 2 are not bound in the same plan: they are released,
// and serve again only once the pool has recycled them (Reuse) or replaced
// them (Replace).
import { compareFifo, compareHandOut, isFree } from './fifo.js';
import type { ClaimDecision, ClaimPlan, ClaimPlanInput, ClaimView } from './types.js';

const finiteOr = (n: number | undefined, fallback: number): number => (typeof n === 'number' && Number.isFinite(n) ? n : fallback);

export function planClaims(input: ClaimPlanInput): ClaimPlan {
  const { now } = input;
  const claims = input.claims.filter((c) => c.pool === input.pool);
  const decisions: ClaimDecision[] = [];

  for (const c of claims) {
    if (c.deleted) decisions.push({ type: 'release', claim: c.id, ...(c.phase === 'Bound' && c.member !== undefined ? { member: c.member } : {}) });
  }
  const gone = new Set(input.gone ?? []);
  const lost = new Set<string>();
  for (const c of claims) {
    if (c.deleted || c.phase !== 'Bound') continue;
    if (c.member !== undefined && gone.has(c.member)) {
      decisions.push({ type: 'lost', claim: c.id, member: c.member });
      lost.add(c.id);
    } else if (c.expiresAt !== undefined && finiteOr(c.expiresAt, Infinity) <= now) {
      decisions.push({ type: 'expire', claim: c.id, ...(c.member !== undefined ? { member: c.member } : {}) });
    }
  }

  // A member named by any claim that still holds it is never free, whatever its own record says.
  const held = new Set(claims.filter((c) => c.phase === 'Bound' && !c.deleted && c.member !== undefined).map((c) => c.member!));
  const free = input.members.filter((m) => isFree(m) && !held.has(m.member)).sort(compareHandOut);
  const pending = claims.filter((c) => !c.deleted && c.phase === 'Pending').sort(compareFifo);
  const timeoutMs = Math.max(0, finiteOr(input.claimTimeoutSeconds, 0)) * 1000;
  const waiting: string[] = [];
  const deadlines: number[] = [];

  for (const c of pending) {
    const m = input.poolExists ? free.shift() : undefined;
    if (m) {
      const ttl = c.ttlSeconds;
      decisions.push({
        type: 'bind',
        claim: c.id,
        member: m.member,
        containerId: m.containerId,
        waitMs: Math.max(0, now - finiteOr(c.createdAt, now)),
        ...(ttl !== undefined && Number.isFinite(ttl) ? { expiresAt: now + ttl * 1000 } : {}),
      });
      if (ttl !== undefined && Number.isFinite(ttl)) deadlines.push(now + ttl * 1000);
      continue;
    }
    const deadline = finiteOr(c.createdAt, now) + timeoutMs;
    if (deadline <= now) {
      decisions.push({ type: 'timeout', claim: c.id, reason: input.poolExists ? 'ClaimTimeout' : 'PoolNotFound', waitedMs: Math.max(0, now - finiteOr(c.createdAt, now)) });
      continue;
    }
    waiting.push(c.id);
    deadlines.push(deadline);
  }
  for (const c of claims) if (!c.deleted && c.phase === 'Bound' && !lost.has(c.id) && c.expiresAt !== undefined && c.expiresAt > now) deadlines.push(c.expiresAt);

  const future = deadlines.filter((d) => Number.isFinite(d) && d > now);
  return {
    pool: input.pool,
    decisions,
    waiting,
    ...(future.length ? { nextDeadline: Math.min(...future) } : {}),
  };
}

/** The claim's position among those waiting (1 = next), or undefined when it is not waiting. */
export function queuePosition(plan: ClaimPlan, claim: ClaimView['id']): number | undefined {
  const i = plan.waiting.indexOf(claim);
  return i < 0 ? undefined : i + 1;
}
