// Exec in an Instance's container (timeout kills the process, output capped)
// and its logs, streamed.
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { isRuntimeError } from '../runtime/errors.js';
import { id12 } from '../reconcile/container.js';
import type { ExecResult } from '../runtime/types.js';
import { formatPath } from '../spec/errors.js';
import type { ResourceKey } from '../spec/schema.js';
import { DEFAULT_BODY_LIMIT, parseBody, readBody } from './body.js';
import { isTrue, type ApiDeps, type RequestContext } from './context.js';
import { ApiError, badRequest, methodNotAllowed, notFound, sendJson } from './status.js';

export const DEFAULT_EXEC_TIMEOUT_SECONDS = 30;
export const MAX_EXEC_TIMEOUT_SECONDS = 600;
export const DEFAULT_EXEC_CAP_BYTES = 1024 * 1024;
/** The runtime kills the process at the timeout; past this much more, the request gives up on it. */
const EXEC_DEADLINE_GRACE_MS = 10_000;

export const ExecRequestBodySchema = z.strictObject({
  command: z.array(z.string()).min(1, { error: 'must name a command' }),
  stdin: z.string().optional(),
  timeoutSeconds: z.number().positive().max(MAX_EXEC_TIMEOUT_SECONDS).optional(),
});
export type ExecRequestBody = z.infer<typeof ExecRequestBodySchema>;

/**
 * The container behind an Instance or a pool member (`<pool>-<member>`).
 * `changes`: the request runs code or writes files in it (exec, copy in);
 * a member must then be claimed: a warm member is handed to the next claim
 * as it is, and nothing but its claimant may have touched it.
 */
export function containerOf(deps: ApiDeps, key: ResourceKey, changes: boolean): string {
  const entry = deps.store.get(key);
  if (!entry) {
    const member = deps.resolveInstance?.(key.namespace, key.name);
    if (!member) throw notFound('instances', key.name);
    if (changes && member.claim === undefined) {
      throw new ApiError(409, 'Conflict', `"${key.name}" is a member of pool "${member.pool}" that no claim holds: claim one (an InstanceClaim of the pool; its status.instance names the member) and exec or copy into that one`, {
        name: key.name,
        group: 'berth.dev',
        kind: 'instances',
      });
    }
    return member.containerId;
  }
  const id = (entry.object.status as { containerId?: unknown } | undefined)?.containerId;
  if (typeof id !== 'string' || id === '') {
    throw new ApiError(409, 'Conflict', `instance has no running container: instance "${key.name}" in namespace "${key.namespace}" has no status.containerId yet`, {
      name: key.name,
      group: 'berth.dev',
      kind: 'instances',
    });
  }
  return id;
}

export function runtimeFailure(e: unknown, key: ResourceKey, containerId: string): ApiError | undefined {
  if (!isRuntimeError(e)) return undefined;
  const what = `instance "${key.name}" (container ${id12(containerId)})`;
  switch (e.code) {
    case 'NotFound':
      return new ApiError(409, 'Conflict', `the container of ${what} no longer exists: ${e.message}`);
    case 'Conflict':
      return new ApiError(409, 'Conflict', `${what}: ${e.message}`);
    case 'Unavailable':
      return new ApiError(503, 'ServiceUnavailable', `the container runtime is unavailable: ${e.message}`);
    case 'Timeout':
      return new ApiError(504, 'Timeout', `${what}: ${e.message}`);
    case 'Invalid':
      return new ApiError(400, 'BadRequest', `${what}: ${e.message}`);
    default:
      return new ApiError(500, 'InternalError', `${what}: ${e.message}`);
  }
}

/** Keeps at most `cap` bytes of a string (on a character boundary). */
function capText(s: string, cap: number): { text: string; cut: boolean } {
  if (Buffer.byteLength(s) <= cap) return { text: s, cut: false };
  const text = Buffer.from(s).subarray(0, cap).toString('utf8').replace(/\uFFFD$/, '');
  return { text, cut: true };
}

export async function handleExec(ctx: RequestContext, deps: ApiDeps, key: ResourceKey): Promise<void> {
  if (ctx.method !== 'POST') throw methodNotAllowed(ctx.method, ['POST']);
  const raw = parseBody(await readBody(ctx.req, deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT), ctx.req.headers['content-type']);
  const parsed = ExecRequestBodySchema.safeParse(raw);
  if (!parsed.success) {
    const causes = parsed.error.issues.flatMap((i) =>
      i.code === 'unrecognized_keys' ? i.keys.map((k) => ({ field: formatPath([...i.path, k]), message: 'unknown field' })) : [{ field: formatPath(i.path), message: i.message }],
    );
    throw new ApiError(422, 'Invalid', `exec request is invalid: ${causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join('; ')}`, { causes });
  }
  const containerId = containerOf(deps, key, true);
  const timeoutMs = (parsed.data.timeoutSeconds ?? DEFAULT_EXEC_TIMEOUT_SECONDS) * 1000;
  const cap = deps.execCapBytes ?? DEFAULT_EXEC_CAP_BYTES;

  // Cancelled when the client leaves, the server closes, or the runtime overruns its own timeout.
  const abort = new AbortController();
  const onAbort = (): void => abort.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const deadline = setTimeout(() => abort.abort(new Error('exec deadline passed')), timeoutMs + EXEC_DEADLINE_GRACE_MS);
  let result: ExecResult;
  try {
    result = await deps.runtime.exec(
      containerId,
      { command: parsed.data.command, ...(parsed.data.stdin !== undefined ? { stdin: parsed.data.stdin } : {}), timeoutMs, outputCapBytes: cap },
      abort.signal,
    );
  } catch (e) {
    if (ctx.signal.aborted) return;
    if (abort.signal.aborted) throw new ApiError(504, 'Timeout', `exec in instance "${key.name}" did not finish within ${timeoutMs / 1000}s`);
    throw runtimeFailure(e, key, containerId) ?? e;
  } finally {
    clearTimeout(deadline);
    ctx.signal.removeEventListener('abort', onAbort);
  }
  // The runtime caps output; this keeps the promise even if one does not.
  const stdout = capText(result.stdout, cap);
  const stderr = capText(result.stderr, cap);
  sendJson(ctx.res, 200, {
    exitCode: result.exitCode,
    stdout: stdout.text,
    stderr: stderr.text,
    durationMs: result.durationMs,
    timedOut: result.timedOut,
    truncated: result.truncated || stdout.cut || stderr.cut,
  });
}

export async function handleLog(ctx: RequestContext, deps: ApiDeps, key: ResourceKey): Promise<void> {
  if (ctx.method !== 'GET') throw methodNotAllowed(ctx.method, ['GET']);
  const tailParam = ctx.url.searchParams.get('tailLines');
  const tail = tailParam === null ? undefined : Number(tailParam);
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw badRequest(`tailLines must be a non-negative integer, got ${JSON.stringify(tailParam)}`);
  const follow = isTrue(ctx.url.searchParams.get('follow'));
  const containerId = containerOf(deps, key, false);

  let logs: NodeJS.ReadableStream;
  try {
    logs = await deps.runtime.logs(containerId, { ...(tail !== undefined ? { tail } : {}), follow }, ctx.signal);
  } catch (e) {
    if (ctx.signal.aborted) return;
    throw runtimeFailure(e, key, containerId) ?? e;
  }
  ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, no-store', 'X-Content-Type-Options': 'nosniff' });
  ctx.res.flushHeaders();
  ctx.markStreaming();
  try {
    await pipeline(logs, ctx.res, { signal: ctx.signal });
  } catch (e) {
    if (!ctx.signal.aborted) deps.logger?.warn({ err: e, instance: `${key.namespace}/${key.name}` }, 'log stream failed');
    ctx.res.destroy();
  }
}
