import { describe, expect, it } from 'vitest';
import { KubeApiError } from './kube-api.js';
import { StatusWriter } from './status-writer.js';

/** A fake server: one object's status, with scripted failures. */
function harness(failures: number[] = [], onConflict?: (fresh: Record<string, unknown>) => void) {
  let server: Record<string, unknown> | undefined = { phase: 'Old', restartCount: 0, gone: 'x' };
  let desired: object | undefined = { phase: 'A', restartCount: 0 };
  const patches: unknown[] = [];
  let reads = 0;
  const writer = new StatusWriter<string>({
    id: (k) => k,
    desired: () => desired,
    observed: () => ({ phase: 'Old', restartCount: 0, gone: 'x' }),
    patch: async (_k, patch) => {
      patches.push(patch);
      const code = failures.shift();
      if (code) throw new KubeApiError(code, 'Injected', `injected ${code}`);
      if (!server) throw new KubeApiError(404, 'NotFound', 'gone');
      server = { ...server };
      for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
        if (v === null) delete server[k];
        else server[k] = v;
      }
      return { status: server };
    },
    read: async () => {
      reads++;
      return server ? { status: server } : undefined;
    },
    ...(onConflict ? { onConflict: (_k: string, fresh: Record<string, unknown>) => onConflict(fresh) } : {}),
    coalesceMs: 5,
    backoff: { initialMs: 5, maxMs: 20 },
  });
  return {
    writer,
    patches,
    reads: () => reads,
    server: () => server,
    setDesired: (d: object | undefined) => (desired = d),
    deleteObject: () => (server = undefined),
  };
}

describe('StatusWriter', () => {
  it('coalesces a burst into one write of the latest status, sending only the difference', async () => {
    const h = harness();
    for (let i = 1; i <= 10; i++) {
      h.setDesired({ phase: 'A', restartCount: i });
      h.writer.request('k');
    }
    await h.writer.idle();
    expect(h.patches).toEqual([{ phase: 'A', restartCount: 10, gone: null }]);
    expect(h.server()).toEqual({ phase: 'A', restartCount: 10 });
    // Nothing changed: nothing sent.
    h.writer.request('k');
    await h.writer.idle();
    expect(h.patches).toHaveLength(1);
  });

  it('retries a 409 on a fresh read', async () => {
    const h = harness([409]);
    h.writer.request('k');
    await h.writer.idle();
    expect(h.reads()).toBe(1);
    expect(h.patches).toHaveLength(2);
    expect(h.writer.stats.conflicts).toBe(1);
    expect(h.server()).toMatchObject({ phase: 'A' });
  });

  it('a 409 shows the fresh object to onConflict, and the retry writes the status as it is after that', async () => {
    const seen: unknown[] = [];
    let h: ReturnType<typeof harness>;
    h = harness([409], (fresh) => {
      seen.push(fresh['status']);
      // The owner of the status takes what the server holds (a claim adopting another writer's binding).
      h.setDesired({ phase: 'Adopted', restartCount: 0 });
    });
    h.writer.request('k');
    await h.writer.idle();
    expect(seen).toEqual([{ phase: 'Old', restartCount: 0, gone: 'x' }]);
    expect(h.server()).toMatchObject({ phase: 'Adopted' });
  });

  it('noteKnown: a status written by another path is the base of the next diff', async () => {
    const h = harness();
    h.writer.noteKnown('k', { phase: 'A', restartCount: 0 });
    h.writer.request('k');
    await h.writer.idle();
    expect(h.patches).toEqual([]);
  });

  it('retries other errors with backoff and drops a 404', async () => {
    const h = harness([503, 500]);
    h.writer.request('k');
    await h.writer.idle();
    expect(h.patches).toHaveLength(3);
    expect(h.server()).toMatchObject({ phase: 'A' });
    h.deleteObject();
    h.setDesired({ phase: 'B', restartCount: 0 });
    h.writer.request('k');
    await h.writer.idle();
    expect(h.writer.stats.notFound).toBe(1);
    expect(h.patches).toHaveLength(4);
  });

  it('writes nothing when there is no status to write, and stops at once', async () => {
    const h = harness();
    h.setDesired(undefined);
    h.writer.request('k');
    await h.writer.idle();
    expect(h.patches).toEqual([]);
    h.setDesired({ phase: 'C' });
    h.writer.stop();
    h.writer.request('k');
    await h.writer.idle();
    expect(h.patches).toEqual([]);
  });
});
