// Events (the recorder's bounded buffer) as Kubernetes v1 Events: list and watch.
import type { BerthEvent } from '../controller/event-recorder.js';
import { API_VERSION } from '../spec/schema.js';
import { isTrue, type ApiDeps, type RequestContext } from './context.js';
import { matchesFields, parseFieldSelector } from './selectors.js';
import { badRequest, methodNotAllowed, sendJson } from './status.js';
import { openWatch } from './stream.js';

export interface ApiEvent {
  apiVersion: 'v1';
  kind: 'Event';
  metadata: { name: string; namespace: string; resourceVersion: string };
  involvedObject: { apiVersion?: string; kind: string; namespace: string; name: string };
  type: BerthEvent['type'];
  reason: string;
  message: string;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  source: { component: 'berth' };
}

export function toApiEvent(e: BerthEvent): ApiEvent {
  const o = e.involvedObject;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${o.name}.${e.seq.toString(16)}`, namespace: o.namespace, resourceVersion: String(e.seq) },
    involvedObject: { ...(o.kind === 'Controller' ? {} : { apiVersion: API_VERSION }), kind: o.kind, namespace: o.namespace, name: o.name },
    type: e.type,
    reason: e.reason,
    message: e.message,
    count: e.count,
    firstTimestamp: e.firstTimestamp,
    lastTimestamp: e.lastTimestamp,
    source: { component: 'berth' },
  };
}

const EVENT_FIELDS = ['involvedObject.name', 'involvedObject.kind', 'involvedObject.namespace', 'type', 'reason'] as const;

export async function handleEvents(ctx: RequestContext, deps: ApiDeps, namespace: string | undefined): Promise<void> {
  if (ctx.method !== 'GET') throw methodNotAllowed(ctx.method, ['GET']);
  const fields = parseFieldSelector(ctx.url.searchParams.get('fieldSelector'), EVENT_FIELDS);
  const wanted = (e: BerthEvent): boolean =>
    (namespace === undefined || e.involvedObject.namespace === namespace) &&
    matchesFields(fields, (f) =>
      f === 'type' ? e.type : f === 'reason' ? e.reason : e.involvedObject[f.slice('involvedObject.'.length) as 'name' | 'kind' | 'namespace'],
    );

  if (!isTrue(ctx.url.searchParams.get('watch'))) {
    const items = deps.recorder.list().filter(wanted).map(toApiEvent);
    const resourceVersion = items.reduce((max, e) => Math.max(max, Number(e.metadata.resourceVersion)), 0);
    return sendJson(ctx.res, 200, { apiVersion: 'v1', kind: 'EventList', metadata: { resourceVersion: String(resourceVersion) }, items });
  }

  // The recorder's seq is the resourceVersion: a watch can resume from the last one it saw.
  const rvParam = ctx.url.searchParams.get('resourceVersion');
  const since = rvParam && rvParam !== '0' ? Number(rvParam) : 0;
  if (!Number.isInteger(since)) throw badRequest(`invalid resourceVersion ${JSON.stringify(rvParam)}`);
  const stream = openWatch(ctx);
  const send = (e: BerthEvent): void => stream.send(e.count > 1 ? 'MODIFIED' : 'ADDED', toApiEvent(e));
  for (const e of deps.recorder.list()) if (e.seq > since && wanted(e)) send(e);
  const unsubscribe = deps.recorder.subscribe((e) => {
    if (wanted(e)) send(e);
  });
  try {
    await stream.done;
  } finally {
    unsubscribe();
  }
}
