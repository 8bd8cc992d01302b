// exec with separated stdout/stderr, optional stdin, an output cap per stream
// and a timeout that KILLS the process.
//
// The engine has no "kill exec" call (moby/moby#9098), and the Pid that exec
// inspect reports is the HOST pid, not the pid inside the container: running
// `kill -9 <Pid>` in the container would miss, or hit an unrelated process.
// So every exec is started with a unique marker in its environment
// (BERTH_EXEC_ID=<uuid>), which its children inherit. On timeout berth:
//   1. runs a second exec, `sh -c <script> <uuid>`, as the same user, that
//      SIGKILLs every process whose /proc/<pid>/environ holds the marker (the
//      whole tree, which also closes the output stream a child may hold open;
//      it needs sh, tr and grep in the image);
//   2. if the exec still runs (an image without sh, tr or grep, say) and the
//      controller shares the host's /proc, SIGKILLs the host processes whose
//      environ holds the marker: the marker proves identity, so a pid that
//      means something else in this pid namespace is never touched;
//   3. confirms (the attach stream ended, or exec inspect says it stopped
//      while the stream is still attached; see confirmGone); if it still
//      runs, says so in stderr and reports exitCode -1.
// A process that clears its environment (env -i) escapes step 1 and 2.
// Rejected: wrapping the command in `timeout -s KILL` needs coreutils or a
// recent busybox in every image (older busybox spells it `timeout -t`), and
// changes the argv the user sees.
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { Writable, type Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type Dockerode from 'dockerode';
import { abortError, dockerCall, type DockerTimeouts } from './call.js';
import type { ExecRequest, ExecResult } from '../types.js';
import { KILL_SCRIPT } from '../exec-kill-script.js';

export const EXEC_MARKER_ENV = 'BERTH_EXEC_ID';
export const DEFAULT_OUTPUT_CAP_BYTES = 1024 * 1024;
/** How long berth waits for a killed exec to be reported gone, per kill step. */
const KILL_CONFIRM_MS = 2_000;



/** Keeps the first `cap` bytes written; the rest is counted as truncated. */
export class CappedSink extends Writable {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly cap: number) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const room = this.cap - this.size;
    if (room > 0) {
      const take = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.chunks.push(Buffer.from(take));
      this.size += take.length;
    }
    if (chunk.length > room) this.truncated = true;
    callback();
  }

  /** The kept bytes, as written. */
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** The kept bytes as UTF-8; a character cut by the cap is dropped rather than mangled. */
  text(): string {
    const buf = Buffer.concat(this.chunks);
    return (this.truncated ? trimIncompleteUtf8(buf) : buf).toString('utf8');
  }
}

/** buf without a trailing, incomplete UTF-8 sequence. */
export function trimIncompleteUtf8(buf: Buffer): Buffer {
  let i = buf.length - 1;
  let continuation = 0;
  while (i >= 0 && continuation < 3 && ((buf[i] ?? 0) & 0xc0) === 0x80) {
    i--;
    continuation++;
  }
  if (i < 0) return buf;
  const lead = buf[i] ?? 0;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return i + need > buf.length ? buf.subarray(0, i) : buf;
}

type Ending = 'ended' | 'timeout' | 'aborted';

/** Resolves once the attach stream is over: ended, closed, or failed (exec inspect then tells). */
function streamOver(stream: Duplex): Promise<void> {
  return new Promise((resolve) => {
    stream.once('end', () => resolve());
    stream.once('close', () => resolve());
    stream.once('error', () => resolve());
  });
}

function waitForEnd(over: Promise<void>, timeoutMs: number, signal: AbortSignal | undefined): Promise<Ending> {
  return new Promise((resolve) => {
    const done = (e: Ending): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(e);
    };
    const onAbort = (): void => done('aborted');
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    void over.then(() => done('ended'));
  });
}

interface ExecState {
  running: boolean;
  exitCode: number | null;
  pid: number;
}

async function execState(exec: Dockerode.Exec, timeoutMs: number, signal?: AbortSignal): Promise<ExecState> {
  const info = await dockerCall('exec inspect', timeoutMs, signal, (s) => exec.inspect({ abortSignal: s }));
  return { running: info.Running, exitCode: info.ExitCode, pid: info.Pid };
}

/** Polls exec inspect until the exec no longer runs, or `withinMs` passes. */
async function waitGone(exec: Dockerode.Exec, withinMs: number, t: DockerTimeouts, signal?: AbortSignal): Promise<ExecState> {
  const until = Date.now() + withinMs;
  let delay = 20;
  for (;;) {
    const state = await execState(exec, t.execControl, signal);
    if (!state.running || Date.now() >= until) return state;
    await sleep(delay, undefined, signal ? { signal } : undefined);
    delay = Math.min(delay * 2, 200);
  }
}

/** Runs the kill script in the container; true when it ran to its end (false: no sh, say). */
async function killInContainer(container: Dockerode.Container, marker: string, t: DockerTimeouts): Promise<boolean> {
  const killer = await dockerCall('exec create (kill)', t.execControl, undefined, (s) =>
    container.exec({ Cmd: ['sh', '-c', KILL_SCRIPT, EXEC_MARKER_ENV, marker], AttachStdout: true, AttachStderr: true, abortSignal: s }),
  );
  const stream = await dockerCall('exec start (kill)', t.execControl, undefined, (s) => killer.start({ hijack: true, stdin: false, abortSignal: s }));
  stream.resume();
  const ending = await waitForEnd(streamOver(stream), t.execControl, undefined);
  // Like any exec, its exit code may land a moment after its stream ends.
  const state = ending === 'ended' ? await waitGone(killer, 1_000, t).catch(() => undefined) : undefined;
  stream.destroy();
  return state?.exitCode === 0;
}

/**
 * SIGKILLs the host processes whose environment carries the marker. Works only
 * when this process sees the engine's /proc and may signal those processes;
 * otherwise it finds nothing and touches nothing.
 */
export async function killOnHost(marker: string): Promise<number> {
  const needle = Buffer.from(`${EXEC_MARKER_ENV}=${marker}\0`);
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return 0;
  }
  let killed = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = await readFile(`/proc/${entry}/environ`);
      if (!env.includes(needle)) continue;
      process.kill(Number(entry), 'SIGKILL');
      killed++;
    } catch {
      // gone, or not ours to read or signal
    }
  }
  return killed;
}

/**
 * Gone means: the attach stream ended (every holder of its stdout/stderr is
 * dead), or exec inspect says the process stopped while berth's stream is
 * still attached. Never destroy the stream before this answer: when the
 * client drops a hijacked exec, the 20.10 engine marks the exec stopped with
 * ExitCode 126 at once, whether or not the process still runs.
 */
async function confirmGone(over: Promise<void>, exec: Dockerode.Exec, withinMs: number, t: DockerTimeouts): Promise<boolean> {
  let streamOver = false;
  void over.then(() => (streamOver = true));
  const until = Date.now() + withinMs;
  let delay = 20;
  while (!streamOver && Date.now() < until) {
    const state = await execState(exec, t.execControl).catch(() => undefined);
    if (state && !state.running) return true;
    await Promise.race([sleep(delay), over]);
    delay = Math.min(delay * 2, 200);
  }
  return streamOver;
}

/** Kills the exec's process tree: in the container, else on the host; true once it is confirmed gone. */
async function killExec(container: Dockerode.Container, exec: Dockerode.Exec, marker: string, over: Promise<void>, t: DockerTimeouts): Promise<boolean> {
  const ran = await killInContainer(container, marker, t).catch(() => false);
  // When the script could not run (126/127: no sh in the image), go to the host at once.
  if (await confirmGone(over, exec, ran ? KILL_CONFIRM_MS : 0, t)) return true;
  await killOnHost(marker);
  return confirmGone(over, exec, KILL_CONFIRM_MS, t);
}

export async function runExec(docker: Dockerode, id: string, req: ExecRequest, t: DockerTimeouts, signal?: AbortSignal): Promise<ExecResult> {
  const container = docker.getContainer(id);
  const marker = randomUUID();
  const cap = req.outputCapBytes ?? DEFAULT_OUTPUT_CAP_BYTES;
  const hasStdin = req.stdin !== undefined;
  const exec = await dockerCall('exec create', t.execControl, signal, (s) =>
    container.exec({
      Cmd: req.command,
      AttachStdin: hasStdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      Env: [`${EXEC_MARKER_ENV}=${marker}`],
      abortSignal: s,
    }),
  );
  const began = performance.now();
  // The start call gets its own signal: once attached, only berth ends the stream (see confirmGone).
  const startAbort = new AbortController();
  const stream = await dockerCall('exec start', t.execControl, signal, (s) => {
    const relay = (): void => startAbort.abort(s.reason);
    s.addEventListener('abort', relay, { once: true });
    return exec.start({ hijack: true, stdin: hasStdin, abortSignal: startAbort.signal }).finally(() => s.removeEventListener('abort', relay));
  });
  const over = streamOver(stream);
  const stdout = new CappedSink(cap);
  const stderr = new CappedSink(cap);
  docker.modem.demuxStream(stream, stdout, stderr);
  // Half-close after stdin: the engine then closes the process's stdin (EOF).
  if (hasStdin) stream.end(req.stdin);

  const ending = await waitForEnd(over, req.timeoutMs, signal);
  const durationMs = (): number => Math.round(performance.now() - began);
  const result = (exitCode: number, timedOut: boolean, note = ''): ExecResult => ({
    exitCode,
    stdout: stdout.text(),
    ...(req.binaryStdout ? { stdoutBytes: stdout.bytes() } : {}),
    stderr: stderr.text() + note,
    durationMs: durationMs(),
    timedOut,
    truncated: stdout.truncated || stderr.truncated,
  });

  if (ending === 'aborted') {
    // The caller gave up; the process must not outlive the request. Best effort, not awaited.
    void killExec(container, exec, marker, over, t)
      .catch(() => undefined)
      .finally(() => stream.destroy());
    throw abortError(signal!);
  }
  if (ending === 'timeout') {
    const gone = await killExec(container, exec, marker, over, t);
    stream.destroy();
    if (!gone) {
      return result(-1, true, `\n[berth] exec timed out after ${req.timeoutMs} ms and its process could not be killed (berth kills through sh, tr and grep in the image)\n`);
    }
    const state = await execState(exec, t.execControl).catch(() => undefined);
    // durationMs includes the kill: the process lived that long.
    return result(state && !state.running && state.exitCode !== null ? state.exitCode : 137, true);
  }
  // The stream ends slightly before the engine records the exit code: poll briefly.
  const state = await waitGone(exec, t.execControl, t, signal);
  return result(state.running ? -1 : (state.exitCode ?? -1), false);
}
