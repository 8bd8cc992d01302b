// fieldSelector, as Kubernetes spells it: "a=b,c==d,e!=f" over a few known fields.
import { badRequest } from './status.js';

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export function parseFieldSelector(text: string | null, allowed: readonly string[]): FieldRequirement[] {
  if (!text) return [];
  return text.split(',').map((part) => {
    const m = /^\s*([A-Za-z.]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw badRequest(`invalid fieldSelector ${JSON.stringify(part)} (expected field=value or field!=value)`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    if (!allowed.includes(field)) throw badRequest(`field label not supported: ${field} (supported: ${allowed.join(', ')})`);
    return { field, op: op === '!=' ? '!=' : '=', value };
  });
}

export function matchesFields(reqs: readonly FieldRequirement[], get: (field: string) => string | undefined): boolean {
  return reqs.every((r) => (get(r.field) === r.value) === (r.op === '='));
}

// labelSelector, as Kubernetes spells it: "a=b,c!=d,e in (x,y),f notin (z),g,!h".
export type LabelRequirement =
  | { key: string; op: 'in' | 'notin'; values: readonly string[] }
  | { key: string; op: 'exists' | '!exists' };

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

export function parseLabelSelector(text: string | null): LabelRequirement[] {
  if (!text || text.trim() === '') return [];
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((raw) => {
    const part = raw.trim();
    const bad = (why: string): never => {
      throw badRequest(`invalid labelSelector ${JSON.stringify(part)}: ${why}`);
    };
    const key = (k: string): string => (LABEL_KEY.test(k) && k.length <= 317 ? k : bad(`${JSON.stringify(k)} is not a label key`));
    const value = (v: string): string => (LABEL_VALUE.test(v) && v.length <= 63 ? v : bad(`${JSON.stringify(v)} is not a label value`));
    let m = /^(\S+?)\s+(in|notin)\s*\((.*)\)$/.exec(part);
    if (m) return { key: key(m[1]!), op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((v) => value(v.trim())) };
    m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
    if (m) return { key: key(m[1]!), op: m[2] === '!=' ? 'notin' : 'in', values: [value(m[3]!)] };
    m = /^(!?)\s*([^=!\s()]+)$/.exec(part);
    if (m) return { key: key(m[2]!), op: m[1] ? '!exists' : 'exists' };
    return bad('expected key=value, key!=value, key in (a,b), key notin (a,b), key or !key');
  });
}

export function matchesLabels(reqs: readonly LabelRequirement[], labels: Readonly<Record<string, string>> | undefined): boolean {
  return reqs.every((r) => {
    const v = labels?.[r.key];
    switch (r.op) {
      case 'exists':
        return v !== undefined;
      case '!exists':
        return v === undefined;
      case 'in':
        return v !== undefined && r.values.includes(v);
      case 'notin':
        return v === undefined || !r.values.includes(v);
    }
  });
}
