// The OpenAPI documents kubectl fetches: /openapi/v3 (an index of group
// versions) and /openapi/v3/{api/v1 | apis/G/V} with the paths of every served
// resource (operations tagged with x-kubernetes-action and
// x-kubernetes-group-version-kind, the query parameters, fieldValidation
// among them, and the patch content types the server accepts) and, for custom
// resources, the CRD's structural schema under components; /openapi/v2 as a
// valid but empty Swagger document (JSON or the gnostic protobuf kubectl asks
// for). kubectl 1.2x's `apply` needs one of them: v3 tells it that the server
// validates fields itself (so it sends fieldValidation=Strict); older kubectls
// load v2 for client-side validation, which finds no definitions and leaves
// validation to the server.
import { createHash } from 'node:crypto';
import { notAcceptableError } from './errors.js';
import { clone, type Json, type JsonObject } from './json.js';
import { gv, type ResourceType } from './resource-type.js';
import { parseAccept } from './table.js';

export const OPENAPI_INFO = { title: 'Kubernetes', version: 'v1.33.0' };

// kube-openapi serves the protobuf under both names and answers with the second
// (the '@' is not a valid MIME token: Go's mime.ParseMediaType refuses it).
const V2_PROTOBUF_DEPRECATED = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
const V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

export interface Rendered {
  contentType: string;
  body: Buffer;
}

// ---------------- v2 ----------------

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

/** A length-delimited protobuf field (strings and embedded messages). */
function field(no: number, payload: Buffer): Buffer {
  return Buffer.concat([varint((no << 3) | 2), varint(payload.length), payload]);
}

/** GET /openapi/v2: openapi_v2.Document {swagger, info, paths: {}, definitions: {}}, protobuf or JSON by Accept. */
export function openApiV2(accept: string | undefined): Rendered {
  const ranges = accept ? parseAccept(accept) : [];
  for (const r of ranges.length > 0 ? ranges : [{ type: '*', subType: '*', q: 1, params: {} }]) {
    const media = `${r.type}/${r.subType}`;
    if (media === V2_PROTOBUF || media === V2_PROTOBUF_DEPRECATED) {
      const body = Buffer.concat([
        field(1, Buffer.from('2.0')),
        field(2, Buffer.concat([field(1, Buffer.from(OPENAPI_INFO.title)), field(2, Buffer.from(OPENAPI_INFO.version))])),
        field(8, Buffer.alloc(0)),
        field(9, Buffer.alloc(0)),
      ]);
      return { contentType: V2_PROTOBUF, body };
    }
    if (media === 'application/json' || media === '*/*' || media === 'application/*') {
      return { contentType: 'application/json', body: Buffer.from(JSON.stringify({ swagger: '2.0', info: OPENAPI_INFO, paths: {}, definitions: {} })) };
    }
  }
  throw notAcceptableError(`only the following media types are accepted: application/json, ${V2_PROTOBUF}`);
}

// ---------------- v3 ----------------

/** "api/v1" or "apis/{group}/{version}": the keys of the /openapi/v3 index. */
export const gvPath = (rt: Pick<ResourceType, 'group' | 'version'>): string => (rt.group ? `apis/${rt.group}/${rt.version}` : `api/${rt.version}`);

/** io.k8s.api... for built-ins is not published here; custom resources: reversed group + version + kind (dev.berth.v1alpha1.Instance). */
export const definitionName = (group: string, version: string, kind: string): string => `${group.split('.').reverse().join('.')}.${version}.${kind}`;

function operationPrefix(rt: ResourceType): string {
  const cap = (s: string) => (s ? s[0]!.toUpperCase() + s.slice(1) : s);
  const g = rt.group ? rt.group.replace(/\.k8s\.io$/, '').split(/[.-]/).map(cap).join('') : 'Core';
  return `${g}${cap(rt.version)}`;
}

const query = (name: string, type: string, description: string): JsonObject => ({ name, in: 'query', description, schema: { type, uniqueItems: true } });
const path = (name: string, description: string): JsonObject => ({ name, in: 'path', description, required: true, schema: { type: 'string', uniqueItems: true } });

const P = {
  pretty: query('pretty', 'string', "If 'true', then the output is pretty printed."),
  dryRun: query('dryRun', 'string', 'When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed'),
  fieldManager: query('fieldManager', 'string', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
  fieldValidation: query(
    'fieldValidation',
    'string',
    'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore - Warn (default) - Strict',
  ),
  force: query('force', 'boolean', 'Force is going to "force" Apply requests.'),
  gracePeriodSeconds: query('gracePeriodSeconds', 'integer', 'The duration in seconds before the object should be deleted.'),
  propagationPolicy: query('propagationPolicy', 'string', "Whether and how garbage collection will be performed: 'Orphan', 'Background' or 'Foreground'."),
  allowWatchBookmarks: query('allowWatchBookmarks', 'boolean', 'allowWatchBookmarks requests watch events with type "BOOKMARK".'),
  continue: query('continue', 'string', 'The continue option should be set when retrieving more results from the server.'),
  fieldSelector: query('fieldSelector', 'string', 'A selector to restrict the list of returned objects by their fields. Defaults to everything.'),
  labelSelector: query('labelSelector', 'string', 'A selector to restrict the list of returned objects by their labels. Defaults to everything.'),
  limit: query('limit', 'integer', 'limit is a maximum number of responses to return for a list call.'),
  resourceVersion: query('resourceVersion', 'string', 'resourceVersion sets a constraint on what resource versions a request may be served from.'),
  resourceVersionMatch: query('resourceVersionMatch', 'string', 'resourceVersionMatch determines how resourceVersion is applied to list calls.'),
  sendInitialEvents: query('sendInitialEvents', 'boolean', '`sendInitialEvents=true` may be set together with `watch=true`.'),
  timeoutSeconds: query('timeoutSeconds', 'integer', 'Timeout for the list/watch call.'),
  watch: query('watch', 'boolean', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.'),
  name: (kind: string) => path('name', `name of the ${kind}`),
  namespace: path('namespace', 'object name and auth scope, such as for teams and projects'),
};

const LIST_PARAMS = [P.allowWatchBookmarks, P.continue, P.fieldSelector, P.labelSelector, P.limit, P.resourceVersion, P.resourceVersionMatch, P.sendInitialEvents, P.timeoutSeconds, P.watch];

function paths(rt: ResourceType, components: JsonObject): JsonObject {
  const gvk = { group: rt.group, version: rt.version, kind: rt.kind };
  const prefix = operationPrefix(rt);
  const ns = rt.namespaced ? 'Namespaced' : '';
  const ref = rt.custom ? (k: string) => ({ schema: { $ref: `#/components/schemas/${definitionName(rt.group, rt.version, k)}` } }) : () => ({});
  const content = (schema: JsonObject, types = ['application/json', 'application/yaml']): JsonObject => Object.fromEntries(types.map((t) => [t, clone(schema)]));
  const responses = (codes: string[], kind = rt.kind): JsonObject => Object.fromEntries(codes.map((c) => [c, { description: c === '201' ? 'Created' : c === '202' ? 'Accepted' : 'OK', content: content(ref(kind)) }]));
  const op = (action: string, verb: string, suffix: string, parameters: JsonObject[], codes: string[], extra: JsonObject = {}, kind = rt.kind): JsonObject => ({
    tags: [prefix.replace(/^./, (c) => c.toLowerCase())],
    description: `${action} ${rt.kind}`,
    operationId: `${verb}${prefix}${ns}${rt.kind}${suffix}`,
    parameters,
    ...extra,
    responses: responses(codes, kind),
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
  });
  const body = (types = ['application/json', 'application/yaml']): JsonObject => ({ requestBody: { required: true, content: content(ref(rt.kind), types) } });
  const patchTypes = ['application/json-patch+json', 'application/merge-patch+json', ...(rt.mergeKeys ? ['application/strategic-merge-patch+json'] : [])];
  const patchBody: JsonObject = { requestBody: { required: true, content: Object.fromEntries(patchTypes.map((t) => [t, { schema: { type: 'object' } }])) } };
  const base = `/${gvPath(rt)}${rt.namespaced ? '/namespaces/{namespace}' : ''}/${rt.resource}`;
  const scope = rt.namespaced ? [P.namespace] : [];
  const out: JsonObject = {};
  out[base] = {
    get: op('list', 'list', '', LIST_PARAMS, ['200'], {}, `${rt.kind}List`),
    post: op('post', 'create', '', [P.dryRun, P.fieldManager, P.fieldValidation], ['200', '201', '202'], body()),
    delete: op('deletecollection', 'deleteCollection', '', [P.dryRun, P.gracePeriodSeconds, P.propagationPolicy, ...LIST_PARAMS], ['200'], {}, 'Status'),
    parameters: [...scope, P.pretty],
  };
  out[`${base}/{name}`] = {
    get: op('get', 'read', '', [], ['200']),
    put: op('put', 'replace', '', [P.dryRun, P.fieldManager, P.fieldValidation], ['200', '201'], body()),
    patch: op('patch', 'patch', '', [P.dryRun, P.fieldManager, P.fieldValidation, P.force], ['200', '201'], patchBody),
    delete: op('delete', 'delete', '', [P.dryRun, P.gracePeriodSeconds, P.propagationPolicy], ['200', '202']),
    parameters: [P.name(rt.kind), ...scope, P.pretty],
  };
  if (rt.statusSubresource) {
    out[`${base}/{name}/status`] = {
      get: op('get', 'read', 'Status', [], ['200']),
      put: op('put', 'replace', 'Status', [P.dryRun, P.fieldManager, P.fieldValidation], ['200', '201'], body()),
      patch: op('patch', 'patch', 'Status', [P.dryRun, P.fieldManager, P.fieldValidation, P.force], ['200', '201'], patchBody),
      parameters: [P.name(rt.kind), ...scope, P.pretty],
    };
  }
  if (rt.namespaced) {
    out[`/${gvPath(rt)}/${rt.resource}`] = { get: { ...op('list', 'list', 'ForAllNamespaces', LIST_PARAMS, ['200'], {}, `${rt.kind}List`), operationId: `list${prefix}${rt.kind}ForAllNamespaces` }, parameters: [P.pretty] };
  }
  if (rt.custom && rt.openAPISchema) {
    const gvkList = (kind: string): Json => [{ group: rt.group, kind, version: rt.version }];
    const schema = clone(rt.openAPISchema);
    schema['x-kubernetes-group-version-kind'] = gvkList(rt.kind);
    components[definitionName(rt.group, rt.version, rt.kind)] = schema;
    components[definitionName(rt.group, rt.version, `${rt.kind}List`)] = {
      description: `${rt.kind}List is a list of ${rt.kind}`,
      type: 'object',
      required: ['items'],
      properties: {
        apiVersion: { type: 'string' },
        items: { type: 'array', items: { $ref: `#/components/schemas/${definitionName(rt.group, rt.version, rt.kind)}` } },
        kind: { type: 'string' },
        metadata: { type: 'object' },
      },
      'x-kubernetes-group-version-kind': gvkList(`${rt.kind}List`),
    };
  }
  return out;
}

/** The document of one group version ("api/v1", "apis/berth.dev/v1alpha1"), or undefined when nothing is served there. */
export function openApiV3Document(types: readonly ResourceType[], gvKey: string): JsonObject | undefined {
  const served = types.filter((t) => gvPath(t) === gvKey);
  if (served.length === 0) return undefined;
  const components: JsonObject = {};
  const allPaths: JsonObject = {};
  for (const rt of served) Object.assign(allPaths, paths(rt, components));
  return { openapi: '3.0.0', info: OPENAPI_INFO, paths: allPaths, components: { schemas: components } };
}

const hashOf = (doc: JsonObject): string => createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase();

/** GET /openapi/v3: {paths: {"apis/G/V": {serverRelativeURL}}} for every group version served. */
export function openApiV3Index(types: readonly ResourceType[]): JsonObject {
  const keys = [...new Set(types.map(gvPath))].sort();
  const out: JsonObject = {};
  for (const k of keys) {
    const doc = openApiV3Document(types, k)!;
    out[k] = { serverRelativeURL: `/openapi/v3/${k}?hash=${hashOf(doc)}` };
  }
  return { paths: out };
}

/** JSON only: the protobuf form of v3 documents is not served. */
export function checkJsonAccepted(accept: string | undefined): void {
  if (!accept) return;
  const ok = parseAccept(accept).some((r) => r.q > 0 && ((r.type === '*' && r.subType === '*') || (r.type === 'application' && (r.subType === 'json' || r.subType === '*'))));
  if (!ok) throw notAcceptableError('only the following media types are accepted: application/json');
}
