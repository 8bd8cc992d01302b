// The table columns of `berth get` for each kind (and of `berth events`).
import type { Kind } from '../spec/schema.js';
import { ageOf } from './age.js';
import { conditionOf, conditionsOf, oneLine, shortHash, shortId, statusNumber, statusString, type ApiEvent, type ApiObject } from './objects.js';

export interface Column<T> {
  header: string;
  value(o: T, now: number): string;
}

const NONE = '<none>';

const name: Column<ApiObject> = { header: 'NAME', value: (o) => o.metadata.name };
const namespace: Column<ApiObject> = { header: 'NAMESPACE', value: (o) => o.metadata.namespace };
const age: Column<ApiObject> = { header: 'AGE', value: (o, now) => ageOf(o.metadata.creationTimestamp, now) };
const phase: Column<ApiObject> = { header: 'PHASE', value: (o) => statusString(o, 'phase') ?? NONE };
const container: Column<ApiObject> = { header: 'CONTAINER', value: (o) => shortId(statusString(o, 'containerId')) ?? NONE };
const count = (header: string, field: string): Column<ApiObject> => ({ header, value: (o) => String(statusNumber(o, field) ?? 0) });

/** What needs attention: a Ready condition that is not True, else a Degraded or Progressing one that is. */
export function headlineMessage(o: ApiObject): string {
  const ready = conditionOf(o, 'Ready') ?? conditionOf(o, 'Bound');
  const pick =
    (ready && ready.status !== 'True' ? ready : undefined) ??
    conditionsOf(o).find((c) => c.type === 'Degraded' && c.status === 'True') ??
    conditionsOf(o).find((c) => c.type === 'Progressing' && c.status === 'True');
  if (!pick) return '';
  return oneLine([pick.reason, pick.message].filter(Boolean).join(': '));
}
const message: Column<ApiObject> = { header: 'MESSAGE', value: (o) => headlineMessage(o) };

const COLUMNS: Record<Kind, { normal: Column<ApiObject>[]; wide: Column<ApiObject>[] }> = {
  Instance: {
    normal: [
      name,
      phase,
      { header: 'READY', value: (o) => conditionOf(o, 'Ready')?.status ?? NONE },
      count('RESTARTS', 'restartCount'),
      { header: 'HASH', value: (o) => shortHash(statusString(o, 'configHash')) ?? NONE },
      age,
    ],
    wide: [container, message],
  },
  InstancePool: {
    normal: [
      name,
      count('READY', 'ready'),
      { header: 'MIN-READY', value: (o) => String(o.spec?.['minReady'] ?? 1) },
      count('CLAIMED', 'claimed'),
      count('REPLICAS', 'replicas'),
      age,
    ],
    wide: [{ header: 'HASH', value: (o) => shortHash(statusString(o, 'configHash')) ?? NONE }, message],
  },
  InstanceClaim: {
    normal: [
      name,
      { header: 'PHASE', value: (o) => statusString(o, 'phase') ?? 'Pending' },
      { header: 'POOL', value: (o) => String((o.spec?.['poolRef'] as { name?: unknown } | undefined)?.name ?? NONE) },
      { header: 'INSTANCE', value: (o) => statusString(o, 'instance') ?? NONE },
      age,
    ],
    wide: [container, message],
  },
};

export function columnsFor(kind: Kind, opts: { wide?: boolean; allNamespaces?: boolean } = {}): Column<ApiObject>[] {
  const c = COLUMNS[kind];
  return [...(opts.allNamespaces ? [namespace] : []), ...c.normal, ...(opts.wide ? c.wide : [])];
}

export function tableOf<T>(columns: readonly Column<T>[], items: readonly T[], now: number): { headers: string[]; rows: string[][] } {
  return { headers: columns.map((c) => c.header), rows: items.map((o) => columns.map((c) => c.value(o, now))) };
}

/** "5m (x3 over 12m)" for repeated events, as `kubectl events` shows them. */
function lastSeen(e: ApiEvent, now: number): string {
  const last = ageOf(e.lastTimestamp, now);
  return e.count > 1 ? `${last} (x${e.count} over ${ageOf(e.firstTimestamp, now)})` : last;
}

export function eventColumns(opts: { allNamespaces?: boolean } = {}): Column<ApiEvent>[] {
  return [
    ...(opts.allNamespaces ? [{ header: 'NAMESPACE', value: (e: ApiEvent) => e.involvedObject.namespace || e.metadata.namespace || NONE }] : []),
    { header: 'LAST SEEN', value: lastSeen },
    { header: 'TYPE', value: (e) => e.type },
    { header: 'REASON', value: (e) => e.reason },
    { header: 'OBJECT', value: (e) => `${e.involvedObject.kind.toLowerCase()}/${e.involvedObject.name}` },
    { header: 'MESSAGE', value: (e) => oneLine(e.message, 200) },
  ];
}
