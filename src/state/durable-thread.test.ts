// In a fresh process: the thread is one per process, and other test files in this worker use it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const MODULE = fileURLToPath(new URL('./atomic-file.ts', import.meta.url));
const SLOTS = fileURLToPath(new URL('./state-slots.ts', import.meta.url));
let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the thread that makes writes durable', () => {
  it('ends when idle, starts again for the next write, and is not used to overwrite a claims slot', () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-durable-thread-'));
    const script = `
      const f = await import(${JSON.stringify(MODULE)});
      const slots = await import(${JSON.stringify(SLOTS)});
      const until = async (want) => { const t0 = Date.now(); while (f.durableThreadRunning() !== want) { if (Date.now() - t0 > 5000) return false; await new Promise((r) => setTimeout(r, 10)); } return true; };
      const seen = {};
      seen.before = f.durableThreadRunning();
      await f.writeFileAtomic(${JSON.stringify(join(dir, 'a.json'))}, '{}');
      seen.afterWrite = f.durableThreadRunning();
      seen.endedWhenIdle = await until(false);
      await f.writeFileAtomic(${JSON.stringify(join(dir, 'a.json'))}, '{"again":1}');
      seen.again = await f.readFileIfExists(${JSON.stringify(join(dir, 'a.json'))});
      // A new claims file is made whole (through the thread); later writes overwrite a slot in place.
      await slots.writeStateSlots(${JSON.stringify(join(dir, 'claims.state'))}, 'first');
      seen.endedAfterNewFile = await until(false);
      await slots.writeStateSlots(${JSON.stringify(join(dir, 'claims.state'))}, 'second');
      seen.threadForOverwrite = f.durableThreadRunning();
      seen.slots = await slots.readStateFile(${JSON.stringify(join(dir, 'claims.state'))});
      console.log(JSON.stringify(seen));
      process.exit(0);`;
    // A file, not -e with --input-type=module: a worker inherits that flag and would read its CommonJS source as a module.
    writeFileSync(join(dir, 'probe.mjs'), script);
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(dir, 'probe.mjs')], {
      encoding: 'utf8',
      env: { ...process.env, BERTH_DURABLE_THREAD_IDLE_MS: '50' },
    });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({
      before: false,
      afterWrite: true,
      endedWhenIdle: true,
      again: '{"again":1}',
      endedAfterNewFile: true,
      threadForOverwrite: false,
      slots: 'second',
    });
  });
});
