/**
 * The docs site in a real browser: builds the site, serves it with COOP/COEP headers on 127.0.0.1, drives
 * Debian's Chromium headless, runs the live demo with fixed settings and checks that the perplexities it
 * shows equal what `stade prune --eval --json` prints for the same settings (1e-3 relative); then renders every
 * page (no console errors) and checks every internal link. Screenshot: apps/docs/test-artifacts/demo.png.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoModels, demoTextDir } from '../scripts/build.mjs';
import { serve } from '../scripts/serve.mjs';
import { chromiumMissing, launch } from './browser.js';
import { brokenLinks, htmlPages } from './links.js';

const app = fileURLToPath(new URL('../', import.meta.url));
const repo = resolve(app, '../..');
const dist = join(app, 'dist');
const artifacts = join(app, 'test-artifacts');

const missing = chromiumMissing();
const ci = process.env.CI === 'true';
if (missing && !ci) console.warn(`docs e2e skipped: ${missing}`);

// In CI a missing browser is a failing test with the reason, never a silent skip.
describe.runIf(ci || missing === null)('docs e2e prerequisites', () => {
  it('Debian chromium is installed', () => {
    expect(missing, missing ?? '').toBeNull();
  });
});

const SETTINGS = {
  method: 'stade',
  sparsity: 0.5,
  pattern: 'unstructured',
  nsamples: 4,
  sampling: 'contiguous',
  seed: 0,
  maxWindows: 16,
  zeroshotDocs: 24,
};

/** The demo's default model (the CLI's default too: models/stade-llama-tiny when present). */
const model = () => demoModels()[0]!;

/** Runs the demo page at `url` with SETTINGS and returns what it shows. */
async function runDemo(context: BrowserContext, url: string, seqlen: number, screenshot?: string) {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}demo.html`);
  const isolated = await page.evaluate(() => crossOriginIsolated);
  await page.selectOption('#model', model().name);
  await page.selectOption('#method', SETTINGS.method);
  await page.selectOption('#pattern', SETTINGS.pattern);
  await page.fill('#sparsity', String(SETTINGS.sparsity));
  await page.fill('#nsamples', String(SETTINGS.nsamples));
  await page.fill('#seqlen', String(seqlen));
  await page.selectOption('#sampling', SETTINGS.sampling);
  await page.fill('#seed', String(SETTINGS.seed));
  await page.fill('#max-windows', String(SETTINGS.maxWindows));
  await page.fill('#zeroshot-docs', String(SETTINGS.zeroshotDocs));
  await page.click('#run');
  await page.waitForSelector('#result[data-status="done"], #result[data-status="error"]', { timeout: 150_000 });
  const shown = await page.evaluate(() => {
    const r = document.getElementById('result')!;
    const d = r.dataset;
    const bars = r.querySelectorAll('svg.chart rect.bar').length;
    return {
      status: d.status,
      platform: d.platform,
      threads: d.threads,
      parallelCalls: d.parallelCalls,
      dense: d.dense,
      pruned: d.pruned,
      zeroshot: d.zeroshot,
      text: r.textContent ?? '',
      bars,
    };
  });
  if (screenshot) {
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, screenshot), fullPage: true });
  }
  await page.close();
  return { ...shown, isolated, errors };
}

describe.runIf(missing === null)('docs site in Chromium', () => {
  let server: Server | undefined;
  let base = '';
  let threaded: Awaited<ReturnType<typeof runDemo>> | null = null;
  let browser: { context: BrowserContext; close: () => Promise<void> } | undefined;

  beforeAll(async () => {
    const b = spawnSync(process.execPath, [join(app, 'scripts/build.mjs')], { cwd: repo, encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`docs build failed (exit ${b.status}):\n${b.stderr}\n${b.stdout}`);
    const s = (await serve(dist)) as { server: Server; url: string };
    server = s.server;
    base = s.url;
    browser = await launch();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  it('the demo prunes in the browser (threaded pool) and matches `stade prune --eval --json`', async () => {
    const cfg = JSON.parse(readFileSync(join(model().dir, 'config.json'), 'utf8')) as {
      max_position_embeddings: number;
    };
    const seqlen = Math.min(64, cfg.max_position_embeddings);
    const shown = await runDemo(browser!.context, base, seqlen, 'demo.png');
    threaded = shown;
    expect(shown.isolated).toBe(true);
    expect(shown.status, shown.text).toBe('done');
    expect(shown.errors).toEqual([]);
    // The threaded path really ran: the browser pool backend split work across Web Workers.
    expect(shown.platform).toBe('browser');
    expect(Number(shown.threads)).toBeGreaterThan(1);
    expect(Number(shown.parallelCalls)).toBeGreaterThan(0);
    expect(shown.bars).toBeGreaterThan(0);

    const tmp = mkdtempSync(join(tmpdir(), 'stade-docs-e2e-'));
    try {
      const text = demoTextDir();
      const args = [
        join(repo, 'apps/cli/dist/main.js'),
        'prune',
        '--model',
        model().dir,
        '--method',
        SETTINGS.method,
        '--sparsity',
        String(SETTINGS.sparsity),
        '--pattern',
        SETTINGS.pattern,
        '--nsamples',
        String(SETTINGS.nsamples),
        '--seqlen',
        String(seqlen),
        '--sampling',
        SETTINGS.sampling,
        '--seed',
        String(SETTINGS.seed),
        '--calib',
        join(text, 'calibration.txt'),
        '--eval',
        join(text, 'eval.txt'),
        '--max-windows',
        String(SETTINGS.maxWindows),
        '--out',
        join(tmp, 'pruned'),
        '--json',
      ];
      const cli = spawnSync(process.execPath, args, { encoding: 'utf8' });
      expect(cli.status, cli.stderr).toBe(0);
      const ppl = (JSON.parse(cli.stdout) as { ppl: { dense: number; pruned: number } }).ppl;
      const dense = Number(shown.dense);
      const pruned = Number(shown.pruned);
      expect(Math.abs(dense - ppl.dense) / ppl.dense).toBeLessThan(1e-3);
      expect(Math.abs(pruned - ppl.pruned) / ppl.pruned).toBeLessThan(1e-3);
      expect(pruned).not.toBe(dense);
      // zero-shot through @stade/eval in the browser = `stade zeroshot --limit N` on the dense and pruned models
      const zs = JSON.parse(shown.zeroshot!) as {
        n: number;
        dense: { acc: number; lls: number[][]; preds: number[] };
        pruned: { acc: number; lls: number[][]; preds: number[] };
      };
      expect(zs.n).toBe(SETTINGS.zeroshotDocs);
      for (const [dir, got] of [
        [model().dir, zs.dense],
        [join(tmp, 'pruned'), zs.pruned],
      ] as const) {
        const samples = join(tmp, 'samples.jsonl');
        const z = spawnSync(
          process.execPath,
          [
            join(repo, 'apps/cli/dist/main.js'),
            'zeroshot',
            '--model',
            dir,
            '--limit',
            String(SETTINGS.zeroshotDocs),
            '--samples',
            samples,
            '--json',
          ],
          { encoding: 'utf8' },
        );
        expect(z.status, z.stderr).toBe(0);
        const want = (JSON.parse(z.stdout) as { tasks: Record<string, { acc: number }> }).tasks.last_word!;
        const lines = readFileSync(samples, 'utf8').trim().split('\n');
        const docs = lines.map((l) => JSON.parse(l) as { lls: number[]; pred: number });
        expect(got.acc).toBe(want.acc);
        expect(got.preds).toEqual(docs.map((d) => d.pred));
        docs.forEach((d, i) => {
          d.lls.forEach((ll, j) => {
            expect(Math.abs(got.lls[i]![j]! - ll)).toBeLessThanOrEqual(1e-5 * Math.abs(ll));
          });
        });
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 240_000);

  it('without cross-origin isolation the demo runs on one thread with bit-identical results', async () => {
    const cfg = JSON.parse(readFileSync(join(model().dir, 'config.json'), 'utf8')) as {
      max_position_embeddings: number;
    };
    const seqlen = Math.min(64, cfg.max_position_embeddings);
    const plain = (await serve(dist, 0, { isolate: false })) as { server: Server; url: string };
    try {
      const single = await runDemo(browser!.context, plain.url, seqlen);
      expect(single.status, single.text).toBe('done');
      expect(single.errors).toEqual([]);
      expect(single.isolated).toBe(false);
      expect(single.platform).toBe('null');
      expect(single.parallelCalls).toBe('0');
      expect(threaded, 'the threaded run ran first').not.toBeNull();
      expect(single.dense).toBe(threaded!.dense);
      expect(single.pruned).toBe(threaded!.pruned);
      expect(single.zeroshot).toBe(threaded!.zeroshot);
    } finally {
      plain.server.close();
    }
  }, 240_000);

  it('every page renders without console errors, and no internal link is broken', async () => {
    const pages = htmlPages(dist);
    expect(pages).toContain('index.html');
    expect(pages).toContain('api/index.html');
    // The API reference covers the three packages' public entries (a few spot checks).
    expect(pages).toContain('api/modules/_stade_tensor.html');
    expect(pages).toContain('api/classes/_stade_transformer.SafetensorsBuffer.html');
    expect(pages).toContain('api/functions/_stade_prune.pruneModel.html');
    expect(pages.length).toBeGreaterThan(20);
    const broken = pages.flatMap((p) => brokenLinks(dist, p));
    expect(broken).toEqual([]);
    // Rendered in the browser: every hand-written/generated page, and the API reference's index plus the
    // first page of each of its sections (its ~200 pages share one template; all of their links are checked).
    const apiSections = new Map<string, string>();
    for (const p of pages) {
      const m = /^api\/([^/]+)\//.exec(p);
      if (m && !apiSections.has(m[1]!)) apiSections.set(m[1]!, p);
    }
    const rendered = [...pages.filter((p) => !p.startsWith('api/')), 'api/index.html', ...apiSections.values()];
    expect(apiSections.size).toBeGreaterThan(2);
    const page = await browser!.context.newPage();
    const errors: string[] = [];
    let current = '';
    page.on('console', (m) => m.type() === 'error' && errors.push(`${current}: ${m.text()}`));
    page.on('pageerror', (e) => errors.push(`${current}: ${e.message}`));
    // A request aborted by our own next navigation is not a broken page; a missing file still shows up as a
    // 404 console error, and any other network failure is reported.
    page.on('requestfailed', (r) => {
      const why = r.failure()?.errorText ?? '';
      if (why !== 'net::ERR_ABORTED') errors.push(`${current}: request failed ${r.url()} (${why})`);
    });
    for (const p of rendered) {
      current = p;
      const res = await page.goto(base + p, { waitUntil: 'load' });
      expect(res?.status(), p).toBe(200);
      const h1 = await page.locator('h1').first().textContent();
      expect(h1?.trim().length ?? 0, `${p} has a title`).toBeGreaterThan(0);
    }
    await page.close();
    expect(errors).toEqual([]);
  }, 180_000);
});
