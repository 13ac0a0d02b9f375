/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { NODE_BIN, SERVER_BIN, type Started, startProcess, stop, waitFor } from '../support/processes.js';

const CHROMIUM = '/usr/bin/chromium';
const reason = existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed (apt-get install chromium)`;
if (reason) {
  if (process.env.CI === 'true') throw new Error(`the dashboard browser test cannot run under CI: ${reason}`);
  console.warn(`dashboard browser test skipped: ${reason}`);
}
const artifacts = fileURLToPath(new URL('../../artifacts/', import.meta.url));

describe.runIf(reason === null)('the dashboard in a real browser', () => {
  let demo: Started | undefined;
  let timingOnly: Started | undefined;
  afterAll(async () => {
    if (timingOnly) await stop(timingOnly);
    if (demo) await stop(demo);
  });

  it("shows the nodes of a running demo, draws its charts and shows each camera's live thumbnail", async () => {
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

      // Thumbnails: the demo's cameras have pixels; each tile is a real JPEG the page loaded (320x180, like the camera).
      await page.waitForFunction(
        () => {
          const images = [...document.querySelectorAll<HTMLImageElement>('#cameras figure img')];
          return images.length === 4 && images.every((img) => img.complete && img.naturalWidth > 0);
        },
        undefined,
        { timeout: 30_000 },
      );
      const first = await page.evaluate(readTiles);
      expect(first.map((t) => t.camera).sort()).toEqual(['host0/cam0', 'host0/cam1', 'host1/cam0', 'host1/cam1']);
      for (const t of first) {
        expect([t.width, t.height]).toEqual([320, 180]);
        expect(t.caption).toMatch(new RegExp(`^${t.camera} · \\d+\\.\\d fps · \\d+ drops$`));
        // An image, not a flat fill: the test pattern's ramp and text spread the luma.
        expect(Math.max(...t.luma) - Math.min(...t.luma)).toBeGreaterThan(100);
      }
      // The page fetches a camera's image again when the feed says a newer one came: its pixels move.
      await page.waitForFunction(
        (versions) =>
          [...document.querySelectorAll<HTMLImageElement>('#cameras figure img')].every(
            (img) => img.complete && img.naturalWidth > 0 && Number(img.dataset.version) >= (versions[img.alt] ?? 0) + 2,
          ),
        Object.fromEntries(first.map((t) => [t.camera, t.version])),
        { timeout: 30_000 },
      );
      const later = await page.evaluate(readTiles);
      for (const t of later) {
        const before = first.find((f) => f.camera === t.camera)!;
        expect(t.version).toBeGreaterThan(before.version);
        const meanDiff = t.luma.reduce((sum, v, i) => sum + Math.abs(v - before.luma[i]!), 0) / t.luma.length;
        expect(meanDiff).toBeGreaterThan(1);
      }
      // A node whose cameras have no pixels (timing only) gets a placeholder saying so, not a broken image.
      const [, server, token] = /^nodes join with: syncap-node join (\S+) --token (\S+)$/.exec(demo.stdout.find((l) => l.startsWith('nodes join with: '))!)!;
      timingOnly = startProcess(NODE_BIN, ['join', server!, '--token', token!, '--node-id', 'timing', '--simulate', '1', '--duration-s', '60']);
      await page.waitForFunction(
        () =>
          document.querySelector('#cameras figure[data-camera="timing/cam0"] .placeholder')?.textContent ===
          'no preview: a simulated camera without pixels (timing only)',
        undefined,
        {
          timeout: 30_000,
        },
      );
      expect(await page.$$('#cameras figure[data-camera="timing/cam0"] img')).toHaveLength(0);
      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: `${artifacts}dashboard.png`, fullPage: true });
    } finally {
      await browser.close();
    }
  }, 120_000);
});

/** In the page: each camera tile's image drawn to a canvas, as luma samples on a grid (every 8th pixel each way). */
function readTiles() {
  return [...document.querySelectorAll<HTMLElement>('#cameras figure')].flatMap((figure) => {
    const img = figure.querySelector('img');
    if (!img) return [];
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const context = canvas.getContext('2d')!;
    context.drawImage(img, 0, 0);
    const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
    const luma: number[] = [];
    for (let y = 0; y < canvas.height; y += 8)
      for (let x = 0; x < canvas.width; x += 8) {
        const i = (y * canvas.width + x) * 4;
        luma.push(Math.round(0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!));
      }
    return [
      {
        camera: figure.dataset.camera!,
        version: Number(img.dataset.version),
        width: img.naturalWidth,
        height: img.naturalHeight,
        caption: figure.querySelector('figcaption')!.textContent!,
        luma,
      },
    ];
  });
}
