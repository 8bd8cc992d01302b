// Resources and events as the API returns them, read defensively: the CLI
// must print whatever a (possibly newer or older) controller sends.
import type { Condition } from '../spec/status.js';

export interface ApiObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export interface ApiList<T = ApiObject> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion?: string };
  items: T[];
}

export interface ApiEvent {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  involvedObject: { kind: string; namespace: string; name: string };
  type: string;
  reason: string;
  message: string;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export function conditionsOf(o: ApiObject): Condition[] {
  const c = o.status?.['conditions'];
  return Array.isArray(c) ? (c.filter((x) => x && typeof x === 'object' && typeof (x as Condition).type === 'string') as Condition[]) : [];
}

export const conditionOf = (o: ApiObject, type: string): Condition | undefined => conditionsOf(o).find((c) => c.type === type);

export const statusString = (o: ApiObject, field: string): string | undefined => str(o.status?.[field]);
export const statusNumber = (o: ApiObject, field: string): number | undefined => num(o.status?.[field]);

/** "v1-0123456789abcdef..." -> "0123456789ab". */
export function shortHash(hash: string | undefined): string | undefined {
  return hash?.replace(/^v\d+-/, '').slice(0, 12);
}

/** Docker ids cut to 12 characters; Pod ids (`<namespace>/<name>`) whole. */
export const shortId = (id: string | undefined): string | undefined => (id === undefined ? undefined : /^[0-9a-f]{13,}$/.test(id) ? id.slice(0, 12) : id);

/** One line, at most `max` characters. */
export function oneLine(s: string, max = 120): string {
  const flat = s.replace(/\s*\n\s*/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
