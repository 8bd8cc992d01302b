// Where the API may listen: loopback freely; any other address only with a
// bearer token (DESIGN.md, Safety).
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';

/**
 * Names under .localhost are loopback (RFC 6761) though the system resolver
 * often does not know them: the address to bind or connect to for a host.
 */
export function loopbackAddressFor(host: string): string {
  const h = host.trim().toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost') ? '127.0.0.1' : host;
}

/** A dns.lookup for http.request that answers *.localhost with 127.0.0.1 and asks the system for the rest. */
export function localhostAwareLookup(
  hostname: string,
  options: LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  if (loopbackAddressFor(hostname) === '127.0.0.1' && hostname.toLowerCase() !== 'localhost') {
    if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
    else callback(null, '127.0.0.1', 4);
    return;
  }
  dnsLookup(hostname, options, callback as (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family: number) => void);
}

export function isLoopbackHost(host: string): boolean {
  const h = host.trim().replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h) || /^(0{1,4}:){7}0{0,3}1$/.test(h);
  return false;
}

/** Throws a message that says what to do when a non-loopback address has no token file. */
export function assertListenAllowed(host: string, tokenFile?: string): void {
  if (isLoopbackHost(host) || (tokenFile !== undefined && tokenFile !== '')) return;
  const shown = host === '' ? '(all interfaces)' : host;
  throw new Error(
    `refusing to listen on ${shown} without authentication: any other address than loopback needs a bearer token. ` +
      `Put a random token in a file (e.g. \`openssl rand -hex 32 > token && chmod 600 token\`) and pass --token-file token, ` +
      `or listen on 127.0.0.1`,
  );
}

/** Reads a bearer token file: one line, whitespace trimmed, not empty. */
export async function readTokenFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`cannot read token file ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`, { cause: e });
  }
  const token = text.trim();
  if (token === '') throw new Error(`token file ${path} is empty`);
  if (/\s/.test(token)) throw new Error(`token file ${path} must hold one token without spaces or line breaks`);
  return token;
}
