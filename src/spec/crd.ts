// CustomResourceDefinitions (apiextensions.k8s.io/v1) generated from the zod
// schemas, so the cluster and berth agree on one definition of each resource.
//
// z.toJSONSchema gives JSON Schema; a CRD needs a *structural* OpenAPI v3
// schema (Kubernetes docs, "Specifying a structural schema"). toStructural()
// closes the gap and throws, naming the path, on anything it cannot express,
// so a schema change that a real apiserver would refuse fails `berth crds`
// and the unit tests, not `kubectl apply`:
// - $ref/definitions are inlined (the apiserver supports neither);
// - anyOf of string|number (quantities: "512Mi" or 536870912) becomes
//   x-kubernetes-int-or-string; anyOf whose branches share one scalar type
//   (hostIP: ipv4 or ipv6) lifts the type out, as junctors may not carry it;
// - additionalProperties: false is dropped: properties and additionalProperties
//   are mutually exclusive in a CRD, and strictness comes from pruning instead
//   (preserveUnknownFields is false in v1: unknown fields are dropped, and
//   kubectl's default strict server-side field validation refuses them, path and all);
// - a loose object (z.looseObject) becomes x-kubernetes-preserve-unknown-fields;
// - const becomes a one-value enum, formats the apiserver does not know are
//   dropped, as are JSON Schema's safe-integer bounds on z.int().
// The input side of the schemas is used (io: 'input'): a field with a default
// is not required and the apiserver applies the same default zod does.
// metadata is the apiserver's (ObjectMeta): only metadata.name may be
// restricted, and it is, to the DNS-1123 label berth requires.
// Custom checks (.check: "exactly one of exec, http or tcp", "maxSize >=
// minReady", quantity syntax) have no JSON Schema form; berth still enforces
// them when it reads a resource, and reports InvalidSpec in its status.
import { stringify } from 'yaml';
import { z } from 'zod';
import { GROUP, KIND_NAMES, KINDS, VERSION, type Kind } from './schema.js';
import { withCelValidations } from './crd-validations.js';
import { InstanceClaimStatusSchema, InstancePoolStatusSchema, InstanceStatusSchema } from './status-schema.js';

/** An OpenAPI v3 schema node as the apiserver's JSONSchemaProps takes it. */
export interface JSONSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps;
  items?: JSONSchemaProps;
  required?: string[];
  default?: unknown;
  enum?: unknown[];
  anyOf?: JSONSchemaProps[];
  allOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  multipleOf?: number;
  nullable?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  /** CEL rules (crd-validations.ts). */
  'x-kubernetes-validations'?: Array<{ rule: string; message: string; fieldPath?: string }>;
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  /** 0: always shown; 1: with `-o wide`. */
  priority?: number;
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: { kind: Kind; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    scope: 'Namespaced';
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: JSONSchemaProps };
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
    }>;
  };
}

/** The command that regenerates crds/ (named in the files and in the staleness test). */
export const REGENERATE_COMMAND = 'node bin/berth.js crds --output-dir crds';

const DESCRIPTIONS: Record<Kind, string> = {
  Instance: 'Instance is one long-lived container that berth keeps converged to its spec.',
  InstancePool: 'InstancePool keeps warm, pre-started containers from one template, ready to be claimed.',
  InstanceClaim: 'InstanceClaim is a lease on one warm member of an InstancePool.',
};

const STATUS_SCHEMAS: Record<Kind, z.ZodType> = {
  Instance: InstanceStatusSchema,
  InstancePool: InstancePoolStatusSchema,
  InstanceClaim: InstanceClaimStatusSchema,
};

const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
const COLUMNS: Record<Kind, PrinterColumn[]> = {
  Instance: [
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Hash', type: 'string', jsonPath: '.status.configHash', description: 'config hash of the running container' },
    AGE,
    { name: 'Image', type: 'string', jsonPath: '.spec.image', priority: 1 },
    { name: 'Container', type: 'string', jsonPath: '.status.containerId', priority: 1 },
  ],
  InstancePool: [
    { name: 'Ready', type: 'integer', jsonPath: '.status.ready', description: 'warm, probe-passing, unclaimed members' },
    { name: 'MinReady', type: 'integer', jsonPath: '.spec.minReady' },
    { name: 'Claimed', type: 'integer', jsonPath: '.status.claimed' },
    { name: 'Replicas', type: 'integer', jsonPath: '.status.replicas' },
    AGE,
    { name: 'Image', type: 'string', jsonPath: '.spec.template.image', priority: 1 },
  ],
  InstanceClaim: [
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Pool', type: 'string', jsonPath: '.spec.poolRef.name' },
    { name: 'Instance', type: 'string', jsonPath: '.status.instance' },
    AGE,
    // string, not date: kubectl prints a date column as an age, and a time in the future as <invalid>.
    { name: 'Expires', type: 'string', jsonPath: '.status.expiresAt', priority: 1 },
  ],
};

/**
 * Lists whose entries are unique by a key (berth refuses duplicate env names):
 * as list maps the apiserver refuses duplicates too, and server-side apply
 * merges them by key instead of replacing the whole list.
 */
const LIST_MAP_KEYS: Record<string, string[]> = {
  'spec.env': ['name'],
  'spec.template.env': ['name'],
};

/** The CRD of one kind. */
export function crdFor(kind: Kind): CustomResourceDefinition {
  const k = KINDS[kind];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'berth' } },
    spec: {
      group: GROUP,
      names: { kind, listKind: `${kind}List`, plural: k.plural, singular: k.singular, shortNames: [...k.shortNames], categories: ['berth'] },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: resourceSchema(kind) },
          subresources: { status: {} },
          additionalPrinterColumns: COLUMNS[kind],
        },
      ],
    },
  };
}

/** The CRDs of all kinds, in KINDS order. */
export function allCrds(): CustomResourceDefinition[] {
  return KIND_NAMES.map(crdFor);
}

function resourceSchema(kind: Kind): JSONSchemaProps {
  const raw = toJsonSchema(KINDS[kind].schema);
  // The resource schemas accept any status (berth ignores it on input); the CRD gets the real one below.
  if (isObject(raw['properties'])) delete raw['properties']['status'];
  const generated = toStructural(raw, '');
  const spec = generated.properties?.['spec'];
  const name = generated.properties?.['metadata']?.properties?.['name'];
  if (!spec || !name) throw new Error(`${kind}: the schema has no spec or metadata.name`);
  return {
    description: DESCRIPTIONS[kind],
    type: 'object',
    properties: {
      apiVersion: { description: 'The versioned schema of this representation of an object.', type: 'string' },
      kind: { description: 'The REST resource this object represents.', type: 'string' },
      metadata: { type: 'object', properties: { name: { type: 'string', ...pick(name, 'maxLength', 'pattern') } } },
      spec: withCelValidations({ description: `The desired state of the ${kind}.`, ...spec }),
      status: { description: `The observed state of the ${kind}, written by berth.`, ...toStructural(toJsonSchema(STATUS_SCHEMAS[kind]), 'status') },
    },
    required: ['spec'],
  };
}

function toJsonSchema(schema: z.ZodType): Record<string, unknown> {
  // reused: 'inline' avoids $ref for shared sub-schemas; cycles cannot be inlined and throw.
  return z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0', reused: 'inline', cycles: 'throw', unrepresentable: 'throw' }) as Record<string, unknown>;
}

function pick<T extends object, K extends keyof T>(o: T, ...keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const key of keys) if (o[key] !== undefined) out[key] = o[key];
  return out;
}

/** Formats the apiserver validates (k8s.io/kube-openapi strfmt); others are dropped rather than warned about. */
const KNOWN_FORMATS = new Set([
  'bsonobjectid', 'uri', 'email', 'hostname', 'ipv4', 'ipv6', 'cidr', 'mac', 'uuid', 'uuid3', 'uuid4', 'uuid5',
  'isbn', 'isbn10', 'isbn13', 'creditcard', 'ssn', 'hexcolor', 'rgbcolor', 'byte', 'password', 'date', 'duration',
  'datetime', 'date-time', 'int32', 'int64', 'float', 'double',
]);

/** Value validations: allowed inside anyOf/allOf/oneOf of a structural schema. */
const VALUE_VALIDATIONS = new Set([
  'format', 'pattern', 'enum', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength',
  'minItems', 'maxItems', 'minProperties', 'maxProperties', 'multipleOf', 'required',
]);
/** Every keyword toStructural may emit; anything else in zod's output is an error. */
const KEYWORDS = new Set([
  ...VALUE_VALIDATIONS, 'type', 'description', 'title', 'default', 'properties', 'additionalProperties', 'items', 'anyOf', 'allOf', 'oneOf',
  'nullable', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
]);
const SCALARS = new Set(['string', 'integer', 'number', 'boolean']);

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Turns zod's JSON Schema (openapi-3.0 target) into a structural schema.
 * `path` is the field path ("spec.template.env"), for errors and LIST_MAP_KEYS.
 */
export function toStructural(root: Json, path: string): JSONSchemaProps {
  const defs = { ...(isObject(root['definitions']) ? root['definitions'] : {}), ...(isObject(root['$defs']) ? root['$defs'] : {}) };
  return convert(root, path, defs, []) as JSONSchemaProps;
}

function convert(input: Json, path: string, defs: Json, refStack: string[]): Json {
  const where = path || '<root>';
  const fail = (why: string): never => {
    throw new Error(`CRD schema at ${where}: ${why}`);
  };
  let node: Json = { ...input };
  delete node['$schema'];
  delete node['$id'];
  delete node['id'];
  delete node['definitions'];
  delete node['$defs'];

  // $ref: inline the definition; siblings of $ref are merged over it.
  if (typeof node['$ref'] === 'string') {
    const ref = node['$ref'];
    const name = /^#\/(?:definitions|\$defs)\/(.+)$/.exec(ref)?.[1];
    const target = name === undefined ? undefined : defs[name];
    if (!isObject(target)) fail(`unresolvable $ref ${ref}`);
    if (refStack.includes(ref)) fail(`recursive schema (${ref}) cannot be inlined`);
    delete node['$ref'];
    return convert({ ...(target as Json), ...node }, path, defs, [...refStack, ref]);
  }
  // allOf of one schema (zod wraps a $ref with siblings so): merge it into the node.
  if (Array.isArray(node['allOf']) && node['allOf'].length === 1 && isObject(node['allOf'][0])) {
    const [only] = node['allOf'] as Json[];
    delete node['allOf'];
    const resolved = convert(only!, path, defs, refStack);
    for (const key of Object.keys(node)) if (key in resolved && key !== 'description') fail(`allOf and its parent both set ${key}`);
    node = { ...resolved, ...node };
  }

  if ('const' in node) {
    node['enum'] = [node['const']];
    delete node['const'];
  }
  if (typeof node['exclusiveMinimum'] === 'number') {
    node['minimum'] = node['exclusiveMinimum'];
    node['exclusiveMinimum'] = true;
  }
  if (typeof node['exclusiveMaximum'] === 'number') {
    node['maximum'] = node['exclusiveMaximum'];
    node['exclusiveMaximum'] = true;
  }
  if (node['type'] === 'integer') {
    if (node['minimum'] === Number.MIN_SAFE_INTEGER) delete node['minimum'];
    if (node['maximum'] === Number.MAX_SAFE_INTEGER) delete node['maximum'];
  }
  if (typeof node['format'] === 'string' && !KNOWN_FORMATS.has(node['format'])) delete node['format'];
  if (Array.isArray(node['type'])) fail(`a list of types (${node['type'].join(', ')}) is not structural`);
  if (node['type'] === 'null') fail('type null is not supported (use nullable)');
  if (node['nullable'] === true && node['type'] === undefined) fail('nullable needs a type');
  if (node['uniqueItems'] === true) fail('uniqueItems is not supported (use x-kubernetes-list-type: set)');
  if (isObject(node['propertyNames'])) {
    const names = node['propertyNames'];
    if (Object.keys(names).length !== 1 || names['type'] !== 'string') fail('propertyNames restrictions are not supported');
    delete node['propertyNames'];
  }

  // Unions.
  for (const junctor of ['anyOf', 'oneOf'] as const) {
    const branches = node[junctor];
    if (!Array.isArray(branches)) continue;
    const converted = branches.map((b, i) => (isObject(b) ? convert(b, `${path}[${junctor}${i}]`, defs, refStack) : fail(`${junctor} entry ${i} is not a schema`)));
    const types = new Set(converted.map((b) => b['type']));
    const onlyType = converted.every((b) => Object.keys(b).length === 1);
    if (onlyType && types.size === 2 && types.has('string') && (types.has('number') || types.has('integer')) && converted.length === 2) {
      // string | number: a quantity ("512Mi" or 536870912). A fraction must be
      // quoted on Kubernetes ("1.5"), as for a Pod's resources.
      delete node[junctor];
      if (node['type'] !== undefined) fail(`${junctor} of string|number under type ${String(node['type'])}`);
      node['x-kubernetes-int-or-string'] = true;
      continue;
    }
    const [type] = types;
    if (types.size === 1 && typeof type === 'string' && SCALARS.has(type) && (node['type'] === undefined || node['type'] === type)) {
      node['type'] = type;
      const rest = converted.map(({ type: _, ...validations }) => validations);
      for (const r of rest) for (const key of Object.keys(r)) if (!VALUE_VALIDATIONS.has(key)) fail(`${junctor} branches may only hold value validations, found ${key}`);
      // A branch with no validation left accepts every value of the type: the union says nothing more.
      if (rest.some((r) => Object.keys(r).length === 0)) delete node[junctor];
      else node[junctor] = rest;
      continue;
    }
    fail(`${junctor} over ${[...types].map(String).join(', ')} is not expressible in a structural schema`);
  }

  // Objects.
  const ap = node['additionalProperties'];
  if (ap === false) {
    delete node['additionalProperties'];
  } else if (ap === true || (isObject(ap) && Object.keys(ap).length === 0)) {
    delete node['additionalProperties'];
    node['x-kubernetes-preserve-unknown-fields'] = true;
  } else if (isObject(ap)) {
    if (isObject(node['properties'])) fail('additionalProperties beside properties is not allowed in a CRD');
    node['additionalProperties'] = convert(ap, `${path}.*`, defs, refStack);
  }
  if (isObject(node['properties'])) {
    const props: Json = {};
    for (const [key, value] of Object.entries(node['properties'])) {
      if (!isObject(value)) fail(`property ${key} is not a schema`);
      props[key] = convert(value as Json, path ? `${path}.${key}` : key, defs, refStack);
    }
    node['properties'] = props;
  }

  // Arrays.
  if (node['items'] !== undefined) {
    if (!isObject(node['items'])) fail('items must be one schema (tuples are not supported)');
    node['items'] = convert(node['items'] as Json, `${path}[]`, defs, refStack);
  }
  if (node['type'] === 'array' && node['items'] === undefined) fail('an array needs items');
  const listMapKeys = LIST_MAP_KEYS[path];
  if (listMapKeys) {
    node['x-kubernetes-list-type'] = 'map';
    node['x-kubernetes-list-map-keys'] = listMapKeys;
  }

  for (const key of Object.keys(node)) if (!KEYWORDS.has(key)) fail(`keyword ${key} is not supported in a CRD schema`);
  if (node['type'] === undefined && node['x-kubernetes-int-or-string'] !== true && node['x-kubernetes-preserve-unknown-fields'] !== true) {
    fail('no type (z.unknown() or z.any() need a schema here)');
  }
  return node;
}

/** controller-gen's file name: `<group>_<plural>.yaml`. */
export const crdFileName = (crd: CustomResourceDefinition): string => `${crd.spec.group}_${crd.spec.names.plural}.yaml`;

const HEADER = `# Generated from src/spec/schema.ts and src/spec/status-schema.ts; do not edit.
# Regenerate: npm run build && ${REGENERATE_COMMAND}
`;

const toYaml = (value: unknown): string =>
  // YAML 1.1 quoting, as the apiserver's YAML reader (sigs.k8s.io/yaml) is 1.1: "on", "no", "y" stay strings.
  stringify(value, { version: '1.1', lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false });

/** All CRDs as one multi-document YAML stream (what `berth crds` prints). */
export function renderCrdsYaml(crds: readonly CustomResourceDefinition[] = allCrds()): string {
  return HEADER + crds.map((crd) => `---\n${toYaml(crd)}`).join('');
}

/**
 * The files of crds/: one per CRD, and a kustomization listing them
 * (manifests/ includes ../crds as a kustomization: kustomize refuses plain
 * files outside its root). It is named `Kustomization`, a name kustomize
 * accepts and `kubectl apply -f crds/` skips (no .yaml/.json extension), so
 * both `kubectl apply -f crds/` and `kubectl apply -k crds/` work.
 */
export function renderCrdFiles(crds: readonly CustomResourceDefinition[] = allCrds()): Map<string, string> {
  const files = new Map<string, string>();
  for (const crd of crds) files.set(crdFileName(crd), HEADER + toYaml(crd));
  const kustomization = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: crds.map(crdFileName) };
  files.set('Kustomization', HEADER + toYaml(kustomization));
  return files;
}
