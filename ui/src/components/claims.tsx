// Claims: phase, member, waited, TTL countdown.
import { duration } from '../format';
import type { Claim } from '../types';
import { keyOf } from '../types';
import { VirtualList } from './virtual-list';

function ttlLeft(c: Claim, now: number): string {
  const at = c.status?.expiresAt;
  if (!at) return c.spec.ttlSeconds ? `${c.spec.ttlSeconds}s` : '–';
  const left = Date.parse(at) - now;
  return left <= 0 ? 'expired' : duration(left);
}

export function Claims(props: { claims: Claim[]; now: number }) {
  const rows = [...props.claims].sort((a, b) => Date.parse(b.metadata.creationTimestamp ?? '') - Date.parse(a.metadata.creationTimestamp ?? ''));
  return (
    <div class="table claims">
      <div class="thead">
        <span>claim</span>
        <span>pool</span>
        <span>phase</span>
        <span>member</span>
        <span>waited</span>
        <span>ttl</span>
      </div>
      <VirtualList
        testid="claims"
        rows={rows}
        rowHeight={30}
        height="240px"
        empty="no claims"
        render={(c) => {
          const phase = c.status?.phase ?? 'Pending';
          const waited = c.status?.waitDurationMs ?? (phase === 'Pending' ? props.now - Date.parse(c.metadata.creationTimestamp ?? '') : undefined);
          return (
            <div class="tr" data-testid="claim-row" data-key={keyOf(c.metadata)} data-phase={phase}>
              <span title={keyOf(c.metadata)}>{c.metadata.name}</span>
              <span>{c.spec.poolRef.name}</span>
              <span class={`phase ${phase}`}>{phase}</span>
              <span>{c.status?.instance ?? ''}</span>
              <span>{duration(waited)}</span>
              <span data-testid="claim-ttl">{ttlLeft(c, props.now)}</span>
            </div>
          );
        }}
      />
    </div>
  );
}
