// The status page with 1,000 instances, 50 pools and 1,000 events, through the
// real API server (the objects are only records: no controller runs, so no
// containers are made): the page lists them all, renders only the rows in
// view, and follows a burst of 1,000 status changes without a long task
// blocking the page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startHarness, type Harness } from '../src/api/testing/harness.js';
import { InstancePoolSchema, InstanceSchema } from '../src/spec/schema.js';
import { chromiumAvailable, launchBrowser, type TestBrowser } from './support/browser.js';

const N = 1_000;

describe.skipIf(!chromiumAvailable() && process.env['CI'] !== 'true')('status page at 1,000 objects', () => {
  let h: Harness;
  let browser: TestBrowser;
  let page: Page;
  const origin = { source: 'api' as const };
  const key = (i: number) => ({ kind: 'Instance' as const, namespace: `ns-${i % 10}`, name: `inst-${String(i).padStart(4, '0')}` });
  const status = (phase: string, i: number) => ({
    phase,
    restartCount: i % 3,
    configHash: `v1-${(i * 2654435761).toString(16).padStart(12, '0')}`,
    conditions: [{ type: 'Ready', status: phase === 'Ready' ? 'True' : 'False', reason: phase, message: '', lastTransitionTime: new Date().toISOString() }],
    usage: { cpu: `${(i % 100) / 10}%`, memory: `${i % 512}Mi`, pids: 1 + (i % 7) },
  });

  beforeAll(async () => {
    h = await startHarness({ uiDirs: [new URL('../dist/ui/', import.meta.url).pathname] });
    for (let i = 0; i < N; i++) {
      const k = key(i);
      h.deps.store.apply(InstanceSchema.parse({ apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', metadata: { name: k.name, namespace: k.namespace }, spec: { image: 'berth-test/busybox:1' } }), origin);
      h.deps.store.setStatus(k, status('Ready', i));
    }
    for (let p = 0; p < 50; p++) {
      h.deps.store.apply(InstancePoolSchema.parse({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstancePool', metadata: { name: `pool-${p}`, namespace: 'pools' }, spec: { minReady: 2, maxSize: 6, template: { image: 'berth-test/busybox:1' } } }), origin);
      h.deps.store.setStatus({ kind: 'InstancePool', namespace: 'pools', name: `pool-${p}` }, { replicas: 5, ready: 2, claimed: 2, updatedReplicas: 5, configHash: 'x', observedGeneration: 1, conditions: [], claimWait: { p50Ms: 3, p99Ms: 11, count: 40 } });
    }
    for (let e = 0; e < N; e++) h.deps.recorder.record({ involvedObject: key(e), type: 'Normal', reason: 'Created', message: `created container ${e}` });
    browser = await launchBrowser({ viewport: { width: 1280, height: 800 } });
    page = await browser.context.newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await h?.stop();
  });

  it('lists 1,000 instances and renders only the rows in view', async () => {
    const began = Date.now();
    await page.goto(h.base + '/');
    await page.locator('[data-testid=instance-count]', { hasText: `${N} ready of ${N}` }).waitFor({ timeout: 20_000 });
    console.info(`[ui-scale] first full render of ${N} instances, 50 pools, ${N} events: ${Date.now() - began} ms`);
    expect(await page.getByTestId('instances').getAttribute('data-rows')).toBe(String(N));
    expect(await page.getByTestId('instance-row').count()).toBeLessThan(100);
    // Pools arrive in their own list request, which may answer after the instances'.
    await page.getByTestId('pool-bar').nth(49).waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('pool-bar').count()).toBe(50);
    // Scrolling to the end shows the last rows.
    await page.getByTestId('instances').evaluate((el) => (el.scrollTop = el.scrollHeight));
    await page.locator('[data-testid=instance-row][data-key="ns-9/inst-0999"]').waitFor({ timeout: 5_000 });
  });

  it('follows a burst of 1,000 status changes without blocking the page', async () => {
    await page.evaluate(`(() => {
      window.longest = 0;
      new PerformanceObserver((l) => { for (const e of l.getEntries()) window.longest = Math.max(window.longest, e.duration); }).observe({ type: 'longtask', buffered: false });
    })()`);
    for (let i = 0; i < N; i++) h.deps.store.setStatus(key(i), status(i % 2 ? 'Ready' : 'Probing', i));
    await page.locator('[data-testid=instance-count]', { hasText: `${N / 2} ready of ${N}` }).waitFor({ timeout: 20_000 });
    const longest = (await page.evaluate('window.longest')) as number;
    console.info(`[ui-scale] longest task while following ${N} changes: ${Math.round(longest)} ms`);
    // A frame is 16 ms; a page that re-rendered every row per event would block for seconds.
    expect(longest).toBeLessThan(1_000);
  });
});
