// A claim plan as stable text, one line per decision: what the golden tests compare and what logs show.
import type { ClaimDecision, ClaimPlan } from './types.js';

export function formatClaimDecision(d: ClaimDecision): string {
  switch (d.type) {
    case 'bind':
      return `bind ${d.claim} -> ${d.member} (waited ${d.waitMs} ms${d.expiresAt !== undefined ? `, expires at ${new Date(d.expiresAt).toISOString()}` : ''})`;
    case 'timeout':
      return `fail ${d.claim} (${d.reason} after ${d.waitedMs} ms)`;
    case 'expire':
      return `expire ${d.claim}${d.member !== undefined ? ` (releases ${d.member})` : ''}`;
    case 'lost':
      return `fail ${d.claim} (MemberLost: ${d.member} is gone)`;
    case 'release':
      return `release ${d.claim}${d.member !== undefined ? ` (releases ${d.member})` : ' (held nothing)'}`;
  }
}

export function formatClaimPlan(plan: ClaimPlan): string {
  const lines = plan.decisions.map(formatClaimDecision);
  if (plan.waiting.length) lines.push(`waiting: ${plan.waiting.join(', ')}`);
  if (!lines.length) lines.push('nothing to do');
  if (plan.nextDeadline !== undefined) lines.push(`next check at ${new Date(plan.nextDeadline).toISOString()}`);
  return lines.map((l) => `${plan.pool}: ${l}`).join('\n');
}
