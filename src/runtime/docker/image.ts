// Image presence per imagePullPolicy. A failed pull is ImagePullFailed naming
// the image and the engine's reason; an engine that does not answer stays
// Unavailable (that is not the image's fault).
import type Dockerode from 'dockerode';
import { RuntimeError, isRuntimeError } from '../errors.js';
import { abortError, dockerCall, engineMessage, isDeadlineError, type DockerTimeouts } from './call.js';

export type PullPolicy = 'IfNotPresent' | 'Always' | 'Never';

// dockerode 5's Image.inspect drops abortSignal, so the request is dialled here
// the way dockerode would, with the signal, so a deadline frees the socket.
function inspectImage(docker: Dockerode, image: string, signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(
      { path: `/images/${image}/json`, method: 'GET', abortSignal: signal, statusCodes: { 200: true, 404: 'no such image', 500: 'server error' } } as Parameters<Dockerode['modem']['dial']>[0],
      (err: unknown, data: unknown) => (err ? reject(err) : resolve(data)),
    );
  });
}

async function imagePresent(docker: Dockerode, image: string, t: DockerTimeouts, signal?: AbortSignal): Promise<boolean> {
  try {
    await dockerCall('image inspect', t.imageInspect, signal, (s) => inspectImage(docker, image, s));
    return true;
  } catch (e) {
    const status = (e as { cause?: { statusCode?: number } }).cause?.statusCode;
    if (isRuntimeError(e) && status === 404) return false;
    throw e;
  }
}

/** Reads a pull's progress stream to its end; the engine reports failures inside it as {error}. */
function followPull(docker: Dockerode, stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, output: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
      if (err) return reject(err);
      const failed = output.find((o) => o.error || o.errorDetail);
      if (failed) return reject(new Error(failed.errorDetail?.message ?? failed.error ?? 'pull failed'));
      resolve();
    });
  });
}

export async function pullImage(docker: Dockerode, image: string, t: DockerTimeouts, signal?: AbortSignal): Promise<void> {
  try {
    await dockerCall('pull', t.pull, signal, async (s) => {
      const stream = await docker.pull(image, { abortSignal: s });
      const destroy = (): void => (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      s.addEventListener('abort', destroy, { once: true });
      try {
        await followPull(docker, stream);
      } finally {
        s.removeEventListener('abort', destroy);
      }
    });
  } catch (e) {
    if (signal?.aborted) throw abortError(signal);
    // A refused connection means the engine is gone; a pull that ran out of time is the registry's.
    if (isRuntimeError(e, 'Unavailable') && !isDeadlineError(e)) throw e;
    const reason = isDeadlineError(e) ? `no result within ${t.pull} ms` : engineMessage(isRuntimeError(e) ? e.cause : e);
    throw new RuntimeError('ImagePullFailed', `pulling image ${image} failed: ${reason}`, { cause: e });
  }
}

/**
 * IfNotPresent: pull when missing. Always: pull (a failure is ImagePullFailed
 * even when an older copy exists, as Kubernetes does). Never: missing is
 * ImagePullFailed without trying a registry.
 */
export async function ensureImage(docker: Dockerode, image: string, policy: PullPolicy, t: DockerTimeouts, signal?: AbortSignal): Promise<void> {
  if (policy === 'Always') return pullImage(docker, image, t, signal);
  if (await imagePresent(docker, image, t, signal)) return;
  if (policy === 'Never') {
    throw new RuntimeError('ImagePullFailed', `image ${image} is not present on the engine and imagePullPolicy is Never (build or load it there, or use IfNotPresent)`);
  }
  return pullImage(docker, image, t, signal);
}
