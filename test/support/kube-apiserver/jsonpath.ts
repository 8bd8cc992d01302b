// The part of client-go's JSONPath (k8s.io/client-go/util/jsonpath) that CRD
// additionalPrinterColumns use, evaluated with AllowMissingKeys as the
// apiserver's table convertor does: fields (`.a.b`, `['a.b']`), `*` / `[*]`,
// indexes and slices (`[0]`, `[-1]`, `[1:3]`), recursive descent (`..a`),
// unions of indexes or keys (`[0,2]`, `['a','b']`) and filters
// (`[?(@.type=="Ready")]`, `!=`, `<`, `<=`, `>`, `>=`, or existence `[?(@.a)]`).
import { isObject, type Json } from './json.js';

type Literal = string | number | boolean | null;

type Step =
  | { t: 'field'; name: string }
  | { t: 'wild' }
  | { t: 'recursive' }
  | { t: 'index'; indexes: number[] }
  | { t: 'keys'; names: string[] }
  | { t: 'slice'; start?: number; end?: number; step?: number }
  | { t: 'filter'; left: Step[]; op?: '==' | '!=' | '<' | '<=' | '>' | '>='; right?: Literal | Step[] };

export class JsonPathError extends Error {}

/** A compiled expression (the text inside `{...}`, or a bare `.a.b` path). */
export interface JsonPath {
  readonly source: string;
  /** Every value the path selects, in order; [] when anything is missing. */
  find(data: Json): Json[];
}

export function compileJsonPath(expr: string): JsonPath {
  let text = expr.trim();
  if (text.startsWith('{') && text.endsWith('}')) text = text.slice(1, -1).trim();
  if (text.startsWith('$')) text = text.slice(1);
  const steps = new Parser(text).steps(false);
  return { source: expr, find: (data) => evaluate(steps, [data]) };
}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  private fail(why: string): never {
    throw new JsonPathError(`unrecognized JSONPath ${JSON.stringify(this.s)} at ${this.i}: ${why}`);
  }

  private peek(n = 0): string {
    return this.s[this.i + n] ?? '';
  }

  /** Steps until the end (or, inside a filter, until an operator or ')'). */
  steps(inFilter: boolean): Step[] {
    const out: Step[] = [];
    for (;;) {
      while (this.peek() === ' ' && !inFilter) this.i++;
      const c = this.peek();
      if (c === '') break;
      if (inFilter && (c === ' ' || c === ')' || c === '=' || c === '!' || c === '<' || c === '>')) break;
      if (c === '.') {
        if (this.peek(1) === '.') {
          this.i += 2;
          out.push({ t: 'recursive' });
          if (this.peek() === '[') continue;
        } else {
          this.i++;
        }
        if (this.peek() === '*') {
          this.i++;
          out.push({ t: 'wild' });
          continue;
        }
        const name = this.ident();
        if (name === '') {
          if (out.length === 0 && this.peek() === '') break; // "." alone: the root
          if (this.peek() === '[') continue;
          this.fail('expected a field name');
        }
        out.push({ t: 'field', name });
      } else if (c === '[') {
        out.push(this.bracket());
      } else {
        this.fail(`unexpected ${JSON.stringify(c)}`);
      }
    }
    return out;
  }

  /** A field name: up to a terminator; `\.` is a literal dot (`.metadata.labels.app\.kubernetes\.io/name`). */
  private ident(): string {
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === '\\' && this.peek(1) !== '') {
        out += this.peek(1);
        this.i += 2;
        continue;
      }
      if (c === '' || ' .,[]$@{}()=!<>'.includes(c)) return out;
      out += c;
      this.i++;
    }
  }

  private bracket(): Step {
    this.i++; // [
    if (this.peek() === '?') {
      this.i++;
      if (this.peek() !== '(') this.fail('expected ( after ?');
      this.i++;
      this.skipSpaces();
      if (this.peek() !== '@') this.fail('a filter must start with @');
      this.i++;
      const left = this.steps(true);
      this.skipSpaces();
      let step: Step;
      const op = this.operator();
      if (op) {
        this.skipSpaces();
        const right = this.peek() === '@' ? (this.i++, this.steps(true)) : this.literal();
        step = { t: 'filter', left, op, right };
        this.skipSpaces();
      } else {
        step = { t: 'filter', left };
      }
      if (this.peek() !== ')') this.fail('expected )');
      this.i++;
      this.expect(']');
      return step;
    }
    if (this.peek() === '*') {
      this.i++;
      this.expect(']');
      return { t: 'wild' };
    }
    if (this.peek() === "'" || this.peek() === '"') {
      const names: string[] = [];
      for (;;) {
        this.skipSpaces();
        const q = this.peek();
        if (q !== "'" && q !== '"') this.fail('expected a quoted key');
        names.push(this.quoted());
        this.skipSpaces();
        if (this.peek() === ',') {
          this.i++;
          continue;
        }
        break;
      }
      this.expect(']');
      return names.length === 1 ? { t: 'field', name: names[0]! } : { t: 'keys', names };
    }
    const end = this.s.indexOf(']', this.i);
    if (end < 0) this.fail('unterminated [');
    const body = this.s.slice(this.i, end).replace(/\s+/g, '');
    this.i = end + 1;
    if (body.includes(':')) {
      const parts = body.split(':');
      if (parts.length > 3 || parts.some((p) => p !== '' && !/^-?\d+$/.test(p))) this.fail(`invalid slice ${body}`);
      const n = (p: string | undefined) => (p === undefined || p === '' ? undefined : Number(p));
      return { t: 'slice', start: n(parts[0]), end: n(parts[1]), step: n(parts[2]) };
    }
    const idx = body.split(',');
    if (idx.some((p) => !/^-?\d+$/.test(p))) this.fail(`invalid array index ${body}`);
    return { t: 'index', indexes: idx.map(Number) };
  }

  private operator(): '==' | '!=' | '<' | '<=' | '>' | '>=' | undefined {
    for (const op of ['==', '!=', '<=', '>=', '<', '>'] as const) {
      if (this.s.startsWith(op, this.i)) {
        this.i += op.length;
        return op;
      }
    }
    return undefined;
  }

  private literal(): Literal {
    const c = this.peek();
    if (c === '"' || c === "'") return this.quoted();
    const m = /^(-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null)/.exec(this.s.slice(this.i));
    if (!m) this.fail('expected a literal');
    this.i += m[0].length;
    if (m[0] === 'true') return true;
    if (m[0] === 'false') return false;
    if (m[0] === 'null') return null;
    return Number(m[0]);
  }

  private quoted(): string {
    const q = this.peek();
    this.i++;
    let out = '';
    while (this.peek() !== q) {
      if (this.peek() === '') this.fail('unterminated string');
      if (this.peek() === '\\') this.i++;
      out += this.peek();
      this.i++;
    }
    this.i++;
    return out;
  }

  private skipSpaces(): void {
    while (this.peek() === ' ') this.i++;
  }

  private expect(c: string): void {
    this.skipSpaces();
    if (this.peek() !== c) this.fail(`expected ${c}`);
    this.i++;
  }
}

function descendants(v: Json): Json[] {
  const out: Json[] = [v];
  if (Array.isArray(v)) for (const x of v) out.push(...descendants(x));
  else if (isObject(v)) for (const x of Object.values(v)) out.push(...descendants(x));
  return out;
}

function compare(a: Json, op: string, b: Json): boolean {
  if (op === '==' || op === '!=') {
    const eq = typeof a === typeof b && JSON.stringify(a) === JSON.stringify(b);
    return op === '==' ? eq : !eq;
  }
  if (typeof a === 'number' && typeof b === 'number') {
    return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
  }
  return false;
}

function evaluate(steps: Step[], input: Json[]): Json[] {
  let cur = input;
  for (const step of steps) {
    const next: Json[] = [];
    for (const v of cur) {
      switch (step.t) {
        case 'field':
          if (isObject(v) && v[step.name] !== undefined) next.push(v[step.name]!);
          break;
        case 'keys':
          if (isObject(v)) for (const k of step.names) if (v[k] !== undefined) next.push(v[k]!);
          break;
        case 'wild':
          if (Array.isArray(v)) next.push(...v);
          else if (isObject(v)) next.push(...Object.keys(v).sort().map((k) => v[k]!));
          break;
        case 'recursive':
          next.push(...descendants(v));
          break;
        case 'index':
          if (Array.isArray(v)) {
            for (const i of step.indexes) {
              const at = i < 0 ? v.length + i : i;
              if (at >= 0 && at < v.length) next.push(v[at]!);
            }
          }
          break;
        case 'slice':
          if (Array.isArray(v)) {
            const len = v.length;
            const norm = (x: number | undefined, dflt: number) => (x === undefined ? dflt : x < 0 ? Math.max(0, len + x) : Math.min(len, x));
            const from = norm(step.start, 0);
            const to = norm(step.end, len);
            const by = step.step && step.step > 0 ? step.step : 1;
            for (let i = from; i < to; i += by) next.push(v[i]!);
          }
          break;
        case 'filter': {
          if (!Array.isArray(v)) break;
          for (const item of v) {
            const left = evaluate(step.left, [item]);
            if (step.op === undefined) {
              if (left.length > 0) next.push(item);
              continue;
            }
            const right = Array.isArray(step.right) ? evaluate(step.right, [item]) : [step.right as Json];
            if (left.length > 0 && right.length > 0 && compare(left[0]!, step.op, right[0]!)) next.push(item);
          }
          break;
        }
      }
    }
    cur = next;
  }
  return cur;
}
