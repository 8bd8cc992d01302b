// Container logs as one text stream: the engine multiplexes stdout and stderr
// (no TTY); this demultiplexes both into a single readable of UTF-8 text.
import { PassThrough, Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import { dockerCall, type DockerTimeouts } from './call.js';

/** Demultiplexes an engine stream (or a buffered answer) into one text stream that ends with it. */
export function demuxToText(docker: Dockerode, source: NodeJS.ReadableStream | Buffer): PassThrough {
  const out = new PassThrough();
  out.setEncoding('utf8');
  const input = Buffer.isBuffer(source) ? Readable.from([source]) : source;
  docker.modem.demuxStream(input, out, out);
  input.on('end', () => out.end());
  input.on('close', () => out.end());
  input.on('error', (e: Error) => out.destroy(e));
  // The reader closing early ends the engine stream too.
  out.on('close', () => (input as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.());
  return out;
}

export async function containerLogs(
  docker: Dockerode,
  id: string,
  opts: { tail?: number; follow?: boolean },
  t: DockerTimeouts,
  signal?: AbortSignal,
): Promise<NodeJS.ReadableStream> {
  const container = docker.getContainer(id);
  const base: Dockerode.ContainerLogsOptions = { stdout: true, stderr: true };
  if (opts.tail !== undefined) base.tail = Math.max(0, Math.floor(opts.tail));
  // The deadline covers opening the stream; a followed stream then lives until `signal` aborts.
  const source = await dockerCall<NodeJS.ReadableStream | Buffer>('logs', t.logs, signal, (s) =>
    opts.follow ? container.logs({ ...base, follow: true, abortSignal: s }) : container.logs({ ...base, follow: false, abortSignal: s }),
  );
  const out = demuxToText(docker, source);
  if (signal) {
    const stop = (): void => {
      (source as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      out.end();
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
    out.on('close', () => signal.removeEventListener('abort', stop));
  }
  return out;
}
