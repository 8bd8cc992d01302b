// exec through the Kubernetes exec API (client-node's Exec, a WebSocket with
// the v5/v4 channel protocol): stdout and stderr separated, optional stdin,
// an output cap per stream, the exit code from the status channel, and a
// timeout that KILLS the process.
//
// The exec API has no kill, and closing the stream does not end the process
// (the kubelet lets it run). So, as the Docker runtime does, every exec
// carries a unique marker in its environment, BERTH_EXEC_ID=<uuid>, which its
// children inherit. The API cannot set an exec's environment, so the command
// is run as `env BERTH_EXEC_ID=<uuid> <command...>` (env execs the command:
// its argv, as ps shows it, is the user's). On timeout berth runs a second
// exec, `sh -c <script> BERTH_EXEC_ID <uuid>`, that SIGKILLs every process
// whose /proc/<pid>/environ holds the marker (the whole tree; it needs sh, tr
// and grep in the image), then waits for the first exec's status (137).
//
// An image without `env` (distroless) fails the wrapped exec before the
// command ran ("exec: \"env\": executable file not found"): berth then runs
// the command as given and remembers that Pod. Such an exec cannot be killed
// on timeout: berth closes the stream, reports timedOut with exitCode -1 and
// says so in stderr (the process may still run).
//
// stdin needs the v5.channel.k8s.io protocol (Kubernetes 1.30+) to be closed
// after it was sent; on v4 client-node closes the whole connection instead.
//
// Errors before the WebSocket opens reach client-node only as "Unexpected
// server response: <code>" (the Status body is lost): a 400 is explained by
// one GET of the Pod (not running yet, or finished: Conflict, as Docker
// answers an exec into a stopped container).
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { Exec, type KubeConfig, type V1Status } from '@kubernetes/client-node';
import { RuntimeError } from '../errors.js';
import type { ExecRequest, ExecResult } from '../types.js';
import { CappedSink, DEFAULT_OUTPUT_CAP_BYTES, EXEC_MARKER_ENV } from '../docker/exec.js';
import { KILL_SCRIPT } from '../exec-kill-script.js';
import { abortError, codeForStatus, toRuntimeError, type KubeTimeouts } from './call.js';
import { CONTAINER_NAME } from './pod-spec.js';

export { EXEC_MARKER_ENV };

/** How long berth waits for a killed exec to report its end. */
const KILL_CONFIRM_MS = 2_000;

export { KILL_SCRIPT };

/** The command as sent: behind `env MARKER` unless its first word would be read by env itself (an option or an assignment). */
export function wrapCommand(command: string[], marker: string): string[] | undefined {
  const first = command[0];
  if (first === undefined || first.startsWith('-') || first.includes('=')) return undefined;
  return ['env', `${EXEC_MARKER_ENV}=${marker}`, ...command];
}

/** The exit code in an exec's status: Success 0, NonZeroExitCode its ExitCode cause; undefined for other failures. */
export function exitCodeOf(status: V1Status | undefined): number | undefined {
  if (!status) return undefined;
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  if (cause?.message !== undefined && /^-?\d+$/.test(cause.message)) return Number(cause.message);
  return undefined;
}

/** A failure that is not the command's exit (it could not start): 127 when not found, 126 when it could not run. */
export function failureExitCode(message: string): number {
  return /not found|no such file/i.test(message) ? 127 : 126;
}

const ENV_MISSING = /exec: "env"|"env": executable file not found|`env` not found|exec: env: not found/i;

/** Did the wrapped exec fail because the image has no env (so the command never ran)? */
export function envMissing(exitCode: number, text: string): boolean {
  return (exitCode === 126 || exitCode === 127 || exitCode === -1) && ENV_MISSING.test(text);
}

/** The WebSocket client-node hands back (isomorphic-ws, untyped here). */
interface ExecSocket {
  close(): void;
  terminate?(): void;
  on(event: 'close', listener: () => void): void;
}

interface Ending {
  status?: V1Status;
  /** The stream closed without a status (the connection broke). */
  closedEarly: boolean;
}

export interface Running {
  ended: Promise<Ending>;
  close(): void;
  stdout: CappedSink;
  stderr: CappedSink;
}

export interface ExecContext {
  kc: KubeConfig;
  t: KubeTimeouts;
  /** Explains an exec that was refused before the stream opened (one GET of the Pod). */
  explain: (code: number, signal?: AbortSignal) => Promise<RuntimeError>;
}

/** Opens one exec; resolves once the stream is open (within execControl), rejects with a RuntimeError. */
export async function openExec(ctx: ExecContext, namespace: string, pod: string, command: string[], stdin: string | Buffer | undefined, cap: number, signal?: AbortSignal): Promise<Running> {
  if (signal?.aborted) throw abortError(signal);
  const stdout = new CappedSink(cap);
  const stderr = new CappedSink(cap);
  let resolveEnded!: (e: Ending) => void;
  const ended = new Promise<Ending>((r) => (resolveEnded = r));
  let status: V1Status | undefined;
  // Empty stdin is no stdin stream: the process reads /dev/null, the same
  // immediate EOF, with no close to pass down. Once in about 4000 execs with
  // stdin on a loaded node, the process never saw its stdin closed (containerd
  // 1.6.20 logged it closed) and waited for the exec's timeout; a CI run failed
  // so on `wc -c` with stdin ''. Non-empty stdin still needs the close.
  const input = stdin === undefined || stdin.length === 0 ? null : Readable.from([Buffer.from(stdin)]);
  const connecting = new Exec(ctx.kc).exec(namespace, pod, CONTAINER_NAME, command, stdout, stderr, input, false, (s) => {
    status = s;
    resolveEnded({ status: s, closedEarly: false });
  });
  let socket: ExecSocket;
  try {
    socket = (await new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new RuntimeError('Unavailable', `kubernetes exec: the API server did not open the stream within ${ctx.t.execControl} ms`)), ctx.t.execControl);
      const onAbort = (): void => reject(abortError(signal!));
      signal?.addEventListener('abort', onAbort, { once: true });
      connecting.then(
        (ws) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(ws);
        },
        (e: unknown) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    })) as ExecSocket;
  } catch (e) {
    // A stream that opens after all is closed at once.
    void connecting.then((ws) => (ws as unknown as ExecSocket).close(), () => undefined);
    if (signal?.aborted) throw abortError(signal);
    if (e instanceof RuntimeError) throw e;
    const code = /Unexpected server response: (\d+)/.exec((e as Error)?.message ?? '')?.[1];
    if (code !== undefined) {
      const n = Number(code);
      if (n === 400 || n === 404) throw await ctx.explain(n, signal);
      throw new RuntimeError(codeForStatus(n), `kubernetes exec in ${namespace}/${pod}: the API server refused the stream (${n})`, { cause: e });
    }
    throw toRuntimeError(`exec in ${namespace}/${pod}`, e);
  }
  socket.on('close', () => {
    if (!status) resolveEnded({ closedEarly: true });
  });
  return {
    ended,
    stdout,
    stderr,
    close: () => {
      try {
        socket.close();
      } catch {
        // already closed
      }
    },
  };
}

export type Outcome = { kind: 'ended'; ending: Ending } | { kind: 'timeout' } | { kind: 'aborted' };

export function waitFor(ended: Promise<Ending>, timeoutMs: number, signal?: AbortSignal): Promise<Outcome> {
  return new Promise((resolve) => {
    const done = (o: Outcome): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(o);
    };
    const onAbort = (): void => done({ kind: 'aborted' });
    const timer = setTimeout(() => done({ kind: 'timeout' }), Math.max(0, timeoutMs));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    void ended.then((ending) => done({ kind: 'ended', ending }));
  });
}

/** Runs the kill script in the Pod; resolves when it ended or its time is up. Never throws. */
async function killByMarker(ctx: ExecContext, namespace: string, pod: string, marker: string): Promise<void> {
  try {
    const killer = await openExec(ctx, namespace, pod, ['sh', '-c', KILL_SCRIPT, EXEC_MARKER_ENV, marker], undefined, 4096);
    await waitFor(killer.ended, ctx.t.execControl);
    killer.close();
  } catch {
    // no sh in the image, or the Pod is gone: the confirmation below tells
  }
}

export interface PodExecOptions {
  /** Pods known to lack `env`: their execs run unwrapped at once. */
  noEnv: Set<string>;
}

export async function runPodExec(ctx: ExecContext, namespace: string, pod: string, req: ExecRequest, memo: PodExecOptions, signal?: AbortSignal): Promise<ExecResult> {
  const cap = req.outputCapBytes ?? DEFAULT_OUTPUT_CAP_BYTES;
  const key = `${namespace}/${pod}`;
  const began = performance.now();
  const elapsed = (): number => performance.now() - began;
  const marker = randomUUID();
  let wrapped = memo.noEnv.has(key) ? undefined : wrapCommand(req.command, marker);

  for (;;) {
    const run = await openExec(ctx, namespace, pod, wrapped ?? req.command, req.stdin, cap, signal);
    const outcome = await waitFor(run.ended, req.timeoutMs - elapsed(), signal);
    const result = (exitCode: number, timedOut: boolean, note = ''): ExecResult => ({
      exitCode,
      stdout: run.stdout.text(),
      stderr: run.stderr.text() + note,
      durationMs: Math.round(elapsed()),
      timedOut,
      truncated: run.stdout.truncated || run.stderr.truncated,
    });

    if (outcome.kind === 'aborted') {
      // The caller gave up; the process must not outlive the request. Best effort, not awaited.
      if (wrapped) void killByMarker(ctx, namespace, pod, marker).finally(() => run.close());
      else run.close();
      throw abortError(signal!);
    }

    if (outcome.kind === 'timeout') {
      if (!wrapped) {
        run.close();
        return result(-1, true, `\n[berth] exec timed out after ${req.timeoutMs} ms; the image has no env, so berth could not mark the process to kill it: it may still run\n`);
      }
      await killByMarker(ctx, namespace, pod, marker);
      const confirmed = await waitFor(run.ended, KILL_CONFIRM_MS);
      run.close();
      if (confirmed.kind !== 'ended' || confirmed.ending.closedEarly) {
        return result(-1, true, `\n[berth] exec timed out after ${req.timeoutMs} ms and its process could not be confirmed killed (berth kills through sh, tr and grep in the image)\n`);
      }
      return result(exitCodeOf(confirmed.ending.status) ?? 137, true);
    }

    run.close();
    const { status, closedEarly } = outcome.ending;
    if (closedEarly) return result(-1, false, '\n[berth] the exec stream closed without an exit status\n');
    const code = exitCodeOf(status);
    if (code !== undefined) {
      if (wrapped && envMissing(code, run.stdout.text() + run.stderr.text())) {
        memo.noEnv.add(key);
        wrapped = undefined;
        continue; // the command never ran: run it as given
      }
      return result(code, false);
    }
    // A failure without an exit code: the command could not be started.
    const message = status?.message ?? 'exec failed';
    // The kubelet could not attach (a real apiserver says so in the status
    // channel, not with an HTTP code): the container is not running.
    if (/unable to upgrade connection/i.test(message)) throw await ctx.explain(400, signal);
    if (wrapped && envMissing(-1, message)) {
      memo.noEnv.add(key);
      wrapped = undefined;
      continue;
    }
    return result(failureExitCode(message), false, `${run.stderr.text() ? '\n' : ''}${message}\n`);
  }
}
