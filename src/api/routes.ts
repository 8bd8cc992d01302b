// URL paths of the API, Kubernetes-shaped:
//   /apis/berth.dev/v1alpha1/namespaces/{ns}/{plural}[/{name}[/{subresource}]]
//   /apis/berth.dev/v1alpha1/{plural}                 (all namespaces)
//   /apis/berth.dev/v1alpha1[/namespaces/{ns}]/events
import { GROUP, KIND_NAMES, KINDS, VERSION, type Kind } from '../spec/schema.js';
import { badRequest } from './status.js';

export type Subresource = 'status' | 'exec' | 'log' | 'archive';

export type Route =
  | { type: 'healthz' }
  | { type: 'readyz' }
  | { type: 'metrics' }
  | { type: 'discovery' }
  | { type: 'collection'; kind: Kind; plural: string; namespace?: string }
  | { type: 'object'; kind: Kind; plural: string; namespace: string; name: string; subresource?: Subresource }
  | { type: 'events'; namespace?: string }
  | { type: 'ui-asset'; file: string }
  | { type: 'ui-overview' }
  | { type: 'unknown' };

export const API_PREFIX = `/apis/${GROUP}/${VERSION}`;

const kindOfPlural = (plural: string): Kind | undefined => KIND_NAMES.find((k) => KINDS[k].plural === plural);

const SUBRESOURCES: Record<Subresource, Kind[]> = {
  status: ['Instance', 'InstancePool', 'InstanceClaim'],
  exec: ['Instance'],
  log: ['Instance'],
  archive: ['Instance'],
};

export function matchRoute(pathname: string): Route {
  if (pathname === '/healthz' || pathname === '/livez') return { type: 'healthz' };
  if (pathname === '/readyz') return { type: 'readyz' };
  if (pathname === '/metrics') return { type: 'metrics' };
  const ui = matchUiRoute(pathname);
  if (ui) return ui;
  const trimmed = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
  if (trimmed === API_PREFIX) return { type: 'discovery' };
  if (!trimmed.startsWith(API_PREFIX + '/')) return { type: 'unknown' };
  let parts: string[];
  try {
    parts = trimmed.slice(API_PREFIX.length + 1).split('/').map(decodeURIComponent);
  } catch {
    throw badRequest(`malformed path ${JSON.stringify(pathname)}`);
  }
  if (parts.some((p) => p === '')) return { type: 'unknown' };

  // Cluster-wide: /{plural} or /events
  if (parts.length === 1) {
    const [plural] = parts as [string];
    if (plural === 'events') return { type: 'events' };
    const kind = kindOfPlural(plural);
    return kind ? { type: 'collection', kind, plural } : { type: 'unknown' };
  }
  if (parts[0] !== 'namespaces' || parts.length < 3 || parts.length > 5) return { type: 'unknown' };
  const [, namespace, plural, name, sub] = parts as [string, string, string, string | undefined, string | undefined];
  if (plural === 'events') return parts.length === 3 ? { type: 'events', namespace } : { type: 'unknown' };
  const kind = kindOfPlural(plural);
  if (!kind) return { type: 'unknown' };
  if (name === undefined) return { type: 'collection', kind, plural, namespace };
  if (sub === undefined) return { type: 'object', kind, plural, namespace, name };
  if (!(sub in SUBRESOURCES) || !SUBRESOURCES[sub as Subresource].includes(kind)) return { type: 'unknown' };
  return { type: 'object', kind, plural, namespace, name, subresource: sub as Subresource };
}

/** The status page: / and /ui/<file> (static, no data), /ui/overview (data: needs the token). */
function matchUiRoute(pathname: string): Route | undefined {
  if (pathname === '/' || pathname === '/ui' || pathname === '/ui/') return { type: 'ui-asset', file: 'index.html' };
  if (pathname === '/ui/overview') return { type: 'ui-overview' };
  const m = /^\/ui\/([^/]+)$/.exec(pathname);
  return m ? { type: 'ui-asset', file: m[1]! } : undefined;
}

/** Label value for metrics: bounded, never the raw path. */
export function routeResource(route: Route): string {
  switch (route.type) {
    case 'collection':
      return route.plural;
    case 'object':
      return route.subresource ? `${route.plural}/${route.subresource}` : route.plural;
    case 'events':
      return 'events';
    case 'unknown':
      return '';
    case 'ui-asset':
      return 'ui';
    default:
      return route.type;
  }
}
