/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SERVER_BIN, type Started, startProcess, stop, waitFor } from '../support/processes.js';

const CHROMIUM = '/usr/bin/chromium';
const reason = existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed (apt-get install chromium)`;
if (reason) {
  if (process.env.CI === 'true') throw new Error(`the dashboard browser test cannot run under CI: ${reason}`);
  console.warn(`dashboard browser test skipped: ${reason}`);
}
const artifacts = fileURLToPath(new URL('../../artifacts/', import.meta.url));

describe.runIf(reason === null)('the dashboard in a real browser', () => {
  let demo: Started | undefined;
  afterAll(async () => {
    if (demo) await stop(demo);
  });

  it('shows the nodes of a running demo and draws its charts', async () => {
    const { chromium } = await import('playwright-core');
    demo = startProcess(SERVER_BIN, ['demo', '--port', '0', '--hosts', '2', '--cameras', '2']);
    const url = await waitFor(
      () => demo!.stdout.find((l) => l.startsWith('dashboard: '))?.slice('dashboard: '.length),
      20_000,
      'the demo to print its dashboard URL',
    );
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
      await page.goto(url);
      // The nodes table fills from the live feed: both nodes, connected.
      await page.waitForFunction(() => document.querySelectorAll('#nodes tbody tr').length === 2, undefined, { timeout: 30_000 });
      await page.waitForFunction(
        () => [...document.querySelectorAll('#nodes tbody tr td:nth-child(2)')].every((td) => td.textContent === 'connected'),
        undefined,
        {
          timeout: 30_000,
        },
      );
      // Charts draw once groups flow: wait for a dozen ticks with data.
      await page.waitForFunction(() => Number(document.body.dataset.ticks ?? 0) >= 12, undefined, { timeout: 40_000 });
      const rows = await page.$$eval('#nodes tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.node));
      expect(rows.sort()).toEqual(['host0', 'host1']);
      // Pixels: each chart's canvas has plotted strokes (coloured pixels, not only background/grid).
      const coloured = await page.evaluate(() =>
        ['#span-chart canvas', '#phase-chart canvas'].map((sel) => {
          const canvas = document.querySelector(sel) as HTMLCanvasElement;
          const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
          let n = 0;
          for (let i = 0; i < data.length; i += 4) {
            const [r, g, b, a] = [data[i]!, data[i + 1]!, data[i + 2]!, data[i + 3]!];
            if (a > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 60) n++; // saturated: a series line, not grey grid
          }
          return n;
        }),
      );
      expect(coloured[0]).toBeGreaterThan(50);
      expect(coloured[1]).toBeGreaterThan(50);
      expect(await page.textContent('#summary')).toMatch(/^2 connected · 0 reconnecting · 0 departed · \d+ global groups/);
      // The demo's nodes phase-lock and say so.
      for (const text of await page.$$eval('#nodes tbody tr td:nth-child(4)', (tds) => tds.map((td) => td.textContent)))
        expect(text).toMatch(/^[0-2]\/2 locked$/);
      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: `${artifacts}dashboard.png`, fullPage: true });
    } finally {
      await browser.close();
    }
  }, 120_000);
});
