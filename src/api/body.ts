// Request bodies: size-limited, JSON or YAML (by Content-Type, else detected).
import type { IncomingMessage } from 'node:http';
import { parseDocument } from 'yaml';
import { MAX_ALIAS_COUNT } from '../spec/load.js';
import { ApiError, badRequest } from './status.js';

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

const tooLarge = (limit: number): ApiError =>
  new ApiError(413, 'RequestEntityTooLarge', `request body is too large (the limit is ${limit} bytes)`, undefined, { Connection: 'close' });

export async function readBody(req: IncomingMessage, limit = DEFAULT_BODY_LIMIT): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

/** Parses a JSON or YAML body into one value; YAML with the spec loader's alias limit. */
export function parseBody(text: string, contentType: string | undefined): unknown {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (text.trim() === '') throw badRequest('request body is empty');
  const isJson = type === 'application/json' || (!YAML_TYPES.includes(type) && /^\s*[{[]/.test(text));
  if (isJson) {
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      throw badRequest(`cannot parse the request body as JSON: ${(e as Error).message}`);
    }
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, stringKeys: true });
  const err = doc.errors[0];
  if (err) throw badRequest(`cannot parse the request body as YAML: ${err.message.split('\n')[0]}`);
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
  } catch (e) {
    throw badRequest(`cannot read the request body as YAML: ${(e as Error).message}`);
  }
}
