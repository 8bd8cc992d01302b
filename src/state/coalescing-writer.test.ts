import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CoalescingWriter } from './coalescing-writer.js';

describe('CoalescingWriter', () => {
  let dir: string;
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('a burst of changes shares writes, and every caller sees its change on disk', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cw-'));
    const file = join(dir, 'state.json');
    const items: number[] = [];
    let snapshots = 0;
    const w = new CoalescingWriter(file, () => (snapshots++, JSON.stringify(items)));
    const done = Array.from({ length: 200 }, (_, i) => {
      items.push(i);
      const expected = i;
      return w.write().then(async () => expect(JSON.parse(await readFile(file, 'utf8'))).toContain(expected));
    });
    await Promise.all(done);
    expect(JSON.parse(await readFile(file, 'utf8'))).toHaveLength(200);
    expect(snapshots).toBeLessThanOrEqual(3);
  });
});
