// Renders only the rows in view (plus a few), so 1,000 or 10,000 rows scroll
// without jank: fixed row height, one absolutely positioned slice.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';

export function VirtualList<T>(props: { rows: T[]; rowHeight: number; height: string; render: (row: T, index: number) => ComponentChildren; testid?: string; empty?: string }) {
  const [top, setTop] = useState(0);
  const { rows, rowHeight } = props;
  const overscan = 8;
  const viewRows = 40; // enough for a tall screen; overscan covers the rest
  const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
  const last = Math.min(rows.length, first + viewRows + overscan * 2);
  return (
    <div class="vlist" style={{ maxHeight: props.height }} onScroll={(e) => setTop((e.currentTarget as HTMLElement).scrollTop)} data-testid={props.testid} data-rows={rows.length}>
      {rows.length === 0 ? <div class="empty">{props.empty ?? 'nothing yet'}</div> : null}
      <div style={{ height: `${rows.length * rowHeight}px`, position: 'relative' }}>
        <div style={{ position: 'absolute', top: `${first * rowHeight}px`, left: 0, right: 0 }}>
          {rows.slice(first, last).map((r, i) => (
            <div class="vrow" style={{ height: `${rowHeight}px` }} key={first + i}>
              {props.render(r, first + i)}
            </div>
          ))}
        </div>
      </div>
    </div>
  );
}
