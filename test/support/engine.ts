// Helpers for integration tests on the real Docker engine. Every test run uses
// its own managed-by value and removes exactly the containers that carry it.
import { randomBytes } from 'node:crypto';
import Dockerode from 'dockerode';
import { LABEL } from '../../src/runtime/types.js';

/** Built locally by scripts/build-test-images.sh (no registry is reachable). */
export const TEST_IMAGE = 'berth-test/busybox:1';
/** Only /busybox, no shell on the PATH: what berth must handle when an image has no sh. */
export const TEST_IMAGE_NOSH = 'berth-test/nosh:1';

/** A client for the engine the tests use: DOCKER_HOST when set, else the default socket. */
export function testDocker(): Dockerode {
  return process.env['DOCKER_HOST'] ? new Dockerode() : new Dockerode({ socketPath: '/var/run/docker.sock' });
}

/** Does the engine answer a ping within timeoutMs? */
export async function engineAvailable(timeoutMs = 5_000, docker: Dockerode = testDocker()): Promise<boolean> {
  const signal = AbortSignal.timeout(timeoutMs);
  const ping = (docker.ping as (opts: { abortSignal: AbortSignal }) => Promise<unknown>)({ abortSignal: signal });
  const expired = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
  try {
    await Promise.race([ping, expired]);
    return true;
  } catch {
    ping.catch(() => undefined);
    return false;
  } finally {
    expired.catch(() => undefined);
  }
}

/** A managed-by value no other run shares: berth-test-<random>. */
export function uniqueControllerId(): string {
  return `berth-test-${randomBytes(4).toString('hex')}`;
}

/** Force-removes every container (and its anonymous volumes), then the named volumes, labelled managed-by=<managedBy>; returns how many containers. */
export async function cleanupByLabel(managedBy: string, docker: Dockerode = testDocker()): Promise<number> {
  if (!managedBy.trim()) throw new Error('cleanupByLabel: refusing an empty managed-by value');
  const containers = await docker.listContainers({ all: true, filters: { label: [`${LABEL.managedBy}=${managedBy}`] } });
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch((e: { statusCode?: number }) => {
          if (e.statusCode !== 404 && e.statusCode !== 409) throw e; // gone, or already being removed
        }),
    ),
  );
  // Named volumes berth created for this id's resources, and its engine lock.
  const { Volumes } = await docker.listVolumes({ filters: { label: [`${LABEL.managedBy}=${managedBy}`] } });
  await Promise.all(
    (Volumes ?? []).map((v) =>
      docker
        .getVolume(v.Name)
        .remove()
        .catch((e: { statusCode?: number }) => {
          if (e.statusCode !== 404) throw e;
        }),
    ),
  );
  return containers.length;
}
