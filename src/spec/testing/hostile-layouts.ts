// Spec files and spec directories as a careless or hostile user makes them,
// for the fuzz suites: random edits of valid files, hostile texts, and random
// layouts with links in and out of the directory, /proc and device files,
// pipes, binary, huge files and invalid UTF-8.
import { execFileSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { hostileBody } from './hostile-bodies.js';

export const validYaml = (name: string): string =>
  `apiVersion: berth.dev/v1alpha1\nkind: Instance\nmetadata:\n  name: ${name}\n  labels: {app: web}\nspec:\n  image: berth-test/busybox:1\n  command: [sleep, "1"]\n  env:\n    - {name: A, value: "1"}\n  resources: {memory: 64Mi}\n`;

/** A valid file with random edits: bytes inserted, deleted or replaced, lines duplicated, indentation changed. */
export const mutatedText = fc
  .record({
    base: fc.constantFrom(validYaml('web'), `${validYaml('a')}---\n${validYaml('b')}`, JSON.stringify({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstancePool', metadata: { name: 'p' }, spec: { template: { image: 'x' } } })),
    edits: fc.array(fc.record({ at: fc.nat(), op: fc.constantFrom('insert', 'delete', 'replace', 'dup-line', 'indent'), text: fc.string({ unit: 'binary', maxLength: 6 }) }), { maxLength: 6 }),
  })
  .map(({ base, edits }) => {
    let s = base;
    for (const e of edits) {
      const i = e.at % (s.length + 1);
      if (e.op === 'insert') s = s.slice(0, i) + e.text + s.slice(i);
      else if (e.op === 'delete') s = s.slice(0, i) + s.slice(i + 1 + (e.text.length % 4));
      else if (e.op === 'replace') s = s.slice(0, i) + e.text + s.slice(i + e.text.length);
      else {
        const lines = s.split('\n');
        const l = i % Math.max(lines.length, 1);
        if (e.op === 'dup-line') lines.splice(l, 0, lines[l] ?? '');
        else lines[l] = ' '.repeat(e.text.length) + (lines[l] ?? '');
        s = lines.join('\n');
      }
    }
    return s;
  });

export const anyText = fc.oneof(mutatedText, hostileBody().map((b) => b.body.toString('utf8')), fc.string({ unit: 'binary', maxLength: 3000 }));

export type Entry =
  | { type: 'file'; name: string; content: 'valid' | 'text' | 'binary' | 'invalid-utf8' | 'huge' | 'empty'; text: string; seed: number }
  | { type: 'dir'; name: string; children: Entry[] }
  | { type: 'link'; name: string; target: 'proc-environ' | 'proc-pagemap' | 'etc-passwd' | 'dev-zero' | 'secret' | 'outside-dir' | 'inside-file' | 'inside-dir' | 'dangling' | 'self' | 'parent' }
  | { type: 'fifo'; name: string };

const entryName = fc.oneof(
  fc.constantFrom('a.yaml', 'b.yml', 'C.YAML', '.hidden.yaml', 'notes.txt', 'x.yaml.bak', 'dir', '..data', 'ünï.yaml', ' sp ace.yaml', '-dash.yaml', 'very-long-' + 'n'.repeat(200) + '.yaml'),
  fc.stringMatching(/^[a-zA-Z0-9._-]{1,16}$/).map((s) => (s === '.' || s === '..' ? 'dot.yaml' : s)),
);

const fileEntry = fc.record({
  type: fc.constant('file' as const),
  name: entryName,
  content: fc.constantFrom('valid', 'text', 'binary', 'invalid-utf8', 'huge', 'empty'),
  text: anyText,
  seed: fc.nat(),
});
const linkEntry = fc.record({
  type: fc.constant('link' as const),
  name: entryName,
  target: fc.constantFrom('proc-environ', 'proc-pagemap', 'etc-passwd', 'dev-zero', 'secret', 'outside-dir', 'inside-file', 'inside-dir', 'dangling', 'self', 'parent'),
});
const fifoEntry = fc.record({ type: fc.constant('fifo' as const), name: entryName });
const { entry } = fc.letrec<{ entry: Entry }>((tie) => ({
  entry: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { arbitrary: fileEntry, weight: 6 },
    { arbitrary: linkEntry, weight: 3 },
    { arbitrary: fifoEntry, weight: 1 },
    { arbitrary: fc.record({ type: fc.constant('dir' as const), name: entryName, children: fc.array(tie('entry'), { maxLength: 4 }) }), weight: 2 },
  ),
}));
export const layout = fc.array(entry, { maxLength: 8 });


/** Where links of a layout point outside the directory. */
export interface Outside {
  dir: string;
  secretFile: string;
}

/** Writes a layout under dir; `top` is the spec directory (links "inside" point there). */
export async function materialize(dir: string, entries: Entry[], top: string, out: Outside): Promise<void> {
  await mkdir(dir, { recursive: true });
  const used = new Set<string>();
  for (const e of entries) {
    if (used.has(e.name)) continue;
    used.add(e.name);
    const path = join(dir, e.name);
    if (e.type === 'dir') await materialize(path, e.children, top, out);
    else if (e.type === 'fifo') execFileSync('mkfifo', [path]);
    else if (e.type === 'link') {
      const target = {
        'proc-environ': '/proc/self/environ',
        'proc-pagemap': '/proc/self/pagemap',
        'etc-passwd': '/etc/passwd',
        'dev-zero': '/dev/zero',
        secret: out.secretFile,
        'outside-dir': out.dir,
        'inside-file': join(top, 'sentinel.yaml'),
        'inside-dir': top,
        dangling: join(top, 'does-not-exist'),
        self: path,
        parent: '..',
      }[e.target];
      await symlink(target, path);
    } else {
      const content =
        e.content === 'valid'
          ? Buffer.from(validYaml(`v${e.seed % 1000}`))
          : e.content === 'binary'
            ? Buffer.from(Array.from({ length: 512 }, (_, i) => (e.seed * 31 + i * 17) % 256))
            : e.content === 'invalid-utf8'
              ? Buffer.concat([Buffer.from(validYaml('u').slice(0, 40)), Buffer.from([0xff, 0xc3, 0x28])])
              : e.content === 'huge'
                ? Buffer.alloc(1024 * 1024 + 1 + (e.seed % 4096), 0x23)
                : e.content === 'empty'
                  ? Buffer.alloc(0)
                  : Buffer.from(e.text);
      await writeFile(path, content);
    }
  }
}
