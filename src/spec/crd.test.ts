// The generated CRDs against the rules a kube-apiserver applies to them
// (structural schema, CRD validation), the examples against the generated
// schemas, and crds/ against what the schemas generate now.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { register as crdsCommand } from '../cli/commands/crds.js';
import { run } from '../cli/program.js';
import { captureIo } from '../cli/testing/io.js';
import { allCrds, crdFor, renderCrdFiles, renderCrdsYaml, REGENERATE_COMMAND, toStructural, type CustomResourceDefinition, type JSONSchemaProps } from './crd.js';
import { KIND_NAMES, KINDS, type Kind } from './schema.js';
import type { InstanceStatus } from './status.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
type S = JSONSchemaProps & Record<string, unknown>;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const schemaOf = (kind: Kind): S => crdFor(kind).spec.versions[0]!.schema.openAPIV3Schema as S;

// ---------------------------------------------------------------------------
// Structural schema rules (Kubernetes docs, "Specifying a structural schema",
// and apiextensions-apiserver's CRD validation).

/** The fields of apiextensions/v1 JSONSchemaProps; anything else is refused on decode. */
const JSON_SCHEMA_PROPS = new Set([
  'id', '$schema', '$ref', 'description', 'type', 'format', 'title', 'default', 'maximum', 'exclusiveMaximum', 'minimum',
  'exclusiveMinimum', 'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems', 'multipleOf', 'enum',
  'maxProperties', 'minProperties', 'required', 'items', 'allOf', 'oneOf', 'anyOf', 'not', 'properties', 'additionalProperties',
  'patternProperties', 'dependencies', 'additionalItems', 'definitions', 'externalDocs', 'example', 'nullable',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource', 'x-kubernetes-int-or-string',
  'x-kubernetes-list-map-keys', 'x-kubernetes-list-type', 'x-kubernetes-map-type', 'x-kubernetes-validations',
]);
const UNSUPPORTED = ['$ref', 'definitions', 'id', '$schema', 'additionalItems', 'patternProperties', 'dependencies'];
/** Not allowed inside allOf/anyOf/oneOf/not. */
const FORBIDDEN_IN_JUNCTORS = [
  'type', 'default', 'title', 'description', 'nullable', 'additionalProperties', 'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource', 'x-kubernetes-int-or-string', 'x-kubernetes-list-map-keys', 'x-kubernetes-list-type',
  'x-kubernetes-map-type', 'x-kubernetes-validations',
];
/** With the status subresource, the root may only hold these (status is cut out as properties.status). */
const ALLOWED_AT_ROOT = new Set([
  'description', 'type', 'format', 'title', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum', 'maxLength', 'minLength',
  'pattern', 'maxItems', 'minItems', 'uniqueItems', 'multipleOf', 'required', 'items', 'properties', 'externalDocs', 'example',
  'x-kubernetes-preserve-unknown-fields',
]);
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);
const JUNCTORS = ['allOf', 'anyOf', 'oneOf'] as const;

/** RE2 (Go's regexp) has no lookaround and no backreferences; JS must compile the rest. */
function patternError(p: string): string | undefined {
  if (/\(\?<?[=!]|\\[1-9]|\\k</.test(p)) return 'uses lookaround or a backreference (not RE2)';
  try {
    new RegExp(p, 'u');
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

function isIntOrStringAnyOf(s: S): boolean {
  const a = s.anyOf as S[] | undefined;
  return a?.length === 2 && JSON.stringify(a) === JSON.stringify([{ type: 'integer' }, { type: 'string' }]);
}

/** Every rule violation, as `path: message`; [] for a schema the apiserver accepts. */
export function structuralErrors(schema: S, opts: { statusSubresource: boolean } = { statusSubresource: true }): string[] {
  const errors: string[] = [];
  const err = (path: string, msg: string): void => void errors.push(`${path || '<root>'}: ${msg}`);

  if (schema.type !== 'object') err('', 'type must be object at the root');
  if (schema.nullable) err('', 'nullable cannot be true at the root');
  if (schema.additionalProperties !== undefined) err('', 'additionalProperties must not be used at the root');
  if (opts.statusSubresource) for (const k of Object.keys(schema)) if (!ALLOWED_AT_ROOT.has(k)) err('', `${k} is not allowed at the root with the status subresource`);

  const props = (schema.properties ?? {}) as Record<string, S>;
  for (const meta of ['apiVersion', 'kind'] as const) if (props[meta] && props[meta].type !== 'string') err(meta, 'must be of type string');
  const metadata = props['metadata'];
  if (metadata) {
    if (metadata.type !== 'object') err('metadata', 'type must be object');
    const { type: _t, properties, ...rest } = metadata;
    if (Object.keys(rest).length > 0) err('metadata', `must not specify anything but name and generateName (found ${Object.keys(rest).join(', ')})`);
    for (const [k, v] of Object.entries(properties ?? {})) {
      if (k !== 'name' && k !== 'generateName') err(`metadata.${k}`, 'only name and generateName may be restricted');
      const { type, maxLength: _m, minLength: _n, pattern: _p, ...other } = v as S;
      if (type !== 'string' || Object.keys(other).length > 0) err(`metadata.${k}`, 'may only be a string with length and pattern restrictions');
    }
  }

  const walk = (s: S, path: string, level: 'root' | 'field' | 'item'): void => {
    for (const k of Object.keys(s)) if (!JSON_SCHEMA_PROPS.has(k)) err(path, `unknown keyword ${k}`);
    for (const k of UNSUPPORTED) if (k in s) err(path, `${k} is not supported`);
    if (s.type !== undefined && !TYPES.has(s.type)) err(path, `type ${String(s.type)} is not supported`);
    if (s['uniqueItems'] === true) err(path, 'uniqueItems cannot be true');
    if (s['x-kubernetes-preserve-unknown-fields'] === (false as unknown)) err(path, 'x-kubernetes-preserve-unknown-fields must be true or undefined');
    if (s['x-kubernetes-int-or-string'] && s['x-kubernetes-preserve-unknown-fields']) err(path, 'int-or-string and preserve-unknown-fields exclude each other');
    if (s.type === undefined && !s['x-kubernetes-int-or-string'] && !s['x-kubernetes-preserve-unknown-fields'] && level !== 'root') {
      err(path, `type must not be empty for specified ${level === 'item' ? 'array items' : 'object fields'}`);
    }
    if (s.nullable && s.type === undefined) err(path, 'nullable without type');
    if (s.type === 'array' && s.items === undefined) err(path, 'items must be specified');
    if (Array.isArray(s.items)) err(path, 'items must be a schema, not an array');
    if (s.additionalProperties !== undefined && s.properties !== undefined) err(path, 'additionalProperties and properties are mutual exclusive');
    if (typeof s.pattern === 'string') {
      const e = patternError(s.pattern);
      if (e) err(path, `pattern ${s.pattern}: ${e}`);
    }
    if (s.required) for (const r of s.required) if (!s.properties?.[r] && !s['x-kubernetes-preserve-unknown-fields']) err(path, `required field ${r} is not specified`);
    if (s['x-kubernetes-list-type'] === 'map') {
      const item = s.items as S | undefined;
      const keys = s['x-kubernetes-list-map-keys'] ?? [];
      if (item?.type !== 'object') err(path, 'a list map needs object items');
      if (keys.length === 0) err(path, 'a list map needs x-kubernetes-list-map-keys');
      for (const key of keys) {
        const ks = item?.properties?.[key];
        if (!ks || !['string', 'integer', 'number', 'boolean'].includes(ks.type ?? '')) err(path, `list map key ${key} must be a scalar property of the items`);
        if (!item?.required?.includes(key) && ks?.default === undefined) err(path, `list map key ${key} must be required or have a default`);
      }
    } else if (s['x-kubernetes-list-map-keys'] !== undefined) err(path, 'x-kubernetes-list-map-keys needs x-kubernetes-list-type: map');
    if (s.default !== undefined) {
      const { default: _d, ...withoutDefault } = s;
      const problems = validate(s.default, withoutDefault as S, `${path}(default)`, { unknownFields: true });
      for (const p of problems) err(path, `default must validate and have no unknown fields: ${p}`);
    }
    // Junctors: value validations only; fields they name must be specified outside too.
    const skipAnyOf = isIntOrStringAnyOf(s);
    for (const j of JUNCTORS) {
      if (j === 'anyOf' && skipAnyOf) continue;
      for (const [i, branch] of ((s[j] as S[] | undefined) ?? []).entries()) walkNested(branch, `${path}.${j}[${i}]`, s);
    }
    if (s['not']) walkNested(s['not'] as S, `${path}.not`, s);

    if (s.items && !Array.isArray(s.items)) walk(s.items as S, `${path}[]`, 'item');
    for (const [k, v] of Object.entries(s.properties ?? {})) {
      if (path === '' && k === 'metadata') continue;
      walk(v as S, path ? `${path}.${k}` : k, 'field');
    }
    if (isObject(s.additionalProperties)) walk(s.additionalProperties as S, `${path}.*`, 'field');
  };
  const walkNested = (v: S, path: string, outer: S | undefined): void => {
    for (const k of FORBIDDEN_IN_JUNCTORS) if (k in v) err(path, `${k} must not be set inside a logical junctor`);
    if (v.properties?.['metadata']) err(path, 'metadata must not be specified in a nested context');
    for (const [k, p] of Object.entries(v.properties ?? {})) {
      if (!outer?.properties?.[k]) err(`${path}.${k}`, 'a field inside a junctor must also be specified outside it');
      walkNested(p as S, `${path}.${k}`, outer?.properties?.[k] as S | undefined);
    }
    if (v.items) {
      if (!outer?.items) err(`${path}[]`, 'items inside a junctor must also be specified outside it');
      walkNested(v.items as S, `${path}[]`, outer?.items as S | undefined);
    }
    for (const j of JUNCTORS) for (const [i, b] of ((v[j] as S[] | undefined) ?? []).entries()) walkNested(b, `${path}.${j}[${i}]`, outer);
    if (typeof v.pattern === 'string') {
      const e = patternError(v.pattern);
      if (e) err(path, `pattern ${v.pattern}: ${e}`);
    }
  };
  walk(schema, '', 'root');
  return errors;
}

const PRINTER_TYPES = new Set(['string', 'integer', 'number', 'boolean', 'date']);
const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** CRD-level rules beside the schema: names, subresources, printer columns. */
function crdErrors(crd: CustomResourceDefinition): string[] {
  const errors: string[] = [];
  const { names, group } = crd.spec;
  if (crd.metadata.name !== `${names.plural}.${group}`) errors.push(`metadata.name must be ${names.plural}.${group}`);
  for (const n of [names.plural, names.singular, ...names.shortNames, ...names.categories]) if (!DNS1035.test(n)) errors.push(`name ${n} is not a DNS-1035 label`);
  if (names.listKind === names.kind) errors.push('kind and listKind may not be the same');
  if (crd.spec.versions.filter((v) => v.storage).length !== 1) errors.push('exactly one storage version');
  for (const v of crd.spec.versions) {
    for (const col of v.additionalPrinterColumns) {
      if (!col.name) errors.push('column without a name');
      if (!PRINTER_TYPES.has(col.type)) errors.push(`column ${col.name}: type ${col.type}`);
      if (!col.jsonPath.startsWith('.')) errors.push(`column ${col.name}: jsonPath must start with .`);
      // The path must name a field the schema has (metadata is the apiserver's).
      const segments = col.jsonPath.slice(1).replace(/\[\?\(.*?\)\]/g, '').split('.');
      if (segments[0] === 'metadata') continue;
      let s: S | undefined = v.schema.openAPIV3Schema as S;
      for (const seg of segments) s = (s?.type === 'array' ? (s.items as S) : s)?.properties?.[seg] as S | undefined;
      if (!s) errors.push(`column ${col.name}: ${col.jsonPath} is not in the schema`);
    }
  }
  return errors;
}

// ---------------------------------------------------------------------------
// A small OpenAPI v3 validator and defaulter, enough for the keywords the
// generated schemas use, with the apiserver's semantics where they matter.

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const FORMATS: Record<string, (v: string) => boolean> = { ipv4: isIPv4, ipv6: isIPv6, 'date-time': (v) => RFC3339.test(v) };

/**
 * Errors of value against s; unknown fields count as errors when asked (the
 * apiserver would prune them, and field validation refuses them on apply).
 */
export function validate(value: unknown, s: S, path = '', opts = { unknownFields: true }): string[] {
  const out: string[] = [];
  const err = (m: string): void => void out.push(`${path || '<root>'}: ${m}`);
  const typeOf = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : Number.isInteger(v) ? 'integer' : typeof v);
  const t = typeOf(value);
  if (s['x-kubernetes-int-or-string']) {
    if (t !== 'integer' && t !== 'string') err(`must be an integer or a string, got ${t}`);
  } else if (s.type !== undefined) {
    const ok = s.type === t || (s.type === 'number' && t === 'integer');
    if (!ok) return [...out, `${path || '<root>'}: must be of type ${s.type}, got ${t}`];
  }
  if (s.enum && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) err(`must be one of ${JSON.stringify(s.enum)}`);
  if (typeof value === 'number') {
    if (s.minimum !== undefined && (s.exclusiveMinimum ? value <= s.minimum : value < s.minimum)) err(`must be >= ${s.minimum}`);
    if (s.maximum !== undefined && (s.exclusiveMaximum ? value >= s.maximum : value > s.maximum)) err(`must be <= ${s.maximum}`);
  }
  if (typeof value === 'string') {
    const len = [...value].length;
    if (s.minLength !== undefined && len < s.minLength) err(`must be at least ${s.minLength} characters`);
    if (s.maxLength !== undefined && len > s.maxLength) err(`must be at most ${s.maxLength} characters`);
    if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(value)) err(`must match ${s.pattern}`);
    if (s.format !== undefined && FORMATS[s.format] && !FORMATS[s.format]!(value)) err(`must be a ${s.format}`);
  }
  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < s.minItems) err(`must have at least ${s.minItems} items`);
    if (s.maxItems !== undefined && value.length > s.maxItems) err(`must have at most ${s.maxItems} items`);
    if (s.items) value.forEach((v, i) => out.push(...validate(v, s.items as S, `${path}[${i}]`, opts)));
    const keys = s['x-kubernetes-list-map-keys'];
    if (s['x-kubernetes-list-type'] === 'map' && keys) {
      const seen = new Set<string>();
      for (const v of value) {
        const id = JSON.stringify(keys.map((k) => (v as Record<string, unknown>)[k]));
        if (seen.has(id)) err(`duplicate entry with ${keys.join(', ')} ${id}`);
        seen.add(id);
      }
    }
  }
  if (isObject(value)) {
    for (const r of s.required ?? []) if (!(r in value)) err(`${r} is required`);
    for (const [k, v] of Object.entries(value)) {
      const child = s.properties?.[k] ?? (isObject(s.additionalProperties) ? s.additionalProperties : undefined);
      // metadata is ObjectMeta: the apiserver knows its fields; the schema only restricts the name.
      const childOpts = path === '' && k === 'metadata' ? { unknownFields: false } : opts;
      if (child) out.push(...validate(v, child as S, path ? `${path}.${k}` : k, childOpts));
      else if (opts.unknownFields && !s['x-kubernetes-preserve-unknown-fields'] && s.properties) err(`unknown field ${k}`);
    }
  }
  for (const [i, branch] of (s.allOf ?? []).entries()) out.push(...validate(value, branch as S, `${path}.allOf[${i}]`, opts));
  if (s.anyOf && !s.anyOf.some((b) => validate(value, b as S, path, opts).length === 0)) err('must match one of anyOf');
  if (s.oneOf && s.oneOf.filter((b) => validate(value, b as S, path, opts).length === 0).length !== 1) err('must match exactly one of oneOf');
  return out;
}

/** The apiserver's structural defaulting: missing fields with a default get it, then defaulting recurses. */
function applyDefaults(value: unknown, s: S): unknown {
  if (Array.isArray(value)) return s.items ? value.map((v) => applyDefaults(v, s.items as S)) : value;
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = { ...value };
  for (const [k, p] of Object.entries(s.properties ?? {})) {
    if (!(k in out) && p.default !== undefined) out[k] = structuredClone(p.default);
    if (k in out) out[k] = applyDefaults(out[k], p as S);
  }
  if (isObject(s.additionalProperties)) for (const k of Object.keys(out)) if (!s.properties?.[k]) out[k] = applyDefaults(out[k], s.additionalProperties as S);
  return out;
}

async function loadExamples(): Promise<Array<{ file: string; doc: Record<string, unknown> }>> {
  const dir = join(ROOT, 'examples');
  const out: Array<{ file: string; doc: Record<string, unknown> }> = [];
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const d of parseAllDocuments(await readFile(join(dir, file), 'utf8'))) {
      const doc = (Array.isArray(d) ? undefined : d.toJS()) as Record<string, unknown> | null | undefined;
      if (doc) out.push({ file, doc });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------

describe('generated CRDs', () => {
  it.each(KIND_NAMES)('%s: the schema is structural and the CRD valid', (kind) => {
    const crd = crdFor(kind);
    expect(structuralErrors(schemaOf(kind))).toEqual([]);
    expect(crdErrors(crd)).toEqual([]);
    expect(crd.spec).toMatchObject({ group: 'berth.dev', scope: 'Namespaced', names: { kind, shortNames: [...KINDS[kind].shortNames] } });
    expect(crd.spec.versions).toMatchObject([{ name: 'v1alpha1', served: true, storage: true, subresources: { status: {} } }]);
  });

  it('the structural checker is not vacuous', () => {
    const bad = {
      type: 'object',
      additionalProperties: false,
      properties: {
        metadata: { type: 'object', properties: { labels: { type: 'object' } } },
        untyped: {},
        quantity: { anyOf: [{ type: 'string' }, { type: 'number' }] },
        both: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'string' } },
        ref: { $ref: '#/definitions/x' },
        list: { type: 'array' },
        nullable: { nullable: true, anyOf: [{ format: 'ipv4', description: 'd' }] },
        lookahead: { type: 'string', pattern: '^(?!a)' },
        conditions: { type: 'array', items: { type: 'object', properties: { type: { type: 'string' } } }, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] },
        badDefault: { type: 'object', properties: { a: { type: 'integer' } }, default: { a: 'x', b: 1 } },
      },
    } as unknown as S;
    const errors = structuralErrors(bad).join('\n');
    for (const expected of [
      '<root>: additionalProperties must not be used at the root',
      'metadata.labels: only name and generateName may be restricted',
      'untyped: type must not be empty',
      'quantity.anyOf[0]: type must not be set inside a logical junctor',
      'both: additionalProperties and properties are mutual exclusive',
      'ref: $ref is not supported',
      'list: items must be specified',
      'nullable: nullable without type',
      'nullable.anyOf[0]: description must not be set',
      'lookahead: pattern',
      'conditions: list map key type must be required or have a default',
      'badDefault: default must validate',
    ]) {
      expect(errors).toContain(expected);
    }
  });

  it('turns quantities into int-or-string, lifts a shared scalar type out of anyOf, and keeps maps without properties', () => {
    const spec = schemaOf('Instance').properties!['spec']!;
    expect(spec.properties!['resources']!.properties!['memory']).toEqual({ 'x-kubernetes-int-or-string': true });
    expect(spec.properties!['ports']!.items!.properties!['hostIP']).toMatchObject({ type: 'string', default: '127.0.0.1', anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] });
    expect(spec.properties!['labels']).toEqual({ default: {}, type: 'object', additionalProperties: { type: 'string' } });
    expect(spec.properties!['env']).toMatchObject({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] });
    // Defaulted fields are not required; the apiserver fills them in.
    expect(spec.required).toEqual(['image']);
    expect(JSON.stringify(allCrds())).not.toMatch(/"additionalProperties":false|"\$ref"|"const"|"starts_with"|9007199254740991/);
  });

  it('has the status conditions as a list map keyed by type, and the printer columns', () => {
    for (const kind of KIND_NAMES) {
      const conditions = schemaOf(kind).properties!['status']!.properties!['conditions']!;
      expect(conditions).toMatchObject({ type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'], items: { required: expect.arrayContaining(['type', 'status']) } });
    }
    const columns = (kind: Kind): string[] => crdFor(kind).spec.versions[0]!.additionalPrinterColumns.filter((c) => !c.priority).map((c) => `${c.name}=${c.jsonPath}`);
    expect(columns('Instance')).toEqual(['Phase=.status.phase', 'Ready=.status.conditions[?(@.type=="Ready")].status', 'Hash=.status.configHash', 'Age=.metadata.creationTimestamp']);
    expect(columns('InstancePool')).toEqual(['Ready=.status.ready', 'MinReady=.spec.minReady', 'Claimed=.status.claimed', 'Replicas=.status.replicas', 'Age=.metadata.creationTimestamp']);
    expect(columns('InstanceClaim')).toEqual(['Phase=.status.phase', 'Pool=.spec.poolRef.name', 'Instance=.status.instance', 'Age=.metadata.creationTimestamp']);
  });

  it('accepts a status berth writes and keeps all of it (nothing pruned)', () => {
    const status: InstanceStatus = {
      phase: 'running',
      containerId: 'abc',
      configHash: '1:deadbeef',
      observedGeneration: 2,
      startedAt: '2026-01-31T10:00:00.000Z',
      restartCount: 0,
      lastProbe: { time: '2026-01-31T10:00:05.000Z', ok: true, message: 'OK' },
      conditions: [{ type: 'Ready', status: 'True', observedGeneration: 2, lastTransitionTime: '2026-01-31T10:00:05.000Z', reason: 'HealthCheckPassed', message: '' }],
      usage: { cpu: '0.01', memory: '12Mi', pids: 3 },
      lastDrift: { fields: ['image'], at: '2026-01-31T09:59:00.000Z' },
    };
    expect(validate(status, schemaOf('Instance').properties!['status'] as S, 'status')).toEqual([]);
    const twice = { ...status, conditions: [...status.conditions, ...status.conditions] };
    expect(validate(twice, schemaOf('Instance').properties!['status'] as S, 'status')).toEqual([expect.stringContaining('duplicate entry')]);
    // Pool and claim statuses keep fields their schemas do not list yet.
    expect(validate({ ready: 1, claimWait: { p50Ms: 3 } }, schemaOf('InstancePool').properties!['status'] as S)).toEqual([]);
    expect(schemaOf('InstanceClaim').properties!['status']!['x-kubernetes-preserve-unknown-fields']).toBe(true);
  });

  it('fails loudly on what a structural schema cannot say', () => {
    const gen = (s: z.ZodType): Record<string, unknown> => z.toJSONSchema(s, { io: 'input', target: 'openapi-3.0' }) as Record<string, unknown>;
    expect(() => toStructural(gen(z.object({ a: z.union([z.string(), z.object({ b: z.string() })]) })), '')).toThrow(/CRD schema at a: anyOf over string, object/);
    expect(() => toStructural(gen(z.object({ a: z.unknown() })), '')).toThrow(/CRD schema at a: no type/);
    const keyPattern = { type: 'object', properties: { m: { type: 'object', propertyNames: { type: 'string', pattern: '^x' }, additionalProperties: { type: 'string' } } } };
    expect(() => toStructural(keyPattern, '')).toThrow(/CRD schema at m: propertyNames restrictions are not supported/);
    const Tree: z.ZodType = z.lazy(() => z.object({ children: z.array(Tree).optional() }));
    expect(() => toStructural(z.toJSONSchema(z.object({ t: Tree }), { target: 'openapi-3.0', cycles: 'ref' }) as Record<string, unknown>, '')).toThrow(/recursive schema/);
    expect(toStructural(gen(z.object({ a: z.literal('x'), n: z.number().gt(0) })), '')).toEqual({
      type: 'object',
      properties: { a: { type: 'string', enum: ['x'] }, n: { type: 'number', minimum: 0, exclusiveMinimum: true } },
      required: ['a', 'n'],
    });
  });
});

describe('examples against the generated schemas', () => {
  it('every example validates, with no unknown field', async () => {
    const examples = await loadExamples();
    expect(examples.length).toBeGreaterThan(0);
    for (const { file, doc } of examples) {
      const kind = doc['kind'] as Kind;
      expect(KIND_NAMES, file).toContain(kind);
      expect(validate(doc, schemaOf(kind)), `${file} ${kind}`).toEqual([]);
    }
  });

  it('the apiserver defaults a spec as zod does', async () => {
    for (const { file, doc } of await loadExamples()) {
      const kind = doc['kind'] as Kind;
      const specSchema = schemaOf(kind).properties!['spec'] as S;
      const parsed = KINDS[kind].schema.parse(doc) as { spec: unknown };
      expect(applyDefaults(doc['spec'], specSchema), `${file} ${kind}`).toEqual(parsed.spec);
      expect(validate(parsed.spec, specSchema), `${file} ${kind} after defaults`).toEqual([]);
    }
    const claim = { poolRef: { name: 'runners' } };
    expect(applyDefaults(claim, schemaOf('InstanceClaim').properties!['spec'] as S)).toEqual(KINDS.InstanceClaim.schema.shape.spec.parse(claim));
  });

  it('refuses what zod refuses structurally: unknown fields, bad enums, missing required fields, bad names', () => {
    const base = { apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'web' }, spec: { image: 'nginx' } };
    const check = (doc: object): string[] => validate(doc, schemaOf('Instance'));
    expect(check(base)).toEqual([]);
    expect(check({ ...base, spec: { image: 'nginx', imagePullPolicy: 'Sometimes' } })).toEqual([expect.stringContaining('spec.imagePullPolicy: must be one of')]);
    expect(check({ ...base, spec: { image: 'nginx', imagePolicy: 'Always' } })).toEqual(['spec: unknown field imagePolicy']);
    expect(check({ ...base, spec: {} })).toEqual(['spec: image is required']);
    expect(check({ ...base, spec: { image: 'nginx', resources: { memory: 536870912, cpus: '1.5' } } })).toEqual([]);
    expect(check({ ...base, spec: { image: 'nginx', ports: [{ containerPort: 80, hostIP: 'localhost' }] } })).toEqual([expect.stringContaining('must match one of anyOf')]);
    expect(check({ ...base, metadata: { name: 'Web_1' } })).toEqual([expect.stringContaining('metadata.name: must match')]);
    expect(check({ ...base, spec: { image: 'nginx', env: [{ name: 'A' }, { name: 'A', value: 'x' }] } })).toEqual([expect.stringContaining('duplicate entry')]);
  });
});

describe('crds/', () => {
  it('is what the schemas generate now', async () => {
    const dir = join(ROOT, 'crds');
    const expected = renderCrdFiles();
    const stale = `crds/ is stale: run \`${REGENERATE_COMMAND}\``;
    const onDisk = (await readdir(dir)).filter((f) => f.endsWith('.yaml') || f === 'Kustomization').sort();
    expect(onDisk, stale).toEqual([...expected.keys()].sort());
    for (const [name, text] of expected) expect(await readFile(join(dir, name), 'utf8'), `${stale} (${name} differs)`).toBe(text);
  });

  it('parses back to the CRD objects', () => {
    const files = renderCrdFiles();
    for (const crd of allCrds()) {
      const text = files.get(`berth.dev_${crd.spec.names.plural}.yaml`)!;
      // YAML 1.1 as well: the apiserver's reader (sigs.k8s.io/yaml) is 1.1.
      expect(parseAllDocuments(text, { version: '1.1' }).map((d) => (Array.isArray(d) ? undefined : d.toJS()))).toEqual([crd]);
    }
  });
});

describe('berth crds', () => {
  it('prints all CRDs as one YAML stream', async () => {
    const io = captureIo();
    expect(await run(['crds'], [crdsCommand], io, 'user')).toBe(0);
    expect(io.stdout).toBe(renderCrdsYaml());
    const docs = parseAllDocuments(io.stdout).map((d) => (Array.isArray(d) ? undefined : (d.toJS() as CustomResourceDefinition)));
    expect(docs.map((d) => d?.metadata.name)).toEqual(['instances.berth.dev', 'instancepools.berth.dev', 'instanceclaims.berth.dev']);
  });

  it('--output-dir writes one file per CRD and removes CRD files no longer generated', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-crds-'));
    try {
      await writeFile(join(dir, 'berth.dev_gone.yaml'), 'stale');
      await writeFile(join(dir, 'README.md'), 'kept');
      const io = captureIo();
      expect(await run(['crds', '--output-dir', dir], [crdsCommand], io, 'user')).toBe(0);
      const expected = renderCrdFiles();
      expect((await readdir(dir)).sort()).toEqual([...expected.keys(), 'README.md'].sort());
      for (const [name, text] of expected) expect(await readFile(join(dir, name), 'utf8')).toBe(text);
      expect(io.stdout).toContain(`wrote ${join(dir, 'berth.dev_instances.yaml')}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
