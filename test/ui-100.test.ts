// The status page with the bench's 100 instances on the real engine: the
// figures it shows match the API's, and stay live as containers are killed
// and restarted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { chromiumAvailable, launchBrowser, type TestBrowser } from './support/browser.js';
import { testDocker } from './support/engine.js';
import { noEngine } from './support/provided.js';
import { eventually } from './support/runtime-contract.js';
import { freePort, instanceYaml, killController, removeDirs, spawnController, testDirs, writeSpec, type ControllerProcess, type TestDirs } from './support/controller.js';

const N = 100;
const API = '/apis/berth.dev/v1alpha1';

interface Inst {
  metadata: { name: string; namespace: string };
  status?: { phase?: string; restartCount?: number; configHash?: string; containerId?: string };
}

describe.skipIf(noEngine() || (!chromiumAvailable() && process.env['CI'] !== 'true'))(`status page with ${N} instances on the engine`, () => {
  let d: TestDirs;
  let proc: ControllerProcess;
  let browser: TestBrowser;
  let page: Page;
  // Before its first sync the controller answers 503 (not ready): no list yet.
  const list = async (): Promise<Inst[]> => {
    const r = await fetch(`${proc.server}${API}/namespaces/bench/instances`);
    if (!r.ok) throw new Error(`list answered ${r.status}`);
    return ((await r.json()) as { items: Inst[] }).items;
  };

  beforeAll(async () => {
    d = await testDirs();
    const spec = Array.from({ length: N }, (_, i) => instanceYaml(`bench-${String(i).padStart(3, '0')}`, { network: 'none', resources: { cpus: '0.1', memory: '16Mi', pids: 16 }, stopGracePeriodSeconds: 1 }, 'bench')).join('---\n');
    await writeSpec(d, 'bench.yaml', spec);
    proc = await spawnController(d, await freePort());
    await eventually(`${N} instances Ready`, async () => {
      const items = await list().catch(() => []);
      return items.length === N && items.every((i) => i.status?.phase === 'Ready') ? true : undefined;
    }, 240_000);
    browser = await launchBrowser({ viewport: { width: 1280, height: 900 } });
    page = await browser.context.newPage();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await killController(proc);
    if (d) await removeDirs(d);
  });

  const rowOf = async (name: string) => {
    await page.getByTestId('instance-filter').fill(`bench/${name}`);
    const row = page.locator(`[data-testid=instance-row][data-key="bench/${name}"]`);
    await row.waitFor({ timeout: 10_000 });
    const cells = await row.locator(':scope > span').allTextContents();
    return { phase: await row.getAttribute('data-phase'), cells };
  };

  it('shows the same figures as the API', async () => {
    await page.goto(proc.server + '/');
    await page.locator('[data-testid=instance-count]', { hasText: `${N} ready of ${N}` }).waitFor({ timeout: 20_000 });
    const items = await list();
    for (const i of items.filter((_, k) => k % 10 === 3)) {
      const { phase, cells } = await rowOf(i.metadata.name);
      expect(phase).toBe(i.status!.phase);
      expect(cells).toContain(String(i.status!.restartCount ?? 0));
      expect(cells.join(' ')).toContain(i.status!.configHash!.replace(/^v\d+-/, '').slice(0, 10));
    }
  });

  it('follows kills and restarts live', async () => {
    await page.getByTestId('instance-filter').fill('');
    const victims = (await list()).slice(0, 5);
    for (const v of victims) await testDocker().getContainer(v.status!.containerId!).kill({ signal: 'SIGKILL' });
    const restarted = await eventually('the API reports 5 restarts', async () => {
      const now = await list();
      const back = now.filter((i) => victims.some((v) => v.metadata.name === i.metadata.name) && (i.status?.restartCount ?? 0) >= 1 && i.status?.phase === 'Ready');
      return back.length === 5 ? now : undefined;
    }, 120_000);
    await page.locator('[data-testid=instance-count]', { hasText: `${N} ready of ${N}` }).waitFor({ timeout: 10_000 });
    for (const v of victims) {
      const api = restarted.find((i) => i.metadata.name === v.metadata.name)!;
      await expect.poll(async () => (await rowOf(v.metadata.name)).cells[3], { timeout: 5_000 }).toBe(String(api.status!.restartCount));
    }
  });
});
