import { describe, expect, it } from 'vitest';
import type { ApiObject } from './objects.js';
import { evaluateWait, parseWaitFor } from './wait-condition.js';

const obj = (generation: number, status?: Record<string, unknown>): ApiObject => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Instance',
  metadata: { name: 'web', namespace: 'default', generation },
  spec: {},
  ...(status ? { status } : {}),
});
const ready = (status: string, extra: Record<string, unknown> = {}) => ({
  type: 'Ready',
  status,
  reason: status === 'True' ? 'ProbePassing' : 'CrashLoopBackOff',
  message: status === 'True' ? 'ok' : 'exited with code 1, restarting in 40s',
  lastTransitionTime: '2025-06-01T00:00:00Z',
  ...extra,
});

describe('parseWaitFor', () => {
  it('reads condition=NAME[=STATUS] and delete', () => {
    expect(parseWaitFor('condition=Ready')).toEqual({ type: 'condition', condition: 'Ready', status: 'True' });
    expect(parseWaitFor('condition=Ready=False')).toEqual({ type: 'condition', condition: 'Ready', status: 'False' });
    expect(parseWaitFor('delete')).toEqual({ type: 'delete' });
  });
  it('refuses anything else, saying what is accepted', () => {
    expect(() => parseWaitFor('jsonpath={.status.phase}')).toThrow(/use condition=NAME, condition=NAME=STATUS or delete/);
    expect(() => parseWaitFor('condition=')).toThrow();
  });
});

describe('evaluateWait', () => {
  const want = parseWaitFor('condition=Ready');

  it('is met when the condition has the wanted status (case-insensitively)', () => {
    expect(evaluateWait(obj(1, { conditions: [ready('True')] }), want)).toEqual({ met: true, summary: 'Ready=True, reason: ProbePassing: ok' });
    expect(evaluateWait(obj(1, { conditions: [ready('true')] }), want).met).toBe(true);
  });

  it('is not met on False, and the summary carries reason and message for the timeout error', () => {
    expect(evaluateWait(obj(1, { conditions: [ready('False')] }), want)).toEqual({
      met: false,
      summary: 'Ready=False, reason: CrashLoopBackOff: exited with code 1, restarting in 40s',
    });
  });

  it('waits for the wanted status when it is not True', () => {
    expect(evaluateWait(obj(1, { conditions: [ready('False')] }), parseWaitFor('condition=Ready=False')).met).toBe(true);
  });

  it('is not met without the condition, naming the phase', () => {
    expect(evaluateWait(obj(1), want)).toEqual({ met: false, summary: 'no Ready condition yet' });
    expect(evaluateWait(obj(1, { phase: 'creating', conditions: [] }), want)).toEqual({ met: false, summary: 'no Ready condition yet, phase: creating' });
  });

  it('ignores a condition written for an older generation', () => {
    const stale = evaluateWait(obj(2, { conditions: [ready('True', { observedGeneration: 1 })] }), want);
    expect(stale.met).toBe(false);
    expect(stale.summary).toBe('Ready=True, reason: ProbePassing: ok; observed generation 1, current 2');
    expect(evaluateWait(obj(2, { conditions: [ready('True', { observedGeneration: 2 })] }), want).met).toBe(true);
  });

  it('handles a missing object, and waiting for deletion', () => {
    expect(evaluateWait(undefined, want)).toEqual({ met: false, summary: 'the object does not exist' });
    expect(evaluateWait(undefined, { type: 'delete' }).met).toBe(true);
    expect(evaluateWait(obj(1), { type: 'delete' })).toEqual({ met: false, summary: 'still exists' });
  });
});
