// Server-side printing and output negotiation: the Accept header chooses
// plain JSON (or YAML), a meta.k8s.io Table (what `kubectl get` asks for) or
// PartialObjectMetadata(List). Tables come from each type's convertor: a CRD's
// additionalPrinterColumns (k8s.io/apiextensions-apiserver .../tableconvertor),
// the printers of the built-in types the server has (pkg/printers/internalversion),
// or the default convertor (Name, Created At).
import { badRequest, notAcceptableError } from './errors.js';
import { compileJsonPath, type JsonPath } from './jsonpath.js';
import { arr, isObject, num, obj, str, type Json, type JsonObject } from './json.js';

// ---------------- negotiation ----------------

export type Output =
  | { as: 'json' }
  | { as: 'yaml' }
  | { as: 'Table'; groupVersion: string }
  | { as: 'PartialObjectMetadata' | 'PartialObjectMetadataList'; groupVersion: string };

interface MediaRange {
  type: string;
  subType: string;
  q: number;
  params: Record<string, string>;
}

/** goautoneg.ParseAccept: media ranges ordered by q, then specificity (stable). */
export function parseAccept(header: string): MediaRange[] {
  const out: MediaRange[] = [];
  for (const part of header.split(',')) {
    const [range, ...params] = part.trim().split(';');
    const sp = (range ?? '').split('/');
    const type = sp[0]!.trim();
    let subType: string;
    if (sp.length === 1 && type === '*') subType = '*';
    else if (sp.length === 2) subType = sp[1]!.trim();
    else continue;
    const m: MediaRange = { type, subType, q: 1, params: {} };
    for (const p of params) {
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      const k = p.slice(0, eq).trim();
      const v = p.slice(eq + 1).trim();
      if (k === 'q') m.q = Number.parseFloat(v) || 0;
      else m.params[k] = v;
    }
    out.push(m);
  }
  const rank = (m: MediaRange) => (m.type === '*' ? 2 : m.subType === '*' ? 1 : 0);
  return out.map((m, i) => ({ m, i })).sort((a, b) => b.m.q - a.m.q || rank(a.m) - rank(b.m) || a.i - b.i).map((x) => x.m);
}

/**
 * The response form for a GET of a resource (negotiation.NegotiateOutputMediaType
 * with the resource endpoints' restrictions): the first acceptable media range
 * wins; a conversion (`as`/`g`/`v`) is honoured for Table (meta.k8s.io v1 or
 * v1beta1) and PartialObjectMetadata(List) (v1); protobuf and CBOR are not
 * served here, so a range naming them is passed over; nothing acceptable: 406.
 * Watches have no YAML stream.
 */
export function negotiateOutput(accept: string | undefined, watch: boolean): Output {
  if (!accept || accept.trim() === '') return { as: 'json' };
  for (const m of parseAccept(accept)) {
    if (m.q <= 0) continue;
    const any = m.type === '*' && m.subType === '*';
    const appAny = m.type === 'application' && m.subType === '*';
    const json = m.type === 'application' && m.subType === 'json';
    const yaml = m.type === 'application' && m.subType === 'yaml' && !watch;
    if (!(any || appAny || json || yaml)) continue;
    const { as, g, v } = m.params;
    if (as === undefined && g === undefined && v === undefined) return yaml ? { as: 'yaml' } : { as: 'json' };
    if (g !== 'meta.k8s.io') continue;
    if (as === 'Table' && (v === 'v1' || v === 'v1beta1')) return { as: 'Table', groupVersion: `meta.k8s.io/${v}` };
    if ((as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') && (v === 'v1' || v === 'v1beta1')) return { as, groupVersion: `meta.k8s.io/${v}` };
  }
  throw notAcceptableError(`only the following media types are accepted: ${watch ? 'application/json' : 'application/json, application/yaml'}`);
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function includeObjectParam(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject') ?? '';
  if (v === '') return 'Metadata';
  if (v === 'None' || v === 'Metadata' || v === 'Object') return v;
  throw badRequest(`unrecognized includeObject value: ${JSON.stringify(v)}`);
}

// ---------------- convertors ----------------

export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableConvertor {
  columns: ColumnDefinition[];
  /** The cells of one object's row: stored form (built-ins) and as served (custom resources). */
  cells(stored: JsonObject, external: JsonObject): Json[];
}

const NAME_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';
const CREATION_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

const col = (name: string, type: string, description: string, priority = 0, format = ''): ColumnDefinition => ({ name, type, format, description, priority });
const NAME_COLUMN = col('Name', 'string', NAME_DESCRIPTION, 0, 'name');

/** duration.HumanDuration (k8s.io/apimachinery/pkg/util/duration). */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** metatable.ConvertToHumanReadableDateType of a metav1.Time string ("<unknown>" when unset). */
export function age(ts: Json | undefined): string {
  if (ts === undefined || ts === null || ts === '' || ts === 'null') return '<unknown>';
  if (typeof ts !== 'string' || !RFC3339.test(ts) || Number.isNaN(Date.parse(ts))) return '<invalid>';
  return humanDuration(Date.now() - Date.parse(ts));
}

/** How Go's fmt prints a JSON number decoded into unstructured content: int64, else float64 with %v (strconv 'g', -1: exponent form below 1e-4 and from 1e6). */
function goNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 2 ** 63) return BigInt(n).toString();
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN';
  const [mant, expText] = n.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(n);
}

/** jsonpath PrintResults of one value: strings raw, maps and slices as JSON, the rest as fmt prints them. */
function printValue(v: Json): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goNumber(v);
  if (v === null) return 'null';
  if (typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** cellForJSONValue of the CRD table convertor. */
function typedCell(type: string, v: Json): Json {
  if (v === null) return null;
  switch (type) {
    case 'integer':
      return typeof v === 'number' ? Math.trunc(v) : null;
    case 'number':
      return typeof v === 'number' ? v : null;
    case 'boolean':
      return typeof v === 'boolean' ? v : null;
    case 'date':
      if (typeof v !== 'string') return null;
      return age(v);
    default:
      return null;
  }
}

export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

/** A CRD version's columns; none declared: Age (serveDefaultColumnsIfEmpty). */
export function printerColumnsOf(version: JsonObject): PrinterColumn[] {
  const cols = (arr(version, 'additionalPrinterColumns') ?? []).filter(isObject).map((c) => ({
    name: str(c, 'name') ?? '',
    type: str(c, 'type') ?? '',
    format: str(c, 'format'),
    description: str(c, 'description'),
    priority: num(c, 'priority'),
    jsonPath: str(c, 'jsonPath') ?? '',
  }));
  return cols.length > 0 ? cols : [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }];
}

/** The table convertor of a custom resource version (tableconvertor.New). */
export function customResourceConvertor(columns: PrinterColumn[]): TableConvertor {
  const paths: (JsonPath | undefined)[] = columns.map((c) => {
    try {
      return compileJsonPath(c.jsonPath);
    } catch {
      return undefined;
    }
  });
  return {
    columns: [
      NAME_COLUMN,
      ...columns.map((c) => col(c.name, c.type, c.description || `Custom resource definition column (in JSONPath format): ${c.jsonPath}`, c.priority ?? 0, c.format ?? '')),
    ],
    cells(_stored, external) {
      const cells: Json[] = [str(external['metadata'], 'name') ?? ''];
      columns.forEach((c, i) => {
        const found = paths[i]?.find(external) ?? [];
        if (found.length === 0) cells.push(null);
        else if (c.type === 'string') cells.push(printValue(found[0]!));
        else cells.push(typedCell(c.type, found[0]!));
      });
      return cells;
    },
  };
}

/** The default convertor (rest.defaultTableConvertor): Name, Created At (RFC 3339). */
export const DEFAULT_CONVERTOR: TableConvertor = {
  columns: [NAME_COLUMN, col('Created At', 'date', CREATION_DESCRIPTION)],
  cells: (stored) => [str(stored['metadata'], 'name') ?? '', str(stored['metadata'], 'creationTimestamp') ?? '0001-01-01T00:00:00Z'],
};

const AGE_COLUMN = col('Age', 'string', CREATION_DESCRIPTION);
const none = (s: string | undefined): string => (s ? s : '<none>');

export const NAMESPACE_CONVERTOR: TableConvertor = {
  columns: [NAME_COLUMN, col('Status', 'string', 'The status of the namespace'), AGE_COLUMN],
  cells: (o) => [str(o['metadata'], 'name') ?? '', str(o['status'], 'phase') ?? '', age(str(o['metadata'], 'creationTimestamp'))],
};

/** printPod, without restart times (the fake kubelet keeps no last state). */
export const POD_CONVERTOR: TableConvertor = {
  columns: [
    NAME_COLUMN,
    col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
    col('Status', 'string', 'The aggregate status of the containers in this pod.'),
    col('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
    AGE_COLUMN,
    col('IP', 'string', 'IP address allocated to the pod.', 1),
    col('Node', 'string', 'Name of the node the pod is assigned to.', 1),
    col('Nominated Node', 'string', 'Name of the node where the pod is nominated to run.', 1),
    col('Readiness Gates', 'string', 'Readiness gates of the pod.', 1),
  ],
  cells(o) {
    const status = obj(o, 'status') ?? {};
    const total = (arr(obj(o, 'spec'), 'containers') ?? []).length;
    let reason = str(status, 'reason') || str(status, 'phase') || '';
    let ready = 0;
    let restarts = 0;
    for (const cs of (arr(status, 'containerStatuses') ?? []).filter(isObject)) {
      restarts += num(cs, 'restartCount') ?? 0;
      const state = obj(cs, 'state');
      const waiting = str(obj(state, 'waiting'), 'reason');
      const terminated = obj(state, 'terminated');
      if (waiting) reason = waiting;
      else if (terminated) reason = str(terminated, 'reason') || `ExitCode:${num(terminated, 'exitCode') ?? 0}`;
      else if (obj(state, 'running') && cs['ready'] === true) ready++;
    }
    if (str(o['metadata'], 'deletionTimestamp')) reason = str(status, 'reason') === 'NodeLost' ? 'Unknown' : 'Terminating';
    const gates = arr(obj(o, 'spec'), 'readinessGates') ?? [];
    return [
      str(o['metadata'], 'name') ?? '',
      `${ready}/${total}`,
      reason,
      String(restarts),
      age(str(o['metadata'], 'creationTimestamp')),
      none(str(status, 'podIP')),
      none(str(o['spec'], 'nodeName')),
      none(str(status, 'nominatedNodeName')),
      gates.length === 0 ? '<none>' : `0/${gates.length}`,
    ];
  },
};

/** printEvent (stored events are core/v1 shaped). */
export const EVENT_CONVERTOR: TableConvertor = {
  columns: [
    col('Last Seen', 'string', 'Time when last event occurred'),
    col('Type', 'string', 'Type of this event.'),
    col('Reason', 'string', 'Reason why this event was generated.'),
    col('Object', 'string', 'Object this event is about.'),
    col('Subobject', 'string', 'Subobject this event is about.', 1),
    col('Source', 'string', 'Source of this event.', 1),
    col('Message', 'string', 'Message of this event.'),
    col('First Seen', 'string', 'Time when first event occurred.', 1),
    col('Count', 'integer', 'Number of occurrences of this event.', 1),
    { ...NAME_COLUMN, priority: 1 },
  ],
  cells(o) {
    const first = str(o, 'firstTimestamp') ? age(str(o, 'firstTimestamp')) : age(str(o, 'eventTime'));
    let last = str(o, 'lastTimestamp') ? age(str(o, 'lastTimestamp')) : first;
    let count = num(o, 'count') ?? 0;
    const series = obj(o, 'series');
    if (series) {
      last = age(str(series, 'lastObservedTime'));
      count = num(series, 'count') ?? 0;
    } else if (count === 0) count = 1;
    const io = obj(o, 'involvedObject') ?? {};
    const kind = (str(io, 'kind') ?? '').toLowerCase();
    const target = str(io, 'name') ? `${kind}/${str(io, 'name')}` : kind;
    const src = obj(o, 'source');
    const component = str(src, 'component') || str(o, 'reportingComponent') || '';
    const host = str(src, 'host') || str(o, 'reportingInstance') || '';
    const source = host ? `${component}, ${host}` : component;
    return [last, str(o, 'type') ?? '', str(o, 'reason') ?? '', target, str(io, 'fieldPath') ?? '', source, (str(o, 'message') ?? '').trim(), first, count, str(o['metadata'], 'name') ?? ''];
  },
};

/** printLease. */
export const LEASE_CONVERTOR: TableConvertor = {
  columns: [NAME_COLUMN, col('Holder', 'string', 'The holder of the lease.'), AGE_COLUMN],
  cells: (o) => [str(o['metadata'], 'name') ?? '', str(o['spec'], 'holderIdentity') ?? '', age(str(o['metadata'], 'creationTimestamp'))],
};

// ---------------- assembly ----------------

/** meta.AsPartialObjectMetadata: the object's metadata under PartialObjectMetadata. */
export function partialObjectMetadata(external: JsonObject, groupVersion: string): JsonObject {
  return { kind: 'PartialObjectMetadata', apiVersion: groupVersion, metadata: external['metadata'] ?? {} };
}

export interface TableItem {
  stored: JsonObject;
  external: JsonObject;
}

/** handlers.asTable: the convertor's rows, each carrying the object as includeObject says. */
export function asTable(convertor: TableConvertor, items: TableItem[], listMeta: JsonObject, groupVersion: string, include: IncludeObject, noHeaders = false): JsonObject {
  const table: JsonObject = { kind: 'Table', apiVersion: groupVersion, metadata: listMeta };
  if (!noHeaders) table['columnDefinitions'] = convertor.columns.map((c) => ({ ...c }));
  table['rows'] = items.map(({ stored, external }) => ({
    cells: convertor.cells(stored, external),
    object: include === 'None' ? null : include === 'Object' ? external : partialObjectMetadata(external, groupVersion),
  }));
  return table;
}
