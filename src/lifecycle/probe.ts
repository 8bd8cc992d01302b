// berth runs health probes itself, so readiness is the probe's answer, not
// "the process exists". exec runs through the runtime; http and tcp connect
// from the controller to the container's address, or, when the container has
// no reachable address (network none), run a busybox-style check inside it.
import { connect } from 'node:net';
import type { ContainerTemplate } from '../spec/schema.js';
import type { Runtime } from '../runtime/types.js';

export type HealthCheck = NonNullable<ContainerTemplate['healthCheck']>;

export interface ProbeOutcome {
  ok: boolean;
  message: string;
}

export async function runProbe(runtime: Runtime, containerId: string, health: HealthCheck, ip: string | undefined, signal?: AbortSignal): Promise<ProbeOutcome> {
  const timeoutMs = health.timeoutSeconds * 1000;
  try {
    if (health.exec) return await execProbe(runtime, containerId, health.exec.command, timeoutMs, signal);
    if (health.http) {
      if (!ip) return await execProbe(runtime, containerId, ['wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${health.http.port}${health.http.path}`], timeoutMs, signal);
      return await httpProbe(`http://${ip}:${health.http.port}${health.http.path}`, timeoutMs, signal);
    }
    if (health.tcp) {
      if (!ip) return await execProbe(runtime, containerId, ['nc', '-z', '127.0.0.1', String(health.tcp.port)], timeoutMs, signal);
      return await tcpProbe(ip, health.tcp.port, timeoutMs, signal);
    }
    return { ok: false, message: 'no probe configured' };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

async function execProbe(runtime: Runtime, id: string, command: string[], timeoutMs: number, signal?: AbortSignal): Promise<ProbeOutcome> {
  const r = await runtime.exec(id, { command, timeoutMs, outputCapBytes: 4096 }, signal);
  if (r.timedOut) return { ok: false, message: `exec probe timed out after ${timeoutMs} ms` };
  if (r.exitCode === 0) return { ok: true, message: 'exec probe succeeded' };
  const detail = (r.stderr || r.stdout).trim().split('\n').at(-1)?.slice(0, 200) ?? '';
  return { ok: false, message: `exec probe exited ${r.exitCode}${detail ? `: ${detail}` : ''}` };
}

async function httpProbe(url: string, timeoutMs: number, signal?: AbortSignal): Promise<ProbeOutcome> {
  const s = signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
  const res = await fetch(url, { signal: s, redirect: 'manual' });
  await res.body?.cancel();
  return res.status >= 200 && res.status < 400 ? { ok: true, message: `HTTP ${res.status}` } : { ok: false, message: `HTTP probe got ${res.status} from ${url}` };
}

function tcpProbe(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const finish = (o: ProbeOutcome): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(o);
    };
    const onAbort = (): void => finish({ ok: false, message: 'probe aborted' });
    const timer = setTimeout(() => finish({ ok: false, message: `TCP probe to ${host}:${port} timed out after ${timeoutMs} ms` }), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish({ ok: true, message: `TCP ${host}:${port} accepted` }));
    socket.once('error', (e) => finish({ ok: false, message: `TCP probe to ${host}:${port}: ${e.message}` }));
  });
}
