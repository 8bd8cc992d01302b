// One bar per pool: warm / claimed / starting / terminating against minReady
// and maxSize; claims waiting in FIFO order with their wait so far; claim-wait
// p50/p99 (pool status) and the histogram (the controller's metrics).
import { age, duration } from '../format';
import type { Claim, Overview, Pool } from '../types';
import { keyOf } from '../types';
import { axisColors, Chart, color } from './chart';
import uPlot from 'uplot';

export interface PoolCounts {
  warm: number;
  claimed: number;
  starting: number;
  terminating: number;
}

/** Members by state; status.terminating when the controller reports it, else 0; starting is the rest. */
export function countsOf(p: Pool): PoolCounts {
  const s = p.status ?? {};
  const warm = s.ready ?? 0;
  const claimed = s.claimed ?? 0;
  const terminating = s.terminating ?? 0;
  const starting = s.starting ?? Math.max(0, (s.replicas ?? 0) - warm - claimed - terminating);
  return { warm, claimed, starting, terminating };
}

function Bar(props: { pool: Pool }) {
  const c = countsOf(props.pool);
  const min = props.pool.spec.minReady ?? 1;
  const max = props.pool.spec.maxSize;
  const total = c.warm + c.claimed + c.starting + c.terminating;
  const scale = Math.max(max ?? 0, total, min, 1);
  const pct = (n: number): string => `${(n / scale) * 100}%`;
  return (
    <div class="bar" data-testid="pool-bar" data-pool={keyOf(props.pool.metadata)} data-warm={c.warm} data-claimed={c.claimed} data-starting={c.starting} data-terminating={c.terminating}>
      <div class="seg warm" style={{ width: pct(c.warm) }} title={`${c.warm} warm`} />
      <div class="seg claimed" style={{ width: pct(c.claimed) }} title={`${c.claimed} claimed`} />
      <div class="seg starting" style={{ width: pct(c.starting) }} title={`${c.starting} starting`} />
      <div class="seg terminating" style={{ width: pct(c.terminating) }} title={`${c.terminating} terminating`} />
      <div class="mark min" style={{ left: pct(min) }} title={`minReady ${min}`} />
      {max !== undefined ? <div class="mark max" style={{ left: `calc(${pct(max)} - 2px)` }} title={`maxSize ${max}`} /> : null}
    </div>
  );
}

function Histogram(props: { h: Overview['claimWait'][number] }) {
  // Prometheus buckets are cumulative: per-bucket counts are the differences.
  const b = props.h.buckets.filter((x) => x.le !== '+Inf');
  const counts = b.map((x, i) => x.count - (i > 0 ? b[i - 1]!.count : 0));
  const labels = b.map((x) => (typeof x.le === 'number' ? duration(x.le * 1000) : '+Inf'));
  const data: uPlot.AlignedData = [b.map((_, i) => i), counts];
  return (
    <Chart
      testid="claim-histogram"
      data={data}
      options={(width) => ({
        width,
        height: 110,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: false, range: [-0.5, Math.max(0.5, b.length - 0.5)] } },
        axes: [
          { ...axisColors(), values: (_u, ticks) => ticks.map((t) => labels[t] ?? ''), size: 28, font: '10px system-ui' },
          { ...axisColors(), size: 30, font: '10px system-ui' },
        ],
        series: [{}, { label: 'claims', fill: color('--claimed'), stroke: color('--claimed'), paths: uPlot.paths.bars!({ size: [0.8, 40] }), points: { show: false } }],
      })}
    />
  );
}

export function Pools(props: { pools: Pool[]; claims: Claim[]; overview: Overview | undefined; now: number }) {
  if (props.pools.length === 0) return <p class="empty">no pools</p>;
  return (
    <div class="pools">
      {props.pools.map((p) => {
        const c = countsOf(p);
        const key = keyOf(p.metadata);
        const waiting = props.claims
          .filter((cl) => cl.metadata.namespace === p.metadata.namespace && cl.spec.poolRef.name === p.metadata.name && (cl.status?.phase ?? 'Pending') === 'Pending')
          .sort((a, b) => Date.parse(a.metadata.creationTimestamp ?? '') - Date.parse(b.metadata.creationTimestamp ?? ''));
        // The metric's pool label is InstancePool/<namespace>/<name>.
        const h = props.overview?.claimWait.find((x) => x.pool === `InstancePool/${key}` || x.pool === key);
        const wait = p.status?.claimWait;
        return (
          <section class="card pool" key={key} data-testid="pool" data-pool={key}>
            <header>
              <b>{p.metadata.name}</b> <span class="muted">{p.metadata.namespace}</span>
            </header>
            <Bar pool={p} />
            <div class="legend small">
              <span class="dot warm" /> {c.warm} warm <span class="dot claimed" /> {c.claimed} claimed <span class="dot starting" /> {c.starting} starting <span class="dot terminating" /> {c.terminating} terminating
              <span class="muted"> · min {p.spec.minReady ?? 1} · max {p.spec.maxSize ?? '∞'}</span>
            </div>
            <div class="small">
              claim wait p50 <b>{duration(wait?.p50Ms)}</b> · p99 <b>{duration(wait?.p99Ms)}</b> <span class="muted">({wait?.count ?? 0} claims)</span>
            </div>
            {h && h.count > 0 ? <Histogram h={h} /> : null}
            {waiting.length > 0 ? (
              <ol class="waiting small" data-testid="waiting">
                {waiting.map((cl, i) => (
                  <li key={keyOf(cl.metadata)}>
                    #{i + 1} {cl.metadata.name} <span class="muted">waited {age(cl.metadata.creationTimestamp, props.now)}</span>
                  </li>
                ))}
              </ol>
            ) : null}
          </section>
        );
      })}
    </div>
  );
}
