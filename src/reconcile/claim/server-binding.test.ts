import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { boundMember, serverVerdict, type ServerClaimStatus } from './server-binding.js';

const T = '2026-01-01T12:00:00.000Z';
const bound = (member: string, extra: Partial<ServerClaimStatus> = {}): ServerClaimStatus => ({ phase: 'Bound', instance: `runners-${member}`, containerId: `id-${member}`, boundAt: T, ...extra });

describe('serverVerdict', () => {
  it('the server shows our binding: keep', () => {
    expect(serverVerdict({ phase: 'Bound', member: 'a' }, bound('a'), 'runners')).toEqual({ type: 'keep' });
  });

  it('another writer bound a claim we see Pending: adopt its binding', () => {
    expect(serverVerdict({ phase: 'Pending' }, bound('b', { ports: [], waitDurationMs: 4 }), 'runners')).toEqual({
      type: 'adopt',
      member: 'b',
      instance: 'runners-b',
      containerId: 'id-b',
      ports: [],
      boundAt: Date.parse(T),
      waitMs: 4,
    });
  });

  it('another writer bound it to another member than ours: adopt theirs', () => {
    expect(serverVerdict({ phase: 'Bound', member: 'a' }, bound('b'), 'runners')).toMatchObject({ type: 'adopt', member: 'b' });
  });

  it('a binding of ours timed out meanwhile is still adopted: the server is the record', () => {
    expect(serverVerdict({ phase: 'Failed' }, bound('b'), 'runners')).toMatchObject({ type: 'adopt', member: 'b' });
  });

  it('a status another manager set (a user\'s kubectl patch) is no binding: keep, whatever it shows', () => {
    expect(serverVerdict({ phase: 'Bound', member: 'a' }, bound('b'), 'runners', 'kubectl-patch')).toEqual({ type: 'keep' });
    expect(serverVerdict({ phase: 'Pending' }, bound('b'), 'runners', 'kubectl-patch')).toEqual({ type: 'keep' });
    expect(serverVerdict({ phase: 'Bound', member: 'a' }, { phase: 'Pending' }, 'runners', 'kubectl-patch')).toEqual({ type: 'keep' });
    expect(serverVerdict({ phase: 'Bound', member: 'a' }, { phase: 'Released' }, 'runners', 'kubectl-patch')).toEqual({ type: 'keep' });
  });

  it('server Pending or without status while we hold nothing: keep (our write retries)', () => {
    expect(serverVerdict({ phase: 'Pending' }, { phase: 'Pending' }, 'runners')).toEqual({ type: 'keep' });
    expect(serverVerdict({ phase: 'Pending' }, undefined, 'runners')).toEqual({ type: 'keep' });
    expect(serverVerdict({ phase: 'Failed' }, undefined, 'runners')).toEqual({ type: 'keep' });
  });

  it('server Pending while our record holds a member: unbound', () => {
    expect(serverVerdict({ phase: 'Bound', member: 'a' }, { phase: 'Pending' }, 'runners')).toEqual({ type: 'unbound' });
  });

  it('another writer ended an open claim: take its outcome', () => {
    const s = { phase: 'Failed', conditions: [{ type: 'Bound', reason: 'ClaimTimeout', message: 'late' }] };
    expect(serverVerdict({ phase: 'Pending' }, s, 'runners')).toEqual({ type: 'ended', phase: 'Failed', reason: 'ClaimTimeout', message: 'late' });
    expect(serverVerdict({ phase: 'Bound', member: 'a' }, { phase: 'Expired' }, 'runners')).toEqual({ type: 'ended', phase: 'Expired' });
    expect(serverVerdict({ phase: 'Expired' }, { phase: 'Failed' }, 'runners')).toEqual({ type: 'keep' });
  });

  it('a Bound status naming no member of this pool is not a binding', () => {
    expect(boundMember({ phase: 'Bound', instance: 'other-a' }, 'runners')).toBeUndefined();
    expect(boundMember({ phase: 'Bound', instance: 'runners-' }, 'runners')).toBeUndefined();
    expect(serverVerdict({ phase: 'Pending' }, { phase: 'Bound', instance: 'other-a' }, 'runners')).toEqual({ type: 'keep' });
  });

  it('property: the verdict never leaves a claim on a member the server does not name', () => {
    const phase = fc.constantFrom('Pending', 'Bound', 'Failed', 'Expired', 'Released') as fc.Arbitrary<'Pending' | 'Bound' | 'Failed' | 'Expired' | 'Released'>;
    const member = fc.constantFrom('a', 'b', 'c');
    const server = fc.option(fc.record({ phase: fc.constantFrom('Pending', 'Bound', 'Failed', 'Expired', 'Released', 'bogus'), instance: fc.option(member.map((m) => `runners-${m}`), { nil: undefined }) }), { nil: undefined });
    fc.assert(
      fc.property(phase, member, server, (p, m, s) => {
        const record = p === 'Bound' ? { phase: p, member: m } : { phase: p };
        const v = serverVerdict(record, s as ServerClaimStatus | undefined, 'runners');
        const named = boundMember(s as ServerClaimStatus | undefined, 'runners');
        // After the verdict the claim holds exactly the member the server names (or, when the server names none, nothing new).
        if (v.type === 'adopt') return v.member === named && !(p === 'Bound' && m === named);
        if (v.type === 'keep') return named === undefined ? !(p === 'Bound' && (s?.phase ?? 'Pending') === 'Pending') : p === 'Bound' && m === named;
        return named === undefined;
      }),
    );
  });
});
