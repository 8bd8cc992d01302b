// Label selectors (k8s.io/apimachinery/pkg/labels.Parse) and field selectors
// (k8s.io/apimachinery/pkg/fields.ParseSelector), with the same operators.
import { badRequest } from './errors.js';

export type LabelOp = 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  op: LabelOp;
  values: string[];
}

export type LabelSelector = LabelRequirement[];

const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function isQualifiedName(key: string): boolean {
  if (!QUALIFIED_NAME.test(key)) return false;
  const slash = key.lastIndexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  return name.length <= 63 && prefix.length <= 253;
}

export function isLabelValue(v: string): boolean {
  return v.length <= 63 && LABEL_VALUE.test(v);
}

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  parts.push(cur);
  return parts;
}

function requirementError(part: string, why: string): never {
  throw badRequest(`unable to parse requirement: ${why}${part ? ` (in "${part.trim()}")` : ''}`);
}

function checkKey(key: string, part: string): void {
  if (!isQualifiedName(key)) requirementError(part, `invalid label key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
}

function checkValue(v: string, part: string): void {
  if (!isLabelValue(v)) requirementError(part, `invalid label value: "${v}": must be 63 characters or less and must be empty or begin and end with an alphanumeric character`);
}

export function parseLabelSelector(raw: string | undefined): LabelSelector {
  if (raw === undefined || raw.trim() === '') return [];
  const reqs: LabelSelector = [];
  for (const partRaw of splitTop(raw)) {
    const part = partRaw.trim();
    if (part === '') requirementError(partRaw, 'found \'\', expected: !, identifier, or \'end of string\'');
    let m: RegExpMatchArray | null;
    if ((m = part.match(/^!\s*([^\s=!<>(),]+)$/))) {
      checkKey(m[1]!, part);
      reqs.push({ key: m[1]!, op: '!exists', values: [] });
    } else if ((m = part.match(/^([^\s=!<>(),]+)\s+(in|notin)\s*\(([^()]*)\)$/))) {
      const key = m[1]!;
      checkKey(key, part);
      const values = m[3]!.split(',').map((v) => v.trim());
      if (values.length === 1 && values[0] === '') requirementError(part, 'for \'in\', \'notin\' operators, values set can\'t be empty');
      values.forEach((v) => checkValue(v, part));
      reqs.push({ key, op: m[2] === 'in' ? 'in' : 'notin', values });
    } else if ((m = part.match(/^([^\s=!<>(),]+)\s*(==|=|!=|>|<)\s*([^\s=!<>(),]*)$/))) {
      const key = m[1]!;
      const value = m[3]!;
      checkKey(key, part);
      const op = m[2]!;
      if (op === '>' || op === '<') {
        if (!/^-?\d+$/.test(value)) requirementError(part, `for 'Gt', 'Lt' operators, the value must be an integer`);
        reqs.push({ key, op: op === '>' ? 'gt' : 'lt', values: [value] });
      } else {
        checkValue(value, part);
        reqs.push({ key, op: op === '!=' ? '!=' : '=', values: [value] });
      }
    } else if ((m = part.match(/^([^\s=!<>(),]+)$/))) {
      checkKey(m[1]!, part);
      reqs.push({ key: m[1]!, op: 'exists', values: [] });
    } else {
      requirementError(part, 'found unexpected token');
    }
  }
  return reqs;
}

export function matchesLabels(sel: LabelSelector, labels: Record<string, unknown> | undefined): boolean {
  const l = labels ?? {};
  return sel.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = has ? String(l[r.key]) : undefined;
    switch (r.op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case '=':
        return has && v === r.values[0];
      case '!=':
        return !has || v !== r.values[0];
      case 'in':
        return has && r.values.includes(v!);
      case 'notin':
        return !has || !r.values.includes(v!);
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(v!)) return false;
        const n = Number(v);
        const bound = Number(r.values[0]);
        return r.op === 'gt' ? n > bound : n < bound;
      }
    }
  });
}

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export type FieldSelector = FieldRequirement[];

/** Parses `a=b,c!=d`; `supported` are the field labels the resource serves. */
export function parseFieldSelector(raw: string | undefined, supported: readonly string[]): FieldSelector {
  if (raw === undefined || raw.trim() === '') return [];
  const reqs: FieldSelector = [];
  for (const partRaw of raw.split(',')) {
    const part = partRaw.trim();
    const m = part.match(/^([^=!]+?)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid selector: '${raw}'; can't understand '${part}'`);
    const field = m[1]!.trim();
    if (!supported.includes(field)) throw badRequest(`field label not supported: ${field}`);
    reqs.push({ field, op: m[2] === '!=' ? '!=' : '=', value: m[3]! });
  }
  return reqs;
}

export function matchesFields(sel: FieldSelector, fields: Record<string, string>): boolean {
  return sel.every((r) => {
    const v = fields[r.field] ?? '';
    return r.op === '=' ? v === r.value : v !== r.value;
  });
}
