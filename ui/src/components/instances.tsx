// Instances: phase, Ready, restarts, age, hash, last drift, usage; a click
// opens the usage history (kept from the watch, in this tab) as a chart.
import { useMemo, useState } from 'preact/hooks';
import { age, number } from '../format';
import type { Instance } from '../types';
import { condition, keyOf } from '../types';
import { axisColors, Chart, color } from './chart';
import { VirtualList } from './virtual-list';

export interface UsageSample {
  t: number;
  cpu?: number;
  memory?: number;
}

const HISTORY = 120;

/** Appends a usage sample when the watched usage changed; keeps the last HISTORY. */
export function recordUsage(history: Map<string, UsageSample[]>, i: Instance): void {
  const u = i.status?.usage;
  if (!u) return;
  const k = keyOf(i.metadata);
  const list = history.get(k) ?? [];
  const sample = { t: Date.now() / 1000, cpu: number(u.cpu), memory: number(u.memory) };
  const prev = list[list.length - 1];
  if (prev && prev.cpu === sample.cpu && prev.memory === sample.memory) return;
  list.push(sample);
  if (list.length > HISTORY) list.shift();
  history.set(k, list);
}

function Detail(props: { instance: Instance; history: UsageSample[]; onClose: () => void }) {
  const s = props.instance.status ?? {};
  const h = props.history;
  const data = useMemo(() => [h.map((x) => x.t), h.map((x) => x.cpu ?? null), h.map((x) => x.memory ?? null)] as [number[], (number | null)[], (number | null)[]], [h.length, h[h.length - 1]?.t]);
  return (
    <section class="card detail" data-testid="instance-detail">
      <header>
        <b>{props.instance.metadata.name}</b> <span class="muted">{props.instance.metadata.namespace}</span>
        <button class="link" onClick={props.onClose} aria-label="close">
          ×
        </button>
      </header>
      <div class="small">
        hash <code>{s.configHash ?? '–'}</code>
        {s.lastDrift ? (
          <>
            {' '}
            · last drift <b>{s.lastDrift.fields.join(', ')}</b> <span class="muted">at {s.lastDrift.at}</span>
          </>
        ) : null}
        {s.conditions?.map((c) => (
          <div key={c.type}>
            {c.type}={c.status} <span class="muted">{c.reason}</span> {c.message}
          </div>
        ))}
      </div>
      {h.length > 0 ? (
        <Chart
          testid="usage-chart"
          data={data}
          options={(width) => ({
            width,
            height: 140,
            cursor: { show: true },
            scales: { cpu: { auto: true }, mem: { auto: true } },
            axes: [{ ...axisColors(), size: 30, font: '10px system-ui' }, { ...axisColors(), scale: 'cpu', size: 40, font: '10px system-ui', values: (_u, t) => t.map((v) => `${v}%`) }, { ...axisColors(), scale: 'mem', side: 1, size: 44, font: '10px system-ui', values: (_u, t) => t.map((v) => `${v}Mi`) }],
            series: [{}, { label: 'cpu %', scale: 'cpu', stroke: color('--warm'), width: 2 }, { label: 'memory Mi', scale: 'mem', stroke: color('--claimed'), width: 2 }],
          })}
        />
      ) : (
        <p class="muted small">no usage reported yet (the controller samples every 30 s)</p>
      )}
    </section>
  );
}

export function Instances(props: { instances: Instance[]; history: Map<string, UsageSample[]>; now: number; onFilterEvents: (key: string) => void }) {
  const [filter, setFilter] = useState('');
  const [selected, setSelected] = useState<string | undefined>();
  const rows = useMemo(() => {
    const f = filter.trim().toLowerCase();
    return props.instances.filter((i) => !f || keyOf(i.metadata).includes(f) || (i.status?.phase ?? '').toLowerCase().includes(f)).sort((a, b) => keyOf(a.metadata).localeCompare(keyOf(b.metadata)));
  }, [props.instances, filter]);
  const chosen = selected ? props.instances.find((i) => keyOf(i.metadata) === selected) : undefined;
  return (
    <div>
      <input class="filter" type="search" placeholder="filter instances (name, namespace, phase)" value={filter} onInput={(e) => setFilter((e.currentTarget as HTMLInputElement).value)} data-testid="instance-filter" />
      <span class="muted small"> {rows.length} of {props.instances.length}</span>
      <div class="table instances">
        <div class="thead">
          <span>instance</span>
          <span>phase</span>
          <span>ready</span>
          <span>restarts</span>
          <span>age</span>
          <span class="wide">hash</span>
          <span class="wide">last drift</span>
          <span>cpu</span>
          <span>mem</span>
          <span class="wide">pids</span>
        </div>
        <VirtualList
          testid="instances"
          rows={rows}
          rowHeight={30}
          height="min(60vh, 520px)"
          empty="no instances"
          render={(i) => {
            const s = i.status ?? {};
            const k = keyOf(i.metadata);
            const ready = condition(i, 'Ready')?.status ?? 'Unknown';
            return (
              <div
                class={`tr clickable ${k === selected ? 'selected' : ''}`}
                data-testid="instance-row"
                data-key={k}
                data-phase={s.phase ?? ''}
                onClick={() => {
                  setSelected(k === selected ? undefined : k);
                  props.onFilterEvents(k);
                }}
              >
                <span title={k}>
                  {i.metadata.name} <span class="muted">{i.metadata.namespace}</span>
                </span>
                <span class={`phase ${s.phase ?? ''}`} data-testid="instance-phase">
                  {s.phase ?? '–'}
                </span>
                <span class={ready === 'True' ? 'ok' : 'bad'}>{ready}</span>
                <span>{s.restartCount ?? 0}</span>
                <span>{age(i.metadata.creationTimestamp, props.now)}</span>
                <span class="wide mono">{(s.configHash ?? '').replace(/^v\d+-/, '').slice(0, 10)}</span>
                <span class="wide" title={s.lastDrift?.at}>
                  {s.lastDrift?.fields.join(', ') ?? ''}
                </span>
                <span>{s.usage?.cpu ?? ''}</span>
                <span>{s.usage?.memory ?? ''}</span>
                <span class="wide">{s.usage?.pids ?? ''}</span>
              </div>
            );
          }}
        />
      </div>
      {chosen ? <Detail instance={chosen} history={props.history.get(selected!) ?? []} onClose={() => setSelected(undefined)} /> : null}
    </div>
  );
}
