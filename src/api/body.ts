// Request bodies: size-limited, JSON or YAML only (by Content-Type; anything
// else is 415, so a browser's "simple" cross-site POST with text/plain or a
// form type never reaches a handler), parsed with the spec files' limits
// (size, nesting depth, alias expansion, unique keys).
import type { IncomingMessage } from 'node:http';
import { MAX_NESTING_DEPTH, readYamlDocuments } from '../spec/load.js';
import { decodeUtf8 } from '../spec/utf8.js';
import { ApiError, badRequest } from './status.js';
import { duplicateJsonKey } from './json-duplicate-keys.js';

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** How much of a refused body is read and dropped, and for how long, before the connection is cut. */
const DISCARD_BYTES = 16 * 1024 * 1024;
const DISCARD_MS = 5_000;

const tooLarge = (limit: number): ApiError => new ApiError(413, 'RequestEntityTooLarge', `request body is too large (the limit is ${limit} bytes)`);

/**
 * The rest of a refused body is read and dropped, so that a client still
 * sending it reads the 413: closing a socket with unread data sends a reset,
 * and the client's stack may then drop the answer it had not read yet (a
 * fuzz test saw EPIPE and no answer). Bounded: past DISCARD_BYTES or
 * DISCARD_MS the connection is cut.
 */
function discardRest(req: IncomingMessage): void {
  let dropped = 0;
  const cut = setTimeout(() => req.socket.destroy(), DISCARD_MS);
  cut.unref();
  const stop = (): void => clearTimeout(cut);
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > DISCARD_BYTES) req.socket.destroy();
  });
  req.once('end', stop);
  req.once('close', stop);
  req.resume();
}

export async function readBody(req: IncomingMessage, limit = DEFAULT_BODY_LIMIT): Promise<string> {
  // Checked before reading a byte: an unsupported type is refused without parsing anything.
  bodyFormat(req.headers['content-type']);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    discardRest(req);
    throw tooLarge(limit);
  }
  const decoded = decodeUtf8(await collect(req, limit));
  if (typeof decoded !== 'string') throw badRequest(`request body line ${decoded.line}, column ${decoded.column}: not valid UTF-8 (byte 0x${decoded.byte.toString(16).padStart(2, '0')})`);
  return decoded;
}

/**
 * The body's bytes, from 'data' and 'end' (an async iterator over the request
 * took a few promise turns per chunk, ~0.1 ms of every claim).
 */
function collect(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      cleanup();
      discardRest(req);
      reject(tooLarge(limit));
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(e);
    };
    // Closed before the body ended (the client went away): nothing to answer.
    const onClose = (): void => {
      if (req.complete) return;
      cleanup();
      reject(new Error('the request was closed before its body ended'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

const JSON_TYPES = new Set(['application/json']);
const YAML_TYPES = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml', 'application/apply-patch+yaml']);

export type BodyFormat = 'json' | 'yaml';

/** JSON or YAML from the Content-Type (`application/*+json` counts as JSON); anything else, or none, is 415. */
export function bodyFormat(contentType: string | undefined): BodyFormat {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (JSON_TYPES.has(type) || /^application\/[a-z0-9.+-]+\+json$/.test(type)) return 'json';
  if (YAML_TYPES.has(type)) return 'yaml';
  throw new ApiError(
    415,
    'UnsupportedMediaType',
    `${type === '' ? 'a request body needs a Content-Type' : `Content-Type ${JSON.stringify(type.slice(0, 100))} is not supported`}: send application/json or application/yaml`,
  );
}

/** Parses a JSON or YAML body into one value. Errors name the line (and column) of the body. */
export function parseBody(text: string, contentType: string | undefined): unknown {
  const format = bodyFormat(contentType);
  if (text.trim() === '') throw badRequest('request body is empty');
  if (format === 'json') {
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch (e) {
      throw badRequest(`cannot parse the request body as JSON: ${(e as Error).message}`);
    }
    const deep = tooDeepAt(value);
    if (deep !== undefined) throw badRequest(`request body: structure nested too deeply at ${deep} (more than ${MAX_NESTING_DEPTH} levels)`);
    const dup = duplicateJsonKey(text);
    if (dup) throw badRequest(`request body:${dup.line}: duplicate key ${JSON.stringify(dup.key.slice(0, 100))}${dup.path ? ` in ${dup.path}` : ''} (JSON.parse would keep the last one silently)`);
    return value;
  }
  const { documents, errors } = readYamlDocuments(text, 'request body');
  const first = errors[0];
  if (first) throw badRequest(`cannot parse the request body as YAML: ${first.format()}`);
  if (documents.length === 0) throw badRequest('request body holds no YAML document');
  if (documents.length > 1) throw badRequest(`request body holds ${documents.length} YAML documents; send one (the second starts on line ${documents[1]!.line})`);
  return documents[0]!.value;
}

/** The path of the first value deeper than MAX_NESTING_DEPTH (walked without recursion), or undefined. */
function tooDeepAt(root: unknown): string | undefined {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value: root, depth: 0, path: '' }];
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_NESTING_DEPTH) return path || '(the top)';
    if (Array.isArray(value)) value.forEach((v, i) => stack.push({ value: v, depth: depth + 1, path: `${path}[${i}]` }));
    else for (const [k, v] of Object.entries(value)) stack.push({ value: v, depth: depth + 1, path: /^[A-Za-z_$][\w$]*$/.test(k) ? (path ? `${path}.${k}` : k) : `${path}[${JSON.stringify(k.slice(0, 40))}]` });
  }
  return undefined;
}
