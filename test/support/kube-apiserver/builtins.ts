// The built-in resources the test API server serves: namespaces, pods,
// core/v1 and events.k8s.io/v1 events (one storage, converted), leases and
// CustomResourceDefinitions; plus the custom-resource types made from a CRD.
import type { FieldError } from './errors.js';
import { arr, clone, deepEqual, isObject, num, obj, str, type Json, type JsonObject } from './json.js';
import { META_MERGE_KEYS, type MergeKeys } from './patch.js';
import { STANDARD_VERBS, type ResourceType } from './resource-type.js';
import { applyDefaults, checkStructural, prune, validate as validateSchema, type JSONSchemaProps } from './schema.js';
import { isQualifiedName } from './selectors.js';
import { compileJsonPath } from './jsonpath.js';
import { customResourceConvertor, EVENT_CONVERTOR, LEASE_CONVERTOR, NAMESPACE_CONVERTOR, POD_CONVERTOR, printerColumnsOf, type PrinterColumn } from './table.js';
import { normalizeMicroTime, normalizeTime } from './times.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function dnsLabelErrors(v: string, field: string): FieldError[] {
  if (v.length > 63) return [{ type: 'Invalid', field, value: v, detail: 'must be no more than 63 characters' }];
  if (!DNS1123_LABEL.test(v)) {
    return [{ type: 'Invalid', field, value: v, detail: `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')` }];
  }
  return [];
}

export function dnsSubdomainErrors(v: string, field: string): FieldError[] {
  if (v.length > 253) return [{ type: 'Invalid', field, value: v, detail: 'must be no more than 253 characters' }];
  if (!DNS1123_SUBDOMAIN.test(v)) {
    return [{ type: 'Invalid', field, value: v, detail: `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')` }];
  }
  return [];
}

const metaFields = (o: JsonObject): Record<string, string> => ({
  'metadata.name': str(o['metadata'], 'name') ?? '',
  'metadata.namespace': str(o['metadata'], 'namespace') ?? '',
});

const base = {
  shortNames: [] as string[],
  categories: [] as string[],
  verbs: STANDARD_VERBS,
  custom: false,
  allowCreateOnUpdate: false,
  hasGeneration: false,
  statusSubresource: false,
  subresources: [] as string[],
};

// ---------------- namespaces ----------------

export const NAMESPACES: ResourceType = {
  ...base,
  group: '',
  version: 'v1',
  resource: 'namespaces',
  singular: 'namespace',
  kind: 'Namespace',
  listKind: 'NamespaceList',
  namespaced: false,
  shortNames: ['ns'],
  storeKey: '/namespaces',
  table: NAMESPACE_CONVERTOR,
  subresources: ['status'],
  statusSubresource: true,
  mergeKeys: META_MERGE_KEYS,
  fieldLabels: ['metadata.name', 'status.phase'],
  fieldsOf: (o) => ({ 'metadata.name': str(o['metadata'], 'name') ?? '', 'status.phase': str(o['status'], 'phase') ?? '' }),
  prepareForCreate(o) {
    const meta = o['metadata'] as JsonObject;
    const name = str(meta, 'name') ?? '';
    meta['labels'] = { ...(obj(meta, 'labels') ?? {}), 'kubernetes.io/metadata.name': name };
    const spec = isObject(o['spec']) ? o['spec'] : {};
    if (!Array.isArray(spec['finalizers'])) spec['finalizers'] = ['kubernetes'];
    o['spec'] = spec;
    o['status'] = { phase: 'Active' };
  },
  validate(o) {
    return dnsLabelErrors(str(o['metadata'], 'name') ?? '', 'metadata.name');
  },
  validateUpdate(o, old) {
    // The metadata.name label is kept by the server.
    const name = str(old['metadata'], 'name') ?? '';
    const meta = o['metadata'] as JsonObject;
    meta['labels'] = { ...(obj(meta, 'labels') ?? {}), 'kubernetes.io/metadata.name': name };
    return [];
  },
};

// ---------------- pods ----------------

const containerKeys = (prefix: string): Record<string, { key: string }> => ({
  [prefix]: { key: 'name' },
  [`${prefix}.env`]: { key: 'name' },
  [`${prefix}.ports`]: { key: 'containerPort' },
  [`${prefix}.volumeMounts`]: { key: 'mountPath' },
  [`${prefix}.volumeDevices`]: { key: 'devicePath' },
});

export const POD_MERGE_KEYS: MergeKeys = {
  ...META_MERGE_KEYS,
  ...containerKeys('spec.containers'),
  ...containerKeys('spec.initContainers'),
  ...containerKeys('spec.ephemeralContainers'),
  'spec.volumes': { key: 'name' },
  'spec.imagePullSecrets': { key: 'name' },
  'spec.hostAliases': { key: 'ip' },
  'status.conditions': { key: 'type' },
  'status.podIPs': { key: 'ip' },
  'status.hostIPs': { key: 'ip' },
};

function imagePullPolicyFor(image: string): string {
  const lastSegment = image.split('/').pop() ?? image;
  if (image.includes('@')) return 'IfNotPresent';
  const tag = lastSegment.includes(':') ? lastSegment.slice(lastSegment.lastIndexOf(':') + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function qosClass(spec: JsonObject): string {
  const containers = (arr(spec, 'containers') ?? []).filter(isObject);
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const res = obj(c, 'resources') ?? {};
    const req = obj(res, 'requests') ?? {};
    const lim = obj(res, 'limits') ?? {};
    if (Object.keys(req).length > 0 || Object.keys(lim).length > 0) any = true;
    for (const r of ['cpu', 'memory']) {
      const l = lim[r];
      const q = req[r] ?? l;
      if (l === undefined || q === undefined || String(l) !== String(q)) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function defaultContainers(list: Json[] | undefined): void {
  for (const c of list ?? []) {
    if (!isObject(c)) continue;
    if (typeof c['image'] === 'string' && c['imagePullPolicy'] === undefined) c['imagePullPolicy'] = imagePullPolicyFor(c['image']);
    c['terminationMessagePath'] ??= '/dev/termination-log';
    c['terminationMessagePolicy'] ??= 'File';
    c['resources'] ??= {};
    for (const p of arr(c, 'ports') ?? []) if (isObject(p)) p['protocol'] ??= 'TCP';
  }
}

function validateContainers(list: Json[] | undefined, field: string, required: boolean, errs: FieldError[]): void {
  if (!list || list.length === 0) {
    if (required) errs.push({ type: 'Required', field });
    return;
  }
  const seen = new Set<string>();
  list.forEach((c, i) => {
    const p = `${field}[${i}]`;
    if (!isObject(c)) {
      errs.push({ type: 'Invalid', field: p, value: c, detail: 'must be an object' });
      return;
    }
    const name = str(c, 'name');
    if (!name) errs.push({ type: 'Required', field: `${p}.name` });
    else {
      errs.push(...dnsLabelErrors(name, `${p}.name`));
      if (seen.has(name)) errs.push({ type: 'Duplicate', field: `${p}.name`, value: name });
      seen.add(name);
    }
    if (!str(c, 'image')) errs.push({ type: 'Required', field: `${p}.image` });
    (arr(c, 'ports') ?? []).forEach((port, j) => {
      const cp = num(port, 'containerPort');
      if (cp === undefined || !Number.isInteger(cp) || cp < 1 || cp > 65535) {
        errs.push({ type: 'Invalid', field: `${p}.ports[${j}].containerPort`, value: cp ?? 0, detail: 'must be between 1 and 65535, inclusive' });
      }
    });
    (arr(c, 'env') ?? []).forEach((e, j) => {
      if (!str(e, 'name')) errs.push({ type: 'Required', field: `${p}.env[${j}].name` });
    });
  });
}

function normalizePodTimes(o: JsonObject): void {
  const status = obj(o, 'status');
  if (!status) return;
  normalizeTime(status, 'startTime', 'Pod', 'v1');
  for (const c of arr(status, 'conditions') ?? []) {
    normalizeTime(c, 'lastProbeTime', 'Pod', 'v1');
    normalizeTime(c, 'lastTransitionTime', 'Pod', 'v1');
  }
  for (const list of ['containerStatuses', 'initContainerStatuses', 'ephemeralContainerStatuses']) {
    for (const cs of arr(status, list) ?? []) {
      for (const which of ['state', 'lastState']) {
        const st = obj(cs, which);
        normalizeTime(obj(st, 'running'), 'startedAt', 'Pod', 'v1');
        normalizeTime(obj(st, 'terminated'), 'startedAt', 'Pod', 'v1');
        normalizeTime(obj(st, 'terminated'), 'finishedAt', 'Pod', 'v1');
      }
    }
  }
}

const POD_UPDATE_FORBIDDEN =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

function mutablePodSpecStripped(spec: Json | undefined): JsonObject {
  const s = isObject(spec) ? clone(spec) : {};
  for (const list of ['containers', 'initContainers']) {
    for (const c of arr(s, list) ?? []) if (isObject(c)) delete c['image'];
  }
  delete s['activeDeadlineSeconds'];
  delete s['tolerations'];
  delete s['terminationGracePeriodSeconds'];
  return s;
}

export const PODS: ResourceType = {
  ...base,
  group: '',
  version: 'v1',
  resource: 'pods',
  singular: 'pod',
  kind: 'Pod',
  listKind: 'PodList',
  namespaced: true,
  shortNames: ['po'],
  categories: ['all'],
  storeKey: '/pods',
  table: POD_CONVERTOR,
  subresources: ['status', 'log', 'exec'],
  statusSubresource: true,
  hasGeneration: true,
  mergeKeys: POD_MERGE_KEYS,
  fieldLabels: ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  fieldsOf: (o) => ({
    ...metaFields(o),
    'spec.nodeName': str(o['spec'], 'nodeName') ?? '',
    'spec.restartPolicy': str(o['spec'], 'restartPolicy') ?? '',
    'spec.schedulerName': str(o['spec'], 'schedulerName') ?? '',
    'spec.serviceAccountName': str(o['spec'], 'serviceAccountName') ?? '',
    'spec.hostNetwork': String(obj(o, 'spec')?.['hostNetwork'] === true),
    'status.phase': str(o['status'], 'phase') ?? '',
    'status.podIP': str(o['status'], 'podIP') ?? '',
    'status.nominatedNodeName': str(o['status'], 'nominatedNodeName') ?? '',
  }),
  toInternal(o) {
    normalizePodTimes(o);
    // Defaulting happens when a request is decoded, for creates and updates alike.
    const spec = obj(o, 'spec');
    if (!spec) return o;
    spec['restartPolicy'] ??= 'Always';
    spec['terminationGracePeriodSeconds'] ??= 30;
    spec['dnsPolicy'] ??= 'ClusterFirst';
    spec['securityContext'] ??= {};
    spec['schedulerName'] ??= 'default-scheduler';
    spec['serviceAccountName'] ??= 'default';
    spec['enableServiceLinks'] ??= true;
    spec['priority'] ??= 0;
    spec['preemptionPolicy'] ??= 'PreemptLowerPriority';
    defaultContainers(arr(spec, 'containers'));
    defaultContainers(arr(spec, 'initContainers'));
    return o;
  },
  prepareForCreate(o) {
    o['status'] = { phase: 'Pending', qosClass: qosClass(obj(o, 'spec') ?? {}) };
  },
  validate(o) {
    const errs: FieldError[] = [];
    const spec = obj(o, 'spec');
    validateContainers(arr(spec, 'containers'), 'spec.containers', true, errs);
    validateContainers(arr(spec, 'initContainers'), 'spec.initContainers', false, errs);
    const rp = str(spec, 'restartPolicy');
    if (rp !== undefined && !['Always', 'OnFailure', 'Never'].includes(rp)) {
      errs.push({ type: 'NotSupported', field: 'spec.restartPolicy', value: rp, detail: 'supported values: "Always", "OnFailure", "Never"' });
    }
    return errs;
  },
  validateUpdate(o, old) {
    if (!deepEqual(mutablePodSpecStripped(o['spec']), mutablePodSpecStripped(old['spec']))) {
      return [{ type: 'Forbidden', field: 'spec', detail: POD_UPDATE_FORBIDDEN }];
    }
    return [];
  },
  gracePeriod(o, requested) {
    const phase = str(o['status'], 'phase');
    if (!str(o['spec'], 'nodeName')) return 0; // never scheduled: deleted at once
    if (phase === 'Succeeded' || phase === 'Failed') return 0;
    return requested ?? num(o['spec'], 'terminationGracePeriodSeconds') ?? 30;
  },
};

// ---------------- events ----------------

const EVENT_FIELD_LABELS = [
  'metadata.name',
  'metadata.namespace',
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
];

function eventFields(o: JsonObject): Record<string, string> {
  const io = obj(o, 'involvedObject');
  const fields: Record<string, string> = { ...metaFields(o) };
  for (const k of ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath']) fields[`involvedObject.${k}`] = str(io, k) ?? '';
  fields['reason'] = str(o, 'reason') ?? '';
  fields['reportingComponent'] = str(o, 'reportingComponent') ?? '';
  fields['source'] = str(o['source'], 'component') ?? '';
  fields['type'] = str(o, 'type') ?? '';
  return fields;
}

function normalizeEventTimes(o: JsonObject, kind: string, version: string, core: boolean): void {
  normalizeMicroTime(o, 'eventTime', kind, version);
  normalizeMicroTime(obj(o, 'series'), 'lastObservedTime', kind, version);
  normalizeTime(o, core ? 'firstTimestamp' : 'deprecatedFirstTimestamp', kind, version);
  normalizeTime(o, core ? 'lastTimestamp' : 'deprecatedLastTimestamp', kind, version);
}

/** Validation of events (pkg/apis/core/validation/events.go), by request version. */
function validateEvent(o: JsonObject, requestVersion: string): FieldError[] {
  const errs: FieldError[] = [];
  const ns = str(o['metadata'], 'namespace') ?? '';
  const io = obj(o, 'involvedObject') ?? {};
  const ioNs = str(io, 'namespace') ?? '';
  const eventsV1 = requestVersion === 'events.k8s.io/v1';
  const controllerField = eventsV1 ? 'reportingController' : 'reportingComponent';
  const regarding = eventsV1 ? 'regarding' : 'involvedObject';
  if (eventsV1) {
    if (!str(o, 'eventTime')) errs.push({ type: 'Required', field: 'eventTime' });
    const type = str(o, 'type');
    if (type !== 'Normal' && type !== 'Warning') errs.push({ type: 'NotSupported', field: 'type', value: type ?? '', detail: 'supported values: "Normal", "Warning"' });
    if ((str(o, 'message') ?? '').length > 1024) errs.push({ type: 'TooLong', field: 'note', detail: 'may not be more than 1024 bytes' });
  }
  if (!str(o, 'eventTime')) {
    if (ioNs === '') {
      if (ns !== '' && ns !== 'default') errs.push({ type: 'Invalid', field: `${regarding}.namespace`, value: ioNs, detail: 'does not match event.namespace' });
    } else if (ns !== ioNs) {
      errs.push({ type: 'Invalid', field: `${regarding}.namespace`, value: ioNs, detail: 'does not match event.namespace' });
    }
  } else {
    if (ioNs === '' && ns !== 'default' && ns !== 'kube-system') errs.push({ type: 'Invalid', field: `${regarding}.namespace`, value: ioNs, detail: 'does not match event.namespace' });
    const rc = str(o, 'reportingComponent') ?? '';
    if (!rc) errs.push({ type: 'Required', field: controllerField });
    else if (!isQualifiedName(rc)) errs.push({ type: 'Invalid', field: controllerField, value: rc, detail: 'name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character' });
    const ri = str(o, 'reportingInstance') ?? '';
    if (!ri) errs.push({ type: 'Required', field: 'reportingInstance' });
    else if (ri.length > 128) errs.push({ type: 'Invalid', field: 'reportingInstance', value: '', detail: 'can have at most 128 characters' });
    const action = str(o, 'action') ?? '';
    if (!action) errs.push({ type: 'Required', field: 'action' });
    else if (action.length > 128) errs.push({ type: 'Invalid', field: 'action', value: '', detail: 'can have at most 128 characters' });
    const reason = str(o, 'reason') ?? '';
    if (!reason) errs.push({ type: 'Required', field: 'reason' });
    else if (reason.length > 128) errs.push({ type: 'Invalid', field: 'reason', value: '', detail: 'can have at most 128 characters' });
    if (!eventsV1 && (str(o, 'message') ?? '').length > 1024) errs.push({ type: 'Invalid', field: 'message', value: '', detail: 'can have at most 1024 characters' });
  }
  return errs;
}

export const CORE_EVENTS: ResourceType = {
  ...base,
  group: '',
  version: 'v1',
  resource: 'events',
  singular: 'event',
  kind: 'Event',
  listKind: 'EventList',
  namespaced: true,
  shortNames: ['ev'],
  storeKey: '/events',
  table: EVENT_CONVERTOR,
  allowCreateOnUpdate: true,
  mergeKeys: META_MERGE_KEYS,
  fieldLabels: EVENT_FIELD_LABELS,
  fieldsOf: eventFields,
  toInternal(o) {
    normalizeEventTimes(o, 'Event', 'v1', true);
    return o;
  },
  validate: (o, _old, requestVersion) => validateEvent(o, requestVersion),
};

/** events.k8s.io/v1 <-> core/v1 field renames (pkg/apis/events/v1/conversion.go). */
const EVENTS_V1_RENAMES: [string, string][] = [
  ['regarding', 'involvedObject'],
  ['note', 'message'],
  ['reportingController', 'reportingComponent'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
];

function rename(o: JsonObject, pairs: [string, string][]): JsonObject {
  const out: JsonObject = {};
  const map = new Map(pairs);
  for (const [k, v] of Object.entries(o)) out[map.get(k) ?? k] = v;
  return out;
}

export const EVENTS_V1: ResourceType = {
  ...CORE_EVENTS,
  group: 'events.k8s.io',
  version: 'v1',
  shortNames: ['ev'],
  fieldLabels: [
    ...EVENT_FIELD_LABELS.filter((f) => !f.startsWith('involvedObject.') && f !== 'reportingComponent' && f !== 'source'),
    'regarding.kind',
    'regarding.namespace',
    'regarding.name',
    'regarding.uid',
    'regarding.apiVersion',
    'regarding.resourceVersion',
    'regarding.fieldPath',
    'reportingController',
    'deprecatedSource',
  ],
  fieldsOf(o) {
    const core = eventFields(o);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(core)) {
      if (k.startsWith('involvedObject.')) out[`regarding.${k.slice('involvedObject.'.length)}`] = v;
      else if (k === 'reportingComponent') out['reportingController'] = v;
      else if (k === 'source') out['deprecatedSource'] = v;
      else out[k] = v;
    }
    return out;
  },
  toExternal: (stored) => rename(clone(stored), EVENTS_V1_RENAMES.map(([a, b]) => [b, a])),
  toInternal(o) {
    normalizeEventTimes(o, 'Event', 'events.k8s.io/v1', false);
    return rename(o, EVENTS_V1_RENAMES);
  },
};

// ---------------- leases ----------------

export const LEASES: ResourceType = {
  ...base,
  group: 'coordination.k8s.io',
  version: 'v1',
  resource: 'leases',
  singular: 'lease',
  kind: 'Lease',
  listKind: 'LeaseList',
  namespaced: true,
  storeKey: 'coordination.k8s.io/leases',
  table: LEASE_CONVERTOR,
  mergeKeys: META_MERGE_KEYS,
  fieldLabels: ['metadata.name', 'metadata.namespace'],
  fieldsOf: metaFields,
  toInternal(o) {
    normalizeMicroTime(obj(o, 'spec'), 'acquireTime', 'Lease', 'v1');
    normalizeMicroTime(obj(o, 'spec'), 'renewTime', 'Lease', 'v1');
    return o;
  },
  validate(o) {
    const errs: FieldError[] = [];
    const spec = obj(o, 'spec') ?? {};
    const d = spec['leaseDurationSeconds'];
    if (d !== undefined && d !== null && (typeof d !== 'number' || d <= 0)) errs.push({ type: 'Invalid', field: 'spec.leaseDurationSeconds', value: d, detail: 'must be greater than 0' });
    const t = spec['leaseTransitions'];
    if (t !== undefined && t !== null && (typeof t !== 'number' || t < 0)) errs.push({ type: 'Invalid', field: 'spec.leaseTransitions', value: t, detail: 'must be greater than or equal to 0' });
    return errs;
  },
};

// ---------------- CustomResourceDefinitions ----------------

export const CRD_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: JSONSchemaProps;
  statusSubresource: boolean;
  /** additionalPrinterColumns, or the default Age column. */
  columns: PrinterColumn[];
}

export interface CrdInfo {
  name: string;
  group: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  versions: CrdVersion[];
}

export function crdInfo(o: JsonObject): CrdInfo {
  const spec = obj(o, 'spec') ?? {};
  const names = obj(spec, 'names') ?? {};
  const kind = str(names, 'kind') ?? '';
  return {
    name: str(o['metadata'], 'name') ?? '',
    group: str(spec, 'group') ?? '',
    plural: str(names, 'plural') ?? '',
    singular: str(names, 'singular') ?? kind.toLowerCase(),
    kind,
    listKind: str(names, 'listKind') ?? `${kind}List`,
    shortNames: (arr(names, 'shortNames') ?? []).filter((s): s is string => typeof s === 'string'),
    categories: (arr(names, 'categories') ?? []).filter((s): s is string => typeof s === 'string'),
    namespaced: str(spec, 'scope') !== 'Cluster',
    versions: (arr(spec, 'versions') ?? []).filter(isObject).map((v) => ({
      name: str(v, 'name') ?? '',
      served: v['served'] !== false,
      storage: v['storage'] === true,
      schema: obj(obj(v, 'schema'), 'openAPIV3Schema') as JSONSchemaProps | undefined,
      statusSubresource: obj(obj(v, 'subresources'), 'status') !== undefined,
      columns: printerColumnsOf(v),
    })),
  };
}

const COLUMN_TYPES = ['boolean', 'date', 'integer', 'number', 'string'];
const COLUMN_FORMATS = ['byte', 'date', 'date-time', 'double', 'float', 'int32', 'int64', 'password'];

/** ValidateCustomResourceColumnDefinition: name, type, format, priority, a simple JSONPath. */
function validatePrinterColumns(cols: Json[] | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  (cols ?? []).forEach((c, i) => {
    const p = `${field}[${i}]`;
    if (!str(c, 'name')) errs.push({ type: 'Required', field: `${p}.name` });
    const type = str(c, 'type') ?? '';
    if (!type) errs.push({ type: 'Required', field: `${p}.type`, detail: `must be one of ${COLUMN_TYPES.join(', ')}` });
    else if (!COLUMN_TYPES.includes(type)) errs.push({ type: 'NotSupported', field: `${p}.type`, value: type, detail: `supported values: ${COLUMN_TYPES.map((t) => JSON.stringify(t)).join(', ')}` });
    const format = str(c, 'format');
    if (format && !COLUMN_FORMATS.includes(format)) errs.push({ type: 'NotSupported', field: `${p}.format`, value: format, detail: `supported values: ${COLUMN_FORMATS.map((t) => JSON.stringify(t)).join(', ')}` });
    const priority = num(c, 'priority');
    if (priority !== undefined && priority < 0) errs.push({ type: 'Invalid', field: `${p}.priority`, value: priority, detail: 'must be greater than or equal to 0' });
    const path = str(c, 'jsonPath') ?? '';
    if (!path) errs.push({ type: 'Required', field: `${p}.jsonPath` });
    else if (!path.startsWith('.')) errs.push({ type: 'Invalid', field: `${p}.jsonPath`, value: path, detail: 'must be a simple json path starting with .' });
    else {
      try {
        compileJsonPath(path);
      } catch {
        errs.push({ type: 'Invalid', field: `${p}.jsonPath`, value: path, detail: 'must be a simple json path' });
      }
    }
  });
  return errs;
}

function validateCrd(o: JsonObject, old: JsonObject | undefined): FieldError[] {
  const errs: FieldError[] = [];
  const spec = obj(o, 'spec') ?? {};
  const names = obj(spec, 'names') ?? {};
  const group = str(spec, 'group') ?? '';
  const plural = str(names, 'plural') ?? '';
  const name = str(o['metadata'], 'name') ?? '';
  if (!group) errs.push({ type: 'Required', field: 'spec.group' });
  else if (!group.includes('.')) errs.push({ type: 'Invalid', field: 'spec.group', value: group, detail: 'should be a domain with at least one dot' });
  if (!plural) errs.push({ type: 'Required', field: 'spec.names.plural' });
  else errs.push(...dnsLabelErrors(plural, 'spec.names.plural'));
  if (!str(names, 'kind')) errs.push({ type: 'Required', field: 'spec.names.kind' });
  if (name !== `${plural}.${group}`) errs.push({ type: 'Invalid', field: 'metadata.name', value: name, detail: 'must be spec.names.plural+"."+spec.group' });
  const scope = str(spec, 'scope');
  if (scope !== 'Namespaced' && scope !== 'Cluster') errs.push({ type: 'NotSupported', field: 'spec.scope', value: scope ?? '', detail: 'supported values: "Cluster", "Namespaced"' });
  const versions = arr(spec, 'versions') ?? [];
  if (versions.length === 0) errs.push({ type: 'Required', field: 'spec.versions', detail: 'must have exactly one version marked as storage version' });
  else if (versions.filter((v) => isObject(v) && v['storage'] === true).length !== 1) {
    errs.push({ type: 'Invalid', field: 'spec.versions', value: versions.length, detail: 'must have exactly one version marked as storage version' });
  }
  const seen = new Set<string>();
  versions.forEach((v, i) => {
    const vn = str(v, 'name') ?? '';
    if (!vn) errs.push({ type: 'Required', field: `spec.versions[${i}].name` });
    else if (seen.has(vn)) errs.push({ type: 'Duplicate', field: `spec.versions[${i}].name`, value: vn });
    seen.add(vn);
    errs.push(...checkStructural(obj(obj(v, 'schema'), 'openAPIV3Schema') as JSONSchemaProps | undefined, `spec.versions[${i}].schema.openAPIV3Schema`));
    errs.push(...validatePrinterColumns(arr(v, 'additionalPrinterColumns'), `spec.versions[${i}].additionalPrinterColumns`));
  });
  if (old) {
    const oldSpec = obj(old, 'spec') ?? {};
    if (str(oldSpec, 'group') !== group) errs.push({ type: 'Invalid', field: 'spec.group', value: group, detail: 'field is immutable' });
    if (str(oldSpec, 'scope') !== scope) errs.push({ type: 'Invalid', field: 'spec.scope', value: scope ?? '', detail: 'field is immutable' });
  }
  return errs;
}

export const CRDS: ResourceType = {
  ...base,
  group: 'apiextensions.k8s.io',
  version: 'v1',
  resource: 'customresourcedefinitions',
  singular: 'customresourcedefinition',
  kind: 'CustomResourceDefinition',
  listKind: 'CustomResourceDefinitionList',
  namespaced: false,
  shortNames: ['crd', 'crds'],
  categories: ['api-extensions'],
  storeKey: 'apiextensions.k8s.io/customresourcedefinitions',
  subresources: ['status'],
  statusSubresource: true,
  hasGeneration: true,
  mergeKeys: META_MERGE_KEYS,
  fieldLabels: ['metadata.name'],
  fieldsOf: (o) => ({ 'metadata.name': str(o['metadata'], 'name') ?? '' }),
  toInternal(o) {
    const spec = obj(o, 'spec');
    const names = obj(spec, 'names');
    if (names) {
      const kind = str(names, 'kind');
      if (kind) {
        names['singular'] ??= kind.toLowerCase();
        names['listKind'] ??= `${kind}List`;
      }
    }
    if (spec) spec['conversion'] ??= { strategy: 'None' };
    return o;
  },
  prepareForCreate(o) {
    const meta = o['metadata'] as JsonObject;
    const fin = (arr(meta, 'finalizers') ?? []).slice();
    if (!fin.includes(CRD_CLEANUP_FINALIZER)) fin.push(CRD_CLEANUP_FINALIZER);
    meta['finalizers'] = fin;
    const info = crdInfo(o);
    const storage = info.versions.find((v) => v.storage)?.name;
    o['status'] = { acceptedNames: { kind: '', plural: '' }, storedVersions: storage ? [storage] : [] };
  },
  validate: (o, old) => validateCrd(o, old),
};

/** The served resource types of one CRD (one per served version). */
export function customResourceTypes(info: CrdInfo): ResourceType[] {
  return info.versions
    .filter((v) => v.served)
    .map((v): ResourceType => {
      const schema = v.schema;
      const metaSchema = schema?.properties?.['metadata'];
      return {
        ...base,
        group: info.group,
        version: v.name,
        resource: info.plural,
        singular: info.singular,
        kind: info.kind,
        listKind: info.listKind,
        namespaced: info.namespaced,
        shortNames: info.shortNames,
        categories: info.categories,
        storeKey: `${info.group}/${info.plural}`,
        table: customResourceConvertor(v.columns),
        ...(schema ? { openAPISchema: clone(schema) as JsonObject } : {}),
        subresources: v.statusSubresource ? ['status'] : [],
        statusSubresource: v.statusSubresource,
        custom: true,
        hasGeneration: true,
        fieldLabels: info.namespaced ? ['metadata.name', 'metadata.namespace'] : ['metadata.name'],
        fieldsOf: metaFields,
        admit(external) {
          const pruned: string[] = [];
          const out = prune(external, schema, '', true, pruned) as JsonObject;
          applyDefaults(out, schema);
          for (const k of Object.keys(external)) delete external[k];
          Object.assign(external, out);
          return { pruned };
        },
        prepareForCreate(o) {
          if (v.statusSubresource) delete o['status'];
        },
        validate(o) {
          const errs: FieldError[] = [];
          if (!schema) return errs;
          const meta = obj(o, 'metadata') ?? {};
          for (const f of ['name', 'generateName']) {
            const s = metaSchema?.properties?.[f];
            if (s && meta[f] !== undefined) validateSchema(meta[f], s, `metadata.${f}`, errs);
          }
          for (const r of schema.required ?? []) {
            if (['apiVersion', 'kind', 'metadata'].includes(r)) continue;
            if (o[r] === undefined) errs.push({ type: 'Required', field: r });
          }
          for (const [k, val] of Object.entries(o)) {
            if (k === 'metadata' || k === 'apiVersion' || k === 'kind') continue;
            validateSchema(val, schema.properties?.[k], k, errs);
          }
          return errs;
        },
      };
    });
}
