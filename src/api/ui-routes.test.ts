import { describe, expect, it } from 'vitest';
import { containerPath } from './archive.js';
import { claimWaitHistograms, type MetricJson } from './overview.js';
import { matchRoute } from './routes.js';

describe('status page and archive routes', () => {
  it('serves the page at / and its files under /ui/', () => {
    expect(matchRoute('/')).toEqual({ type: 'ui-asset', file: 'index.html' });
    expect(matchRoute('/ui/')).toEqual({ type: 'ui-asset', file: 'index.html' });
    expect(matchRoute('/ui/app.js')).toEqual({ type: 'ui-asset', file: 'app.js' });
    expect(matchRoute('/ui/overview')).toEqual({ type: 'ui-overview' });
    expect(matchRoute('/ui/a/b.js')).toEqual({ type: 'unknown' });
    expect(matchRoute('/apis/berth.dev/v1alpha1/namespaces/default/instances/web/archive')).toMatchObject({ type: 'object', name: 'web', subresource: 'archive' });
    expect(matchRoute('/apis/berth.dev/v1alpha1/namespaces/default/instancepools/p/archive')).toEqual({ type: 'unknown' });
  });

  it('archive paths are absolute and normalised', () => {
    expect(containerPath('/work/../tmp/./x/')).toBe('/tmp/x');
    expect(containerPath('/')).toBe('/');
    expect(() => containerPath('work')).toThrow(/must be absolute/);
    expect(() => containerPath(null)).toThrow(/path parameter is required/);
    expect(() => containerPath('/a\0b')).toThrow(/NUL/);
  });

  it('reads the claim-wait histogram per pool from the registry', () => {
    const metrics: MetricJson[] = [
      {
        name: 'berth_claim_wait_seconds',
        values: [
          { metricName: 'berth_claim_wait_seconds_bucket', labels: { le: 0.01, pool: 'InstancePool/a/p' }, value: 2 },
          { metricName: 'berth_claim_wait_seconds_bucket', labels: { le: '+Inf', pool: 'InstancePool/a/p' }, value: 3 },
          { metricName: 'berth_claim_wait_seconds_count', labels: { pool: 'InstancePool/a/p' }, value: 3 },
          { metricName: 'berth_claim_wait_seconds_sum', labels: { pool: 'InstancePool/a/p' }, value: 1.5 },
        ],
      },
    ];
    expect(claimWaitHistograms(metrics)).toEqual([
      { pool: 'InstancePool/a/p', buckets: [{ le: 0.01, count: 2 }, { le: '+Inf', count: 3 }], count: 3, sumSeconds: 1.5 },
    ]);
  });
});
