// Events, live, newest first, filterable by object (kind, namespace, name).
import type { ApiEvent } from '../types';
import { VirtualList } from './virtual-list';

export function Events(props: { events: ApiEvent[]; filter: string; onFilter: (f: string) => void }) {
  const f = props.filter.trim().toLowerCase();
  const rows = props.events
    .filter((e) => {
      if (!f) return true;
      const o = e.involvedObject;
      return `${o.kind}/${o.namespace}/${o.name}`.toLowerCase().includes(f) || `${o.namespace}/${o.name}`.toLowerCase() === f;
    })
    .reverse();
  return (
    <div>
      <input class="filter" type="search" placeholder="filter by object (kind, namespace/name)" value={props.filter} onInput={(e) => props.onFilter((e.currentTarget as HTMLInputElement).value)} data-testid="event-filter" />
      <VirtualList
        testid="events"
        rows={rows}
        rowHeight={44}
        height="min(50vh, 440px)"
        empty="no events"
        render={(e) => (
          <div class={`event ${e.type}`} data-testid="event-row" data-object={`${e.involvedObject.namespace}/${e.involvedObject.name}`} data-reason={e.reason}>
            <div class="small ellipsis">
              <span class="muted">{new Date(e.lastTimestamp).toLocaleTimeString()}</span> <b>{e.reason}</b> {e.involvedObject.kind} {e.involvedObject.namespace}/{e.involvedObject.name}
              {e.count > 1 ? <span class="muted"> ×{e.count}</span> : null}
            </div>
            <div class="small ellipsis" title={e.message}>
              {e.message}
            </div>
          </div>
        )}
      />
    </div>
  );
}
