// Who may talk to a loopback API without a token: programs on this machine,
// not web pages. A page can send requests to 127.0.0.1 (and, through DNS
// rebinding, read the answers under its own host name), so:
// - the Host header must name the address the API listens on (or localhost,
//   127.0.0.1, ::1) with its port: a rebound name is refused;
// - a write (anything but GET/HEAD/OPTIONS) that carries an Origin, or a
//   Sec-Fetch-Site, from another origin is refused.
// With a bearer token the Host check is off (the API may be reached by any
// name; a page cannot supply the token), the Origin check stays.
import type { IncomingMessage } from 'node:http';
import { ApiError } from './status.js';

export interface ListenAddress {
  host: string;
  port: number;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

/** "[::1]:7070" -> {host: "::1", port: 7070}; a missing port is the scheme's default (80). */
function splitHost(value: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(value.trim());
  if (!m) return undefined;
  return { host: (m[1] ?? m[2] ?? '').toLowerCase().replace(/\.$/, ''), port: m[3] === undefined ? 80 : Number(m[3]) };
}

export function hostAllowed(hostHeader: string | undefined, listen: ListenAddress): boolean {
  if (hostHeader === undefined) return false;
  const h = splitHost(hostHeader);
  if (!h || h.port !== listen.port) return false;
  const own = listen.host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  // *.localhost always resolves to loopback (RFC 6761; browsers hard-code it), so no page can rebind it.
  return h.host === own || LOOPBACK_NAMES.includes(h.host) || h.host.endsWith('.localhost');
}

export function checkRequestOrigin(req: IncomingMessage, method: string, listen: ListenAddress | undefined, tokenRequired: boolean): void {
  if (listen && !tokenRequired && !hostAllowed(req.headers.host, listen)) {
    throw new ApiError(
      403,
      'Forbidden',
      `Host ${JSON.stringify(String(req.headers.host ?? '').slice(0, 100))} is not this API's address: use ${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port} (or localhost:${listen.port}); other names are refused to stop DNS rebinding`,
    );
  }
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return;
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') {
    throw new ApiError(403, 'Forbidden', `cross-site ${method} refused (Sec-Fetch-Site: ${site.slice(0, 40)}): writes are accepted from programs on this machine, not from web pages`);
  }
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let sameOrigin = false;
  try {
    const u = new URL(origin);
    const port = u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port);
    const host = req.headers.host === undefined ? undefined : splitHost(req.headers.host);
    sameOrigin = (u.protocol === 'http:' || u.protocol === 'https:') && host !== undefined && u.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase() === host.host && port === host.port;
  } catch {
    sameOrigin = false;
  }
  if (!sameOrigin) {
    throw new ApiError(403, 'Forbidden', `cross-origin ${method} refused (Origin: ${origin.slice(0, 100)}): writes are accepted from programs on this machine, not from web pages`);
  }
}
