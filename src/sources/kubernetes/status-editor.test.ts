import { describe, expect, it } from 'vitest';
import { bindingEditedBy } from './status-editor.js';
import type { KubeObject } from './list-watch.js';

const claim = (managedFields: unknown[]): KubeObject => ({ metadata: { name: 'c1', managedFields } as KubeObject['metadata'] });
const statusEntry = (manager: string, fields: Record<string, unknown>) => ({ manager, operation: 'Update', subresource: 'status', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': fields } });

describe('bindingEditedBy', () => {
  it('names the manager other than berth that owns a binding field', () => {
    const obj = claim([statusEntry('berth', { '.': {}, 'f:phase': {}, 'f:conditions': {} }), statusEntry('kubectl-patch', { 'f:instance': {} })]);
    expect(bindingEditedBy(obj)).toBe('kubectl-patch');
  });

  it('is undefined when berth owns every binding field', () => {
    expect(bindingEditedBy(claim([statusEntry('berth', { 'f:phase': {}, 'f:instance': {}, 'f:containerId': {} })]))).toBeUndefined();
  });

  it('ignores another manager owning status fields that are not the binding, and spec fields', () => {
    const obj = claim([
      statusEntry('berth', { 'f:phase': {}, 'f:instance': {} }),
      statusEntry('metrics-bot', { 'f:waitDurationMs': {} }),
      { manager: 'kubectl-client-side-apply', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:poolRef': {} } } },
    ]);
    expect(bindingEditedBy(obj)).toBeUndefined();
  });

  it('treats an entry without a manager name as someone else', () => {
    expect(bindingEditedBy(claim([{ subresource: 'status', fieldsV1: { 'f:status': { 'f:containerId': {} } } }]))).toBe('an unnamed manager');
  });

  it('is undefined without managedFields (stripped, or an old apiserver)', () => {
    expect(bindingEditedBy({ metadata: { name: 'c1' } })).toBeUndefined();
    expect(bindingEditedBy(claim('nope' as unknown as unknown[]))).toBeUndefined();
  });
});
