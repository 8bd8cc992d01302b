// The status page's static files (built by `npm run build` into dist/ui/):
// GET / is its HTML, /ui/<file> its script, styles and fonts. They hold no
// data, so they are served without the token; every figure the page shows
// comes from the API with the token (a missing or wrong one gets the page's
// login prompt, never data). Strict headers: same-origin only, no framing.
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RequestContext } from './context.js';
import { ApiError, methodNotAllowed } from './status.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

const HEADERS = {
  'Content-Security-Policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** Where the built page is: dist/ui beside the compiled API (dist/src/api), or dist/ui of the repo when run from source. */
export function defaultUiDir(): string[] {
  return [fileURLToPath(new URL('../../ui/', import.meta.url)), fileURLToPath(new URL('../../dist/ui/', import.meta.url))];
}

const cache = new Map<string, Buffer>();

async function load(dirs: readonly string[], file: string): Promise<Buffer | undefined> {
  for (const dir of dirs) {
    const path = join(dir, file);
    const hit = cache.get(path);
    if (hit) return hit;
    try {
      const data = await readFile(path);
      // The built files never change while the controller runs; index.html is small.
      cache.set(path, data);
      return data;
    } catch {
      // try the next place
    }
  }
  return undefined;
}

/** `file` is "index.html" or a name under /ui/ (one path element, checked by the router). */
export async function handleUiAsset(ctx: RequestContext, dirs: readonly string[], file: string): Promise<void> {
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD') throw methodNotAllowed(ctx.method, ['GET']);
  if (!/^[A-Za-z0-9._-]+$/.test(file) || file.startsWith('.')) throw new ApiError(404, 'NotFound', `no such file of the status page: ${file}`);
  const data = await load(dirs, file);
  if (!data) {
    if (file === 'index.html') throw new ApiError(503, 'ServiceUnavailable', 'the status page is not built: run `npm run build`');
    throw new ApiError(404, 'NotFound', `no such file of the status page: ${file}`);
  }
  ctx.res.writeHead(200, {
    'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
    'Content-Length': String(data.length),
    'Cache-Control': file === 'index.html' ? 'no-cache' : 'public, max-age=300',
    ...HEADERS,
  });
  ctx.res.end(ctx.method === 'HEAD' ? undefined : data);
}
