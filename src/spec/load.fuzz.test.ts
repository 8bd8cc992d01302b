// Fuzz suite for spec files and spec directories: random and hostile texts,
// and random directory layouts (links in and out, /proc and device files,
// pipes, binary, huge files, invalid UTF-8, deep trees). Loading never throws
// and never reads outside the directory; every problem names its file (and
// line when it has one); a file source over such a directory never drops the
// resource a healthy file declares, and reports Degraded exactly while a
// problem remains.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResourceStore } from '../controller/resource-store.js';
import { FileSource } from '../sources/file-source.js';
import { loadSpecPaths, parseSpecText } from './load.js';
import { DEFAULT_POLICY } from './policy.js';
import { anyText, layout, materialize, validYaml } from './testing/hostile-layouts.js';

const CI = process.env['CI'] === 'true';
const TEXT_RUNS = Number(process.env['FUZZ_RUNS'] ?? (CI ? 10_000 : 1_000));
const LAYOUT_RUNS = Number(process.env['FUZZ_LAYOUT_RUNS'] ?? (CI ? 400 : 100));
const SECRET = `berth-fuzz-secret-${process.pid}-${Date.now()}`;

describe('spec texts: random and hostile', () => {
  it('parseSpecText never throws; every error names the file and the line; what loads is valid', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const r = parseSpecText(text, 'f.yaml');
        for (const e of r.errors) {
          expect(e.file).toBe('f.yaml');
          expect(e.message.length).toBeGreaterThan(0);
          // A file-level error (too large) has no line; everything found inside the text has one.
          if (!/file is too large/.test(e.message)) expect(e.line, e.format()).toBeGreaterThanOrEqual(1);
        }
        for (const l of r.resources) {
          expect(l.file).toBe('f.yaml');
          expect(l.resource.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
        }
      }),
      { numRuns: TEXT_RUNS },
    );
  }, 600_000);
});

describe('spec directories: random layouts', () => {
  let root: string;
  let outside: string;
  let secretFile: string;
  let n = 0;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-fuzz-layout-'));
    outside = join(root, 'outside');
    await mkdir(outside);
    secretFile = join(outside, 'secret.yaml');
    await writeFile(secretFile, `apiVersion: berth.dev/v1alpha1\nkind: Instance\nmetadata:\n  name: ${SECRET}\nspec:\n  image: ${SECRET}\n`);
    await writeFile(join(outside, 'other.yaml'), validYaml(`outside-${SECRET.length}`));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('loading never throws, never reads outside, and names the file of every problem; a file source keeps the healthy file\'s resource', async () => {
    await fc.assert(
      fc.asyncProperty(layout, async (entries) => {
        const dir = join(root, `case-${n++}`);
        await mkdir(dir);
        await writeFile(join(dir, 'sentinel.yaml'), validYaml('sentinel'));
        const store = new ResourceStore();
        const source = new FileSource({ store, dirs: [dir], policy: DEFAULT_POLICY, onProblem: () => undefined, debounceMs: 10_000, rescanMs: 600_000, rootCheckMs: 600_000, deleteConfirmMs: 0 });
        try {
          await source.start();
          await materialize(dir, entries, dir, { dir: outside, secretFile });
          const started = Date.now();
          const r = await loadSpecPaths([dir]);
          expect(Date.now() - started).toBeLessThan(20_000);
          const everything = JSON.stringify(r.resources) + r.errors.map((e) => e.format()).join('\n');
          expect(everything).not.toContain(SECRET);
          expect(everything).not.toMatch(/root:x:0:0|PATH=\//);
          for (const e of r.errors) {
            expect(e.file.startsWith(dir), e.format()).toBe(true);
            expect(e.message.length).toBeGreaterThan(0);
          }
          for (const l of r.resources) expect(l.file.startsWith(dir)).toBe(true);
          // Twice: a missing resource is deleted only when a second reload confirms it.
          await source.reload();
          await source.reload();
          expect(store.get({ kind: 'Instance', namespace: 'default', name: 'sentinel' }), 'the healthy file\'s resource was dropped').toBeDefined();
          expect(source.degradedDirs().size, r.errors.map((e) => e.format()).join('\n')).toBe(r.errors.length > 0 ? 1 : 0);
          expect(source.mayPrune()).toBe(r.errors.length === 0);
        } finally {
          source.stop();
          await rm(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: LAYOUT_RUNS },
    );
  }, 900_000);
});
