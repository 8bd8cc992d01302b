// Instances, InstancePools and InstanceClaims: list, get, watch, apply, delete.
import { isDeepStrictEqual } from 'node:util';
import { OwnershipConflict, type StoredObject } from '../controller/resource-store.js';
import { formatDuration, parseDuration } from '../spec/duration.js';
import { validateResource } from '../spec/load.js';
import { API_VERSION, KINDS, keyOf, type Kind, type ResourceKey } from '../spec/schema.js';
import { parseBody, readBody, DEFAULT_BODY_LIMIT } from './body.js';
import { isTrue, type ApiDeps, type RequestContext } from './context.js';
import type { Route } from './routes.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { ApiError, badRequest, methodNotAllowed, notFound, sendJson, successStatus } from './status.js';
import { openWatch } from './stream.js';
import { ApiServerRefusal } from '../sources/kubernetes/api-server-refusal.js';
import { CLAIM_SPEC_IMMUTABLE } from '../spec/crd-validations.js';

type CollectionRoute = Extract<Route, { type: 'collection' }>;
type ObjectRoute = Extract<Route, { type: 'object' }>;

/** A claim POSTed with ?wait= returns once it is settled, or when the wait runs out. */
const MAX_CLAIM_WAIT_MS = 10 * 60_000;
const SETTLED_CLAIM_PHASES = ['Bound', 'Failed', 'Expired', 'Released'];

export const CHANGE_HEADER = 'X-Berth-Change';

export async function handleCollection(ctx: RequestContext, deps: ApiDeps, route: CollectionRoute): Promise<void> {
  const allow = route.namespace === undefined ? ['GET'] : ['GET', 'POST'];
  if (ctx.method === 'GET') {
    if (isTrue(ctx.url.searchParams.get('watch'))) return watch(ctx, deps, route.kind, route.namespace);
    return list(ctx, deps, route.kind, route.namespace);
  }
  if (ctx.method === 'POST' && route.namespace !== undefined) return apply(ctx, deps, route.kind, route.namespace, undefined);
  throw methodNotAllowed(ctx.method, allow, route.namespace === undefined && ctx.method === 'POST' ? `POST needs a namespace: ${route.plural} are created under /namespaces/{ns}/${route.plural}` : undefined);
}

export async function handleObject(ctx: RequestContext, deps: ApiDeps, route: ObjectRoute): Promise<void> {
  const key: ResourceKey = { kind: route.kind, namespace: route.namespace, name: route.name };
  if (route.subresource === 'status') {
    if (ctx.method !== 'GET') throw methodNotAllowed(ctx.method, ['GET'], 'status is written by the controller; it cannot be set through the API');
    return sendJson(ctx.res, 200, getObject(deps, key, route.plural));
  }
  switch (ctx.method) {
    case 'GET':
      if (isTrue(ctx.url.searchParams.get('watch'))) return watch(ctx, deps, route.kind, route.namespace, route.name);
      return sendJson(ctx.res, 200, getObject(deps, key, route.plural));
    case 'PUT':
      return apply(ctx, deps, route.kind, route.namespace, route.name);
    case 'DELETE':
      return remove(ctx, deps, key, route.plural);
    default:
      throw methodNotAllowed(ctx.method, ['GET', 'PUT', 'DELETE']);
  }
}

function getObject(deps: ApiDeps, key: ResourceKey, plural: string): StoredObject {
  const entry = deps.store.get(key);
  if (!entry) throw notFound(plural, key.name);
  return entry.object;
}

const OBJECT_FIELDS = ['metadata.name', 'metadata.namespace'] as const;
const objectField = (o: StoredObject) => (field: string): string | undefined =>
  field === 'metadata.name' ? o.metadata.name : field === 'metadata.namespace' ? o.metadata.namespace : undefined;

function list(ctx: RequestContext, deps: ApiDeps, kind: Kind, namespace: string | undefined): void {
  const fields = parseFieldSelector(ctx.url.searchParams.get('fieldSelector'), OBJECT_FIELDS);
  const labels = parseLabelSelector(ctx.url.searchParams.get('labelSelector'));
  const items = deps.store
    .list(kind, namespace)
    .map((e) => e.object)
    .filter((o) => matchesFields(fields, objectField(o)) && matchesLabels(labels, o.metadata.labels));
  sendJson(ctx.res, 200, { apiVersion: API_VERSION, kind: `${kind}List`, metadata: { resourceVersion: deps.store.resourceVersion }, items });
}

/**
 * Without resourceVersion: ADDED for every current object, then live events.
 * With one: objects changed since then (as MODIFIED; deletions in between are
 * not kept), then live events. Listing and subscribing happen in one tick, so
 * nothing falls between them.
 */
async function watch(ctx: RequestContext, deps: ApiDeps, kind: Kind, namespace: string | undefined, name?: string): Promise<void> {
  const fields = parseFieldSelector(ctx.url.searchParams.get('fieldSelector'), OBJECT_FIELDS);
  const labels = parseLabelSelector(ctx.url.searchParams.get('labelSelector'));
  if (name !== undefined) fields.push({ field: 'metadata.name', op: '=', value: name });
  const rvParam = ctx.url.searchParams.get('resourceVersion');
  const since = rvParam && rvParam !== '0' ? Number(rvParam) : undefined;
  if (since !== undefined && !Number.isInteger(since)) throw badRequest(`invalid resourceVersion ${JSON.stringify(rvParam)}`);

  const wanted = (o: StoredObject): boolean =>
    o.kind === kind && (namespace === undefined || o.metadata.namespace === namespace) && matchesFields(fields, objectField(o)) && matchesLabels(labels, o.metadata.labels);
  const stream = openWatch(ctx);
  for (const { object } of deps.store.list(kind, namespace)) {
    if (!wanted(object)) continue;
    if (since === undefined) stream.send('ADDED', object);
    else if (Number(object.metadata.resourceVersion) > since) stream.send('MODIFIED', object);
  }
  const unsubscribe = deps.store.subscribe((e) => {
    if (wanted(e.object)) stream.send(e.type, e.object);
  });
  try {
    await stream.done;
  } finally {
    unsubscribe();
  }
}

/** A dry run would be written for real if the parameter were ignored, as other unknown ones are. */
function refuseDryRun(ctx: RequestContext): void {
  if (ctx.url.searchParams.has('dryRun')) throw badRequest('dryRun is not supported by this API, and nothing was written: `berth validate` checks specs without applying them');
}

async function apply(ctx: RequestContext, deps: ApiDeps, kind: Kind, namespace: string, name: string | undefined): Promise<void> {
  refuseDryRun(ctx);
  // Every parameter is checked before anything is written: a bad ?wait= must not leave a claim behind.
  const waitMs = kind === 'InstanceClaim' && ctx.url.searchParams.has('wait') ? claimWaitMs(ctx.url.searchParams.get('wait') ?? '') : undefined;
  const raw = parseBody(await readBody(ctx.req, deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT), ctx.req.headers['content-type']);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw badRequest('the request body must be one object (a mapping with apiVersion, kind, metadata and spec)');
  const body = { ...(raw as Record<string, unknown>) };
  const metaRaw = body['metadata'];
  if (metaRaw !== undefined && (typeof metaRaw !== 'object' || metaRaw === null || Array.isArray(metaRaw))) throw badRequest('metadata must be a mapping');
  const metadata = { ...((metaRaw as Record<string, unknown> | undefined) ?? {}) };
  if (body['kind'] !== undefined && body['kind'] !== kind) {
    throw badRequest(`the kind of the object (${String(body['kind'])}) does not match the URL (${KINDS[kind].plural} holds ${kind})`);
  }
  if (metadata['namespace'] === undefined) metadata['namespace'] = namespace;
  else if (metadata['namespace'] !== namespace) {
    throw badRequest(`the namespace of the object (${String(metadata['namespace'])}) does not match the namespace on the URL (${namespace})`);
  }
  if (name !== undefined) {
    if (metadata['name'] === undefined) metadata['name'] = name;
    else if (metadata['name'] !== name) throw badRequest(`the name of the object (${String(metadata['name'])}) does not match the name on the URL (${name})`);
  }
  body['metadata'] = metadata;

  const { resource, errors } = validateResource(body, '<request>', deps.policy ? { policy: deps.policy } : {});
  if (!resource) {
    const causes = errors.map((e) => ({ field: e.path, message: e.message, reason: 'FieldValueInvalid' }));
    const label = typeof metadata['name'] === 'string' ? `${kind} "${metadata['name']}"` : kind;
    throw new ApiError(422, 'Invalid', `${label} is invalid: ${causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join('; ')}`, {
      ...(typeof metadata['name'] === 'string' ? { name: metadata['name'] } : {}),
      group: 'berth.dev',
      kind: KINDS[kind].plural,
      causes,
    });
  }

  const key = keyOf(resource);
  const current = deps.store.get(key);
  const expectedVersion = resource.metadata.resourceVersion;
  if (expectedVersion !== undefined && expectedVersion !== '' && current && current.object.metadata.resourceVersion !== expectedVersion) {
    throw cannotFulfil(kind, key.name, 'the object has been modified; please apply your changes to the latest version and try again');
  }

  const expectedUid = resource.metadata.uid;
  if (expectedUid !== undefined && expectedUid !== '' && current && current.object.metadata.uid !== expectedUid) {
    throw cannotFulfil(kind, key.name, `the UID in the request (${expectedUid}) does not match the UID in record (${current.object.metadata.uid}); the object might have been deleted and then recreated`);
  }

  if (kind === 'InstanceClaim' && current && !isDeepStrictEqual(current.resource.spec, resource.spec)) {
    const causes = [{ field: 'spec', message: CLAIM_SPEC_IMMUTABLE, reason: 'FieldValueForbidden' }];
    throw new ApiError(422, 'Invalid', `InstanceClaim "${key.name}" is invalid: spec: ${CLAIM_SPEC_IMMUTABLE}`, { name: key.name, group: 'berth.dev', kind: KINDS[kind].plural, causes });
  }

  // The apiserver's answer is the stored object in the same shape (metadata, spec, status).
  let result: { object: StoredObject; change: string };
  try {
    if (deps.writer) result = (await deps.writer.apply(body, key)) as unknown as { object: StoredObject; change: string };
    else {
      const applied = await deps.apiSource.apply(resource);
      result = { object: applied.entry.object, change: applied.change };
    }
  } catch (e) {
    throw conflictFrom(e, key) ?? refusalFrom(e) ?? e;
  }
  let object = result.object;
  if (waitMs !== undefined) object = await waitForClaim(ctx, deps, key, object, waitMs);
  sendJson(ctx.res, result.change === 'created' ? 201 : 200, object, { [CHANGE_HEADER]: result.change });
}

async function remove(ctx: RequestContext, deps: ApiDeps, key: ResourceKey, plural: string): Promise<void> {
  refuseDryRun(ctx);
  const entry = deps.store.get(key);
  let removed: boolean;
  try {
    removed = deps.writer ? await deps.writer.delete(key) : await deps.apiSource.delete(key);
  } catch (e) {
    throw conflictFrom(e, key) ?? refusalFrom(e) ?? e;
  }
  if (!removed || !entry) throw notFound(plural, key.name);
  sendJson(ctx.res, 200, successStatus({ name: key.name, group: 'berth.dev', kind: plural, uid: entry.object.metadata.uid }));
}

/** The apiserver's answer to a write under --source kubernetes, passed on with its code. */
function refusalFrom(e: unknown): ApiError | undefined {
  if (!(e instanceof ApiServerRefusal)) return undefined;
  const reason = e.code === 409 ? 'Conflict' : e.code === 422 ? 'Invalid' : e.code === 403 ? 'Forbidden' : e.code === 404 ? 'NotFound' : 'ServiceUnavailable';
  return new ApiError(e.code >= 400 && e.code < 600 ? e.code : 503, reason, e.message);
}

/** The apiserver's 409 for a write whose precondition (resourceVersion, uid) does not hold. */
function cannotFulfil(kind: Kind, name: string, why: string): ApiError {
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${KINDS[kind].plural}.berth.dev "${name}": ${why}`, { name, group: 'berth.dev', kind: KINDS[kind].plural });
}

function conflictFrom(e: unknown, key: ResourceKey): ApiError | undefined {
  if (!(e instanceof OwnershipConflict)) return undefined;
  return new ApiError(409, 'Conflict', e.message, { name: key.name, group: 'berth.dev', kind: KINDS[key.kind].plural });
}

function claimWaitMs(text: string): number {
  try {
    return Math.min(parseDuration(text), MAX_CLAIM_WAIT_MS);
  } catch (e) {
    throw badRequest(`wait: ${(e as Error).message} (at most ${formatDuration(MAX_CLAIM_WAIT_MS)})`);
  }
}

async function waitForClaim(ctx: RequestContext, deps: ApiDeps, key: ResourceKey, initial: StoredObject, ms: number): Promise<StoredObject> {
  const settled = (o: StoredObject): boolean => SETTLED_CLAIM_PHASES.includes(String((o.status as { phase?: unknown } | undefined)?.phase));
  // The claim may have been bound while its creation was being persisted: start from the store, not from the answer of the write.
  const stored = deps.store.get(key)?.object;
  const now = stored && stored.metadata.uid === initial.metadata.uid ? stored : initial;
  if (settled(now) || ms === 0 || ctx.signal.aborted) return now;
  return new Promise<StoredObject>((resolve) => {
    let latest = now;
    const finish = (): void => {
      clearTimeout(timer);
      unsubscribe();
      ctx.signal.removeEventListener('abort', finish);
      resolve(latest);
    };
    const timer = setTimeout(finish, ms);
    const unsubscribe = deps.store.subscribe((e) => {
      if (e.key.kind !== key.kind || e.key.namespace !== key.namespace || e.key.name !== key.name) return;
      latest = e.object;
      if (e.type === 'DELETED' || settled(e.object)) finish();
    });
    ctx.signal.addEventListener('abort', finish, { once: true });
  });
}
