// A create the Docker engine refuses (a 4xx: an image with neither CMD nor
// ENTRYPOINT and no command in the spec, "no command specified") is retried
// with the work queue's per-key backoff, never in a hot loop (issue 14, item 2:
// 813 `docker create` tries in 43 s), and the refusal is in status; the other
// specs converge meanwhile. The runtime is the real engine, counted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manager } from '../src/manager/manager.js';
import { DockerRuntime } from '../src/runtime/docker/docker-runtime.js';
import type { CreateRequest, OnStep } from '../src/runtime/types.js';
import { instanceYaml, isReady, removeDirs, startManager, statusOf, testDirs, writeSpec, type TestDirs } from './support/controller.js';
import { noEngine } from './support/provided.js';
import { eventually } from './support/runtime-contract.js';

/** The real engine, with create calls counted. */
class CountingRuntime extends DockerRuntime {
  creates = 0;
  override launch(req: CreateRequest, signal?: AbortSignal, onStep?: OnStep): Promise<string> {
    return super.launch(req, signal, (step) => {
      if (step.name === 'create') this.creates++;
      return onStep?.(step);
    });
  }
}

describe.skipIf(noEngine())('a refused create backs off (Docker)', () => {
  let d: TestDirs;
  let m: Manager;
  const runtime = new CountingRuntime({});

  beforeAll(async () => {
    d = await testDirs();
    await writeSpec(d, 'nocmd.yaml', JSON.stringify({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: 'nocmd', namespace: 'default' }, spec: { image: 'berth-test/nocmd:1' } }));
    await writeSpec(d, 'web.yaml', instanceYaml('web'));
    m = await startManager(d, { runtime });
  });

  afterAll(async () => {
    await m?.stop();
    if (d) await removeDirs(d);
  });

  it('few create attempts in 8 s, the refusal in status, the other spec Ready', async () => {
    const status = await eventually('the refusal in status', () => {
      const s = statusOf(m, 'nocmd');
      return s?.conditions.some((c) => c.type === 'Ready' && c.status === 'False' && /no command specified/i.test(c.message)) ? s : undefined;
    }, 20_000);
    expect(status.conditions.find((c) => c.type === 'Ready')?.reason).toBe('CreateFailed');
    await eventually('web Ready', () => (isReady(statusOf(m, 'web')) ? true : undefined), 30_000);
    const first = runtime.creates;
    await new Promise((r) => setTimeout(r, 8_000));
    const inEight = runtime.creates - first;
    expect(inEight).toBeGreaterThan(0);
    expect(inEight).toBeLessThanOrEqual(15);
  });
});
