// Imports point inward. The layers of src/, innermost first, are defined here
// and nowhere else (ARCHITECTURE.md draws them): a source file may import its
// own part and the parts of layers below its own, never a part beside it or
// above it. Type imports count: they name a module as much as value imports
// do. Tests (*.test.ts) are left out, they may reach outward to set things up;
// the helpers they share (testing/) are held to the rule like any source.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

/** Innermost first. A part is a folder of src/ or one file; the longest that matches a path owns it. */
const LAYERS: ReadonlyArray<{ layer: string; parts: string[] }> = [
  { layer: 'vocabulary: schemas, spec loading, units, tar entry rules, the clock', parts: ['spec/', 'archive/', 'time/'] },
  { layer: 'runtime contract: what a runtime reports (Observed*) and its errors', parts: ['runtime/types.ts', 'runtime/errors.ts'] },
  { layer: 'pure planner and status', parts: ['reconcile/'] },
  { layer: 'effects: runtimes (Docker, Kubernetes) and the per-container machines', parts: ['runtime/', 'lifecycle/'] },
  { layer: 'state: restart memory, claim bindings, atomic files', parts: ['state/'] },
  { layer: 'controller: store, queue, workers, reconcilers', parts: ['controller/'] },
  { layer: 'sources of desired state: files, applied, Kubernetes (with leader election)', parts: ['sources/'] },
  { layer: 'faces: the HTTP API, and the manager that wires and runs the controller', parts: ['api/', 'manager/'] },
  { layer: 'the berth command', parts: ['cli/'] },
];

const partOf = (path: string): string | undefined =>
  LAYERS.flatMap((l) => l.parts)
    .filter((p) => (p.endsWith('/') ? path.startsWith(p) : path === p))
    .sort((a, b) => b.length - a.length)[0];
const layerOf = (part: string): number => LAYERS.findIndex((l) => l.parts.includes(part));

/** Every module a file names, relative imports resolved to paths under src/ ('a/b.ts'). */
function localImportsOf(file: string): string[] {
  const text = readFileSync(resolve(SRC, file), 'utf8');
  const specifiers = [
    ...[...text.matchAll(/^\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)].map((m) => m[1]!),
    // import('x') expressions and import('x').T types would dodge the lines above.
    ...[...text.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!),
  ];
  return specifiers
    .filter((s) => s.startsWith('.'))
    .map((s) => relative(SRC, resolve(SRC, dirname(file), s)).split(sep).join('/').replace(/\.js$/, '.ts'));
}

const sources = (readdirSync(SRC, { recursive: true }) as string[])
  .map((f) => f.split(sep).join('/'))
  .filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.test.ts'))
  .sort();

describe('the layers of src/', () => {
  it('places every source file in a layer', () => {
    expect(sources.filter((f) => partOf(f) === undefined)).toEqual([]);
    expect(sources.length).toBeGreaterThan(100);
  });

  it.each(sources)('%s imports only its own part and inner layers', (file) => {
    const from = partOf(file)!;
    const outward = localImportsOf(file)
      .map((target) => ({ target, part: partOf(target) }))
      .filter(({ part }) => part === undefined || (part !== from && layerOf(part) >= layerOf(from)))
      .map(({ target, part }) => `${file} (${from}) -> ${target} (${part ?? 'no layer'}, ${part && layerOf(part) === layerOf(from) ? 'beside it' : 'outer'})`);
    expect(outward).toEqual([]);
  });

  it('catches an outward import (the check can fail)', () => {
    expect(partOf('reconcile/plan-instance.ts')).toBe('reconcile/');
    expect(partOf('runtime/types.ts')).toBe('runtime/types.ts');
    expect(partOf('runtime/docker/observe.ts')).toBe('runtime/');
    expect(layerOf('reconcile/')).toBeLessThan(layerOf('runtime/'));
    expect(layerOf('api/')).toBe(layerOf('manager/'));
    expect(localImportsOf('manager/manager.ts')).toContain('sources/file-source.ts');
  });
});
