import { describe, expect, it } from 'vitest';
import { columnsFor, eventColumns, headlineMessage, tableOf } from './columns.js';
import type { ApiEvent, ApiObject } from './objects.js';
import { renderTable, TablePrinter } from './table.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');

const instance = (name: string, status?: Record<string, unknown>, created = '2025-06-01T11:55:00Z'): ApiObject => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Instance',
  metadata: { name, namespace: 'default', creationTimestamp: created, generation: 1 },
  spec: { image: 'nginx' },
  ...(status ? { status } : {}),
});

const web = instance('web', {
  phase: 'running',
  containerId: '0123456789abcdef0123',
  configHash: 'v1-0123456789abcdef0123456789abcdef',
  restartCount: 2,
  conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'probe passing', lastTransitionTime: '2025-06-01T11:56:00Z' }],
});
const crashing = instance(
  'bot-tenant-42',
  {
    phase: 'failed',
    restartCount: 7,
    conditions: [{ type: 'Ready', status: 'False', reason: 'CrashLoopBackOff', message: 'exited with code 1;\nrestarting in 40s', lastTransitionTime: '2025-06-01T11:58:00Z' }],
  },
  '2025-05-30T12:00:00Z',
);
const fresh = instance('new', undefined, '2025-06-01T11:59:30Z');

describe('renderTable', () => {
  it('aligns columns like kubectl (at least 10 wide, 3 spaces apart, no trailing spaces)', () => {
    expect(renderTable(['NAME', 'AGE'], [['a', '1s'], ['a-much-longer-name', '10m']])).toBe(
      ['NAME                 AGE', 'a                    1s', 'a-much-longer-name   10m', ''].join('\n'),
    );
  });

  it('renders instances from object literals', () => {
    const { headers, rows } = tableOf(columnsFor('Instance'), [web, crashing, fresh], NOW);
    expect(renderTable(headers, rows)).toBe(
      [
        'NAME            PHASE     READY     RESTARTS   HASH           AGE',
        'web             running   True      2          0123456789ab   5m',
        'bot-tenant-42   failed    False     7          <none>         2d',
        'new             <none>    <none>    0          <none>         30s',
        '',
      ].join('\n'),
    );
  });

  it('wide adds CONTAINER and MESSAGE; -A adds NAMESPACE first', () => {
    const { headers, rows } = tableOf(columnsFor('Instance', { wide: true, allNamespaces: true }), [web, crashing], NOW);
    expect(renderTable(headers, rows)).toBe(
      [
        'NAMESPACE   NAME            PHASE     READY     RESTARTS   HASH           AGE       CONTAINER      MESSAGE',
        'default     web             running   True      2          0123456789ab   5m        0123456789ab',
        'default     bot-tenant-42   failed    False     7          <none>         2d        <none>         CrashLoopBackOff: exited with code 1; restarting in 40s',
        '',
      ].join('\n'),
    );
  });

  it('renders pools and claims', () => {
    const pool: ApiObject = { ...instance('py'), kind: 'InstancePool', spec: { minReady: 3 }, status: { ready: 2, claimed: 1, replicas: 4 } };
    expect(renderTable(...Object.values(tableOf(columnsFor('InstancePool'), [pool], NOW)) as [string[], string[][]])).toBe(
      ['NAME      READY     MIN-READY   CLAIMED   REPLICAS   AGE', 'py        2         3           1         4          5m', ''].join('\n'),
    );
    const claim: ApiObject = { ...instance('py-k3x9q'), kind: 'InstanceClaim', spec: { poolRef: { name: 'py' } }, status: { phase: 'Bound', instance: 'py-7f3a' } };
    const pending: ApiObject = { ...instance('py-zz'), kind: 'InstanceClaim', spec: { poolRef: { name: 'py' } } };
    expect(renderTable(...Object.values(tableOf(columnsFor('InstanceClaim'), [claim, pending], NOW)) as [string[], string[][]])).toBe(
      ['NAME       PHASE     POOL      INSTANCE   AGE', 'py-k3x9q   Bound     py        py-7f3a    5m', 'py-zz      Pending   py        <none>     5m', ''].join('\n'),
    );
  });

  it('renders events with repeat counts', () => {
    const e: ApiEvent = {
      metadata: { name: 'web.1', namespace: 'default' },
      involvedObject: { kind: 'Instance', namespace: 'default', name: 'web' },
      type: 'Warning',
      reason: 'BackOff',
      message: 'restarting container 0123456789ab (attempt 3)',
      count: 3,
      firstTimestamp: '2025-06-01T11:48:00Z',
      lastTimestamp: '2025-06-01T11:59:00Z',
    };
    const { headers, rows } = tableOf(eventColumns(), [e], NOW);
    expect(renderTable(headers, rows)).toBe(
      ['LAST SEEN           TYPE      REASON    OBJECT         MESSAGE', '60s (x3 over 12m)   Warning   BackOff   instance/web   restarting container 0123456789ab (attempt 3)', ''].join('\n'),
    );
  });

  it('headlineMessage prefers a Ready that is not True, then Degraded, then Progressing', () => {
    expect(headlineMessage(web)).toBe('');
    const degraded = instance('x', { conditions: [
      { type: 'Ready', status: 'True', reason: 'Ready', message: '', lastTransitionTime: '' },
      { type: 'Degraded', status: 'True', reason: 'ImagePullFailed', message: 'no such image', lastTransitionTime: '' },
    ] });
    expect(headlineMessage(degraded)).toBe('ImagePullFailed: no such image');
  });
});

describe('TablePrinter (watch output)', () => {
  it('prints the header once and keeps columns aligned as rows arrive', () => {
    let out = '';
    const p = new TablePrinter(['NAME', 'PHASE'], (t) => (out += t));
    p.print([]);
    expect(out).toBe('');
    p.print([['web', 'creating']]);
    p.print([['web', 'running']]);
    p.print([['a-very-long-instance-name', 'running']]);
    expect(out).toBe(
      ['NAME      PHASE', 'web       creating', 'web       running', 'a-very-long-instance-name   running', ''].join('\n'),
    );
  });
});
