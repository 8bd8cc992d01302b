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
