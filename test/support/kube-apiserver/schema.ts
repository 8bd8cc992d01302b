// Structural openAPIV3Schema handling for custom resources, as the
// apiextensions-apiserver does it: pruning of unknown fields, defaulting,
// validation (types, required, enum, bounds, lengths, patterns, formats, list
// types, anyOf/allOf/oneOf/not), and the structural checks applied to a CRD's
// schema when the CRD is created. Not done: CEL (x-kubernetes-validations),
// ratcheting.
import type { FieldError } from './errors.js';
import { clone, deepEqual, isObject, type Json, type JsonObject } from './json.js';

export interface JSONSchemaProps {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: boolean | JSONSchemaProps;
  items?: JSONSchemaProps;
  required?: string[];
  enum?: Json[];
  default?: Json;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  anyOf?: JSONSchemaProps[];
  allOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
}

/** The ObjectMeta fields a server keeps; anything else in metadata is dropped. */
export const OBJECT_META_FIELDS = [
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
] as const;

export function pruneMetadata(meta: Json | undefined): JsonObject {
  const out: JsonObject = {};
  if (!isObject(meta)) return out;
  for (const f of OBJECT_META_FIELDS) if (meta[f] !== undefined) out[f] = meta[f]!;
  return out;
}

const childPath = (path: string, key: string) => (path ? `${path}.${key}` : key);

// ---- pruning ----

/**
 * Drops fields the schema does not specify; returns the pruned paths (for the
 * fieldValidation warnings / strict errors). `root` keeps apiVersion, kind and
 * metadata as the server does for every object and embedded resource.
 */
export function prune(value: Json, schema: JSONSchemaProps | undefined, path: string, root: boolean, pruned: string[]): Json {
  if (!schema) return value;
  if (isObject(value)) {
    const embedded = root || schema['x-kubernetes-embedded-resource'] === true;
    const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      const p = childPath(path, k);
      if (embedded && (k === 'apiVersion' || k === 'kind')) {
        out[k] = v;
      } else if (embedded && k === 'metadata') {
        out[k] = pruneMetadata(v);
        for (const mk of isObject(v) ? Object.keys(v) : []) if (!(OBJECT_META_FIELDS as readonly string[]).includes(mk)) pruned.push(childPath(p, mk));
      } else if (schema.properties && k in schema.properties) {
        out[k] = prune(v, schema.properties[k], p, false, pruned);
      } else if (isObject(schema.additionalProperties)) {
        out[k] = prune(v, schema.additionalProperties, p, false, pruned);
      } else if (preserve || schema.additionalProperties === true) {
        out[k] = v;
      } else {
        pruned.push(p);
      }
    }
    return out;
  }
  if (Array.isArray(value)) {
    return value.map((v, i) => prune(v, schema.items, `${path}[${i}]`, false, pruned));
  }
  return value;
}

// ---- defaulting ----

/** Applies `default`s where a field is absent (or null and not nullable), recursively. */
export function applyDefaults(value: Json, schema: JSONSchemaProps | undefined): Json {
  if (!schema) return value;
  if (isObject(value)) {
    if (schema.properties) {
      for (const [k, s] of Object.entries(schema.properties)) {
        const cur = value[k];
        if ((cur === undefined || (cur === null && !s.nullable)) && s.default !== undefined) value[k] = clone(s.default);
        if (value[k] !== undefined) value[k] = applyDefaults(value[k]!, s);
      }
    }
    if (isObject(schema.additionalProperties)) {
      for (const k of Object.keys(value)) {
        if (schema.properties && k in schema.properties) continue;
        value[k] = applyDefaults(value[k]!, schema.additionalProperties);
      }
    }
    return value;
  }
  if (Array.isArray(value) && schema.items) {
    return value.map((v) => applyDefaults(v, schema.items));
  }
  return value;
}

// ---- validation ----

function jsonType(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(v: Json, type: string): boolean {
  switch (type) {
    case 'object':
      return isObject(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'boolean':
      return typeof v === 'boolean';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    default:
      return true;
  }
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

function formatValid(format: string, v: string): boolean {
  switch (format) {
    case 'ipv4':
      return IPV4.test(v);
    case 'ipv6':
      return v.includes(':') && /^[0-9a-fA-F:.]+$/.test(v);
    case 'date-time':
    case 'datetime':
      return DATE_TIME.test(v) && !Number.isNaN(Date.parse(v));
    case 'date':
      return /^\d{4}-\d{2}-\d{2}$/.test(v);
    case 'uuid':
      return UUID.test(v);
    case 'byte':
      return /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0;
    default:
      return true; // formats the server does not check
  }
}

/** Validates value against schema; errors carry field paths like "spec.ports[0].containerPort". */
export function validate(value: Json | undefined, schema: JSONSchemaProps | undefined, path: string, errs: FieldError[]): void {
  if (!schema || value === undefined) return;
  const before = errs.length;
  if (value === null) {
    if (schema.nullable) return;
    if (schema.type || schema['x-kubernetes-int-or-string']) {
      errs.push({ type: 'TypeInvalid', field: path, value: 'null', detail: `${path} in body must be of type ${schema.type ?? 'string'}: "null"` });
    }
    return;
  }
  if (schema['x-kubernetes-int-or-string']) {
    if (!(typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)))) {
      errs.push({ type: 'TypeInvalid', field: path, value: jsonType(value), detail: `${path} in body must be of type integer,string: "${jsonType(value)}"` });
      return;
    }
  } else if (schema.type && !typeMatches(value, schema.type)) {
    errs.push({ type: 'TypeInvalid', field: path, value: jsonType(value), detail: `${path} in body must be of type ${schema.type}: "${jsonType(value)}"` });
    return;
  }
  if (schema.enum && !schema.enum.some((e) => deepEqual(e, value))) {
    errs.push({ type: 'NotSupported', field: path, value, detail: `supported values: ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}` });
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum)) {
      errs.push({ type: 'Invalid', field: path, value, detail: `${path} in body should be greater than ${schema.exclusiveMinimum ? '' : 'or equal to '}${schema.minimum}` });
    }
    if (schema.maximum !== undefined && (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum)) {
      errs.push({ type: 'Invalid', field: path, value, detail: `${path} in body should be less than ${schema.exclusiveMaximum ? '' : 'or equal to '}${schema.maximum}` });
    }
    if (schema.multipleOf !== undefined && schema.multipleOf !== 0 && value % schema.multipleOf !== 0) {
      errs.push({ type: 'Invalid', field: path, value, detail: `${path} in body should be a multiple of ${schema.multipleOf}` });
    }
    if (schema.format === 'int32' && (value > 2147483647 || value < -2147483648)) {
      errs.push({ type: 'Invalid', field: path, value, detail: `${path} in body must be of type int32: "${value}"` });
    }
  }
  if (typeof value === 'string') {
    const len = [...value].length;
    if (schema.maxLength !== undefined && len > schema.maxLength) {
      errs.push({ type: 'TooLong', field: path, value, detail: `may not be more than ${schema.maxLength} bytes` });
    }
    if (schema.minLength !== undefined && len < schema.minLength) {
      errs.push({ type: 'Invalid', field: path, value, detail: `${path} in body should be at least ${schema.minLength} chars long` });
    }
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) {
      errs.push({ type: 'Invalid', field: path, value, detail: `${path} in body should match '${schema.pattern}'` });
    }
    if (schema.format && !formatValid(schema.format, value)) {
      errs.push({ type: 'Invalid', field: path, value, detail: `${path} in body must be of type ${schema.format}: ${JSON.stringify(value)}` });
    }
  }
  if (Array.isArray(value)) {
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      errs.push({ type: 'TooMany', field: path, value: value.length, detail: `must have at most ${schema.maxItems} items` });
    }
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      errs.push({ type: 'Invalid', field: path, value: value.length, detail: `${path} in body should have at least ${schema.minItems} items` });
    }
    const listType = schema['x-kubernetes-list-type'];
    if (schema.uniqueItems || listType === 'set') {
      value.forEach((v, i) => {
        if (value.findIndex((w) => deepEqual(v, w)) < i) errs.push({ type: 'Duplicate', field: `${path}[${i}]`, value: v });
      });
    }
    if (listType === 'map') {
      const keys = schema['x-kubernetes-list-map-keys'] ?? [];
      value.forEach((v, i) => {
        if (!isObject(v)) return;
        const id = keys.map((k) => v[k]);
        const first = value.findIndex((w) => isObject(w) && deepEqual(keys.map((k) => w[k]), id));
        if (first < i) {
          const shown: JsonObject = {};
          keys.forEach((k) => (shown[k] = v[k] ?? null));
          errs.push({ type: 'Duplicate', field: `${path}[${i}]`, value: shown });
        }
      });
    }
    if (schema.items) value.forEach((v, i) => validate(v, schema.items, `${path}[${i}]`, errs));
  }
  if (isObject(value)) {
    for (const r of schema.required ?? []) {
      if (value[r] === undefined) errs.push({ type: 'Required', field: childPath(path, r) });
    }
    const n = Object.keys(value).length;
    if (schema.maxProperties !== undefined && n > schema.maxProperties) {
      errs.push({ type: 'TooMany', field: path, value: n, detail: `must have at most ${schema.maxProperties} items` });
    }
    if (schema.minProperties !== undefined && n < schema.minProperties) {
      errs.push({ type: 'Invalid', field: path, value: n, detail: `${path} in body should have at least ${schema.minProperties} properties` });
    }
    for (const [k, v] of Object.entries(value)) {
      const s = schema.properties?.[k] ?? (isObject(schema.additionalProperties) ? schema.additionalProperties : undefined);
      validate(v, s, childPath(path, k), errs);
    }
  }
  if (errs.length > before) return;
  // Value validations of the non-structural parts.
  for (const s of schema.allOf ?? []) validate(value, s, path, errs);
  if (schema.anyOf && !schema.anyOf.some((s) => validates(value, s, path))) {
    errs.push({ type: 'Invalid', field: path, value, detail: `${path} in body must validate at least one schema (anyOf)` });
  }
  if (schema.oneOf) {
    const n = schema.oneOf.filter((s) => validates(value, s, path)).length;
    if (n !== 1) errs.push({ type: 'Invalid', field: path, value, detail: `${path} in body must validate one and only one schema (oneOf)` });
  }
  if (schema.not && validates(value, schema.not, path)) {
    errs.push({ type: 'Invalid', field: path, value, detail: `${path} in body must not validate the schema (not)` });
  }
}

function validates(value: Json, schema: JSONSchemaProps, path: string): boolean {
  const errs: FieldError[] = [];
  validate(value, schema, path, errs);
  return errs.length === 0;
}

// ---- structural checks on a CRD schema ----

/**
 * The main structural-schema rules enforced at CRD creation: every specified
 * field has a type (unless int-or-string / preserve-unknown-fields), the root
 * is an object, properties and additionalProperties exclude each other, and
 * root metadata may only restrict name and generateName.
 */
export function checkStructural(schema: JSONSchemaProps | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!schema) {
    errs.push({ type: 'Required', field: path, detail: 'schemas are required' });
    return errs;
  }
  if (schema.type !== 'object') {
    errs.push({ type: 'Invalid', field: `${path}.type`, value: schema.type ?? '', detail: 'must be object at the root' });
  }
  const meta = schema.properties?.['metadata'];
  if (meta) {
    const extra = Object.keys(meta).filter((k) => !['type', 'properties', 'description'].includes(k));
    const props = Object.keys(meta.properties ?? {}).filter((k) => k !== 'name' && k !== 'generateName');
    if (extra.length > 0 || props.length > 0 || (meta.type !== undefined && meta.type !== 'object')) {
      errs.push({ type: 'Forbidden', field: `${path}.properties[metadata]`, detail: 'must not specify anything other than name and generateName, but metadata is implicitly specified' });
    }
  }
  walkStructural(schema, path, true, errs);
  return errs;
}

function walkStructural(s: JSONSchemaProps, path: string, root: boolean, errs: FieldError[]): void {
  const loose = s['x-kubernetes-int-or-string'] === true || s['x-kubernetes-preserve-unknown-fields'] === true;
  if (!root && !s.type && !loose) {
    errs.push({ type: 'Required', field: `${path}.type`, detail: 'must not be empty for specified object fields' });
  }
  if (s.properties && s.additionalProperties !== undefined && s.additionalProperties !== false) {
    errs.push({ type: 'Forbidden', field: `${path}.additionalProperties`, detail: 'additionalProperties and properties are mutual exclusive' });
  }
  if (s.type === 'array' && !s.items) {
    errs.push({ type: 'Required', field: `${path}.items`, detail: 'must be specified' });
  }
  for (const [k, p] of Object.entries(s.properties ?? {})) walkStructural(p, `${path}.properties[${k}]`, false, errs);
  if (isObject(s.additionalProperties)) walkStructural(s.additionalProperties, `${path}.additionalProperties`, false, errs);
  if (s.items) walkStructural(s.items, `${path}.items`, false, errs);
}
