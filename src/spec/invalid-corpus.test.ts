// The shared corpus of refused specs (test/fixtures/invalid-specs), checked
// offline as `berth validate` does; test/kubernetes-crd-validation.test.ts
// checks the same files against the apiserver's copy of the CRDs.
import { describe, expect, it } from 'vitest';
import { invalidCorpus } from '../../test/support/invalid-corpus.js';
import { parseSpecText } from './load.js';

describe('the invalid-spec corpus, offline (berth validate)', () => {
  it('holds the cases of issue 14, and a claim lease beyond int32 seconds', () => {
    expect(invalidCorpus().map((c) => c.file)).toEqual(['claim-ttl-too-long.yaml', 'cpus-lots.yaml', 'memory-parsecs.yaml', 'pool-min-over-max.yaml', 'pool-template-memory.yaml', 'reserved-label.yaml', 'two-probe-kinds.yaml']);
  });
  for (const c of invalidCorpus()) {
    it(`refuses ${c.file}`, () => {
      const r = parseSpecText(c.text, c.file);
      expect(r.resources).toEqual([]);
      expect(r.errors.map((e) => e.message).join('\n')).toMatch(c.expect);
    });
  }
});
