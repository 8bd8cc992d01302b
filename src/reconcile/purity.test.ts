// The planner is pure (STYLE.md: "reconcile/ imports nothing from dockerode,
// @kubernetes/client-node, xstate or node:fs"). This reads the import lines of
// every source file in src/reconcile and its subdirectories (pool/) and
// follows value imports into the rest of src: the only node built-in
// reachable is node:crypto, through src/spec/hash.ts (configHash, to compare
// containers in their hash format).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const HERE = dirname(fileURLToPath(import.meta.url));
const SRC = resolve(HERE, '..');

const FORBIDDEN = [/^dockerode$/, /^@kubernetes\/client-node/, /^xstate/, /^node:/, /^(fs|path|os|child_process|net|http|https|crypto|url)(\/|$)/];

/**
 * Direct imports of src/reconcile sources (type imports included: they name
 * modules too), as paths under src: relative imports only, into reconcile/ or
 * a few spec and runtime modules.
 */
const ALLOWED_DIRECT = [/^reconcile\/([a-z0-9-]+\/)*[a-z0-9-]+\.js$/, /^spec\/(hash|policy|schema|status)\.js$/, /^runtime\/types\.js$/];
const directTarget = (file: string, specifier: string): string =>
  specifier.startsWith('.') ? relative(SRC, resolve(dirname(file), specifier)).split(sep).join('/') : specifier;

/** Packages and built-ins the planner may reach through value imports, and from where. */
const ALLOWED_TRANSITIVE: Record<string, (fromFile: string) => boolean> = {
  'node:crypto': (from) => from === 'spec/hash.ts',
  canonicalize: (from) => from === 'spec/hash.ts',
  zod: (from) => from.startsWith('spec/'),
};

interface Import {
  specifier: string;
  typeOnly: boolean;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const out: Import[] = [];
  const re = /^\s*(import|export)\s+(type\s+)?([^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(re)) out.push({ specifier: m[4]!, typeOnly: m[2] !== undefined });
  // import('x') expressions and require('x') would dodge the lines above.
  for (const m of text.matchAll(/\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]/g)) out.push({ specifier: m[1]!, typeOnly: false });
  return out;
}

const sources = (readdirSync(HERE, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .sort()
  .map((f) => join(HERE, f));

describe('src/reconcile is pure', () => {
  it('has sources to check', () => {
    expect(sources.map((f) => relative(HERE, f).split(sep).join('/'))).toEqual(
      expect.arrayContaining(['plan-instance.ts', 'format.ts', 'backoff.ts', 'types.ts', 'pool/plan-pool.ts', 'pool/status.ts', 'pool/types.ts']),
    );
  });

  it.each(sources.map((f) => [relative(HERE, f), f]))('%s imports only planner-safe modules', (_, file) => {
    for (const { specifier } of importsOf(file)) {
      expect(FORBIDDEN.some((re) => re.test(specifier)), `${specifier} is forbidden`).toBe(false);
      expect(ALLOWED_DIRECT.some((re) => re.test(directTarget(file, specifier))), `${specifier} is not on the allow-list`).toBe(true);
    }
  });

  it('reaches no runtime client, state machine or I/O through what it imports', () => {
    const seen = new Set<string>();
    const reached: string[] = [];
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const { specifier, typeOnly } of importsOf(file)) {
        if (typeOnly) continue; // erased at compile time
        if (specifier.startsWith('.')) {
          visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
          continue;
        }
        const from = relative(SRC, file);
        reached.push(`${specifier} <- ${from}`);
        const allowed = ALLOWED_TRANSITIVE[specifier];
        expect(allowed?.(from) ?? false, `${from} imports ${specifier}`).toBe(true);
      }
    };
    for (const f of sources) visit(f);
    expect(reached).toContain('node:crypto <- spec/hash.ts');
  });
});
