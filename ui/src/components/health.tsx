// Controller health: ready, leader or follower, the engine as the controller
// sees it, work queue depth, and whether the page's watches are live.
import type { LinkState } from '../api';
import type { Overview } from '../types';

export function Health(props: { overview: Overview | undefined; link: LinkState; detail?: string }) {
  const o = props.overview;
  const item = (label: string, value: string, ok: boolean | undefined, testid: string) => (
    <span class={`pill ${ok === undefined ? '' : ok ? 'ok' : 'bad'}`} data-testid={testid}>
      <b>{label}</b> {value}
    </span>
  );
  return (
    <div class="health" data-testid="health">
      {item('watch', props.link === 'live' ? 'live' : props.link, props.link === 'live', 'health-link')}
      {o ? item('engine', o.engine.reachable ? 'reachable' : 'unreachable', o.engine.reachable, 'health-engine') : null}
      {o ? item('controller', o.ready ? 'ready' : 'not ready', o.ready, 'health-ready') : null}
      {o ? item('role', o.role, o.role !== 'follower', 'health-role') : null}
      {o ? item('queue', String(o.queueDepth), o.queueDepth < 100, 'health-queue') : null}
      {props.link !== 'live' && props.detail ? <span class="muted small">{props.detail}</span> : null}
      {o && !o.engine.reachable && o.engine.message ? <span class="muted small">{o.engine.message}</span> : null}
    </div>
  );
}
