// What a standalone controller (files source, Docker runtime) loads: the
// static imports reachable from the berth command. The Kubernetes client is
// ~70 MiB of RSS; it must come only through import() on the Kubernetes paths.
// A value import of one class from a file that imports the client was enough
// to load it into every controller (an idle controller at 154 MiB).
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HEAVY = ['@kubernetes/client-node'];

/** The modules a file loads when it is loaded: static imports and re-exports, type-only ones left out. */
export function staticImportsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?([^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) {
    if (m[2]) continue;
    // `import { type A, type B } from` loads nothing either (TypeScript drops it).
    const names = /\{([^}]*)\}/.exec(m[3] ?? '')?.[1];
    if (names !== undefined && !/^\s*(\*|[A-Za-z_$])/.test(m[3]!.trim()) && names.split(',').every((n) => !n.trim() || /^type\s/.test(n.trim()))) continue;
    out.push(m[4]!);
  }
  return out;
}

/** Every package reached from `entry` through static imports, with one path to each. */
function reachedPackages(entry: string): Map<string, string[]> {
  const seen = new Set<string>();
  const packages = new Map<string, string[]>();
  const walk = (file: string, path: string[]): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of staticImportsOf(readFileSync(resolve(SRC, file), 'utf8'))) {
      if (spec.startsWith('.')) walk(relative(SRC, resolve(SRC, dirname(file), spec)).split(sep).join('/').replace(/\.js$/, '.ts'), [...path, file]);
      else if (!packages.has(spec)) packages.set(spec, [...path, file]);
    }
  };
  walk(entry, []);
  return packages;
}

describe('what the berth command loads before it knows its mode', () => {
  it('reads static imports, not type-only ones', () => {
    expect(staticImportsOf("import { a } from './a.js';\nimport type { B } from './b.js';\nimport { type C } from './c.js';\nimport { type D, e } from './d.js';\nexport { f } from './f.js';\nimport './g.js';")).toEqual([
      './a.js',
      './d.js',
      './f.js',
      './g.js',
    ]);
  });

  it('finds the Kubernetes client behind the Kubernetes runtime (the check can fail)', () => {
    expect([...reachedPackages('runtime/kubernetes/kubernetes-runtime.ts').keys()]).toContain('@kubernetes/client-node');
  });

  it('does not load the Kubernetes client statically', () => {
    const reached = reachedPackages('cli/main.ts');
    expect(reached.has('xstate')).toBe(true);
    const heavy = HEAVY.filter((p) => reached.has(p)).map((p) => `${p} via ${reached.get(p)!.join(' -> ')}`);
    expect(heavy).toEqual([]);
  });
});
