// The shared corpus of refused specs (test/fixtures/invalid-specs): each file
// and the message its "# expect:" line says both refusers give.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../fixtures/invalid-specs', import.meta.url));

export function invalidCorpus(): Array<{ file: string; text: string; expect: RegExp }> {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => {
      const text = readFileSync(join(DIR, file), 'utf8');
      const m = /^# expect: (.+)$/m.exec(text);
      if (!m) throw new Error(`${file}: no "# expect:" line`);
      return { file, text, expect: new RegExp(m[1]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) };
    });
}
