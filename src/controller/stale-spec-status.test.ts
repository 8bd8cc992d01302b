import { describe, expect, it } from 'vitest';
import type { Condition } from '../spec/status.js';
import { withStaleSpec } from './stale-spec-status.js';

const NOW = Date.parse('2026-01-02T03:04:05Z');
const ready = (status: 'True' | 'False', reason: string, at: string): Condition => ({ type: 'Ready', status, reason, message: '', lastTransitionTime: at, observedGeneration: 3 });
const progressing: Condition = { type: 'Progressing', status: 'False', reason: 'Converged', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' };

describe('withStaleSpec', () => {
  it('turns Ready False with InvalidSpec, the file error and the generation that runs; the rest stays as observed', () => {
    const status = { phase: 'Ready', containerId: 'abc', conditions: [ready('True', 'Running', '2026-01-01T00:00:00Z'), progressing] };
    const out = withStaleSpec(status, { message: 'specs/web.yaml:9 spec.resources.memory: invalid quantity "2 gigs"' }, status, 3, NOW);
    expect(out).toEqual({
      phase: 'Ready',
      containerId: 'abc',
      conditions: [
        { type: 'Ready', status: 'False', reason: 'InvalidSpec', message: 'specs/web.yaml:9 spec.resources.memory: invalid quantity "2 gigs"; the last valid spec (generation 3) still runs', observedGeneration: 3, lastTransitionTime: '2026-01-02T03:04:05.000Z' },
        progressing,
      ],
    });
  });

  it('keeps the stored transition time while Ready stays False, though the fresh status had it True', () => {
    const previous = { conditions: [ready('False', 'InvalidSpec', '2026-01-01T12:00:00Z')] };
    const fresh = { conditions: [ready('True', 'Running', '2026-01-02T03:04:05.000Z')] };
    const out = withStaleSpec(fresh, { message: 'a.yaml:1: bad' }, previous, 3, NOW);
    expect(out.conditions).toEqual([expect.objectContaining({ status: 'False', reason: 'InvalidSpec', lastTransitionTime: '2026-01-01T12:00:00Z' })]);
  });
});
