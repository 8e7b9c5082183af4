import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMANDS, GLOBAL_FLAGS } from '@stade/cli/spec';
import { describe, expect, it } from 'vitest';
import { benchmarks, cliReference } from '../scripts/generated.mjs';
import { layout, NAV, renderMarkdown, rewriteHref, rootOf, slugify } from '../scripts/site.mjs';

describe('site generator', () => {
  it('rewrites links between markdown pages and leaves the rest alone', () => {
    expect(rewriteHref('faq.md')).toBe('faq.html');
    expect(rewriteHref('../architecture.md#the-tap')).toBe('../architecture.html#the-tap');
    expect(rewriteHref('methods/stade.md?x=1')).toBe('methods/stade.html?x=1');
    expect(rewriteHref('https://example.org/a.md')).toBe('https://example.org/a.md');
    expect(rewriteHref('#local')).toBe('#local');
    expect(rewriteHref('api/index.html')).toBe('api/index.html');
    expect(rewriteHref('notes.mdx')).toBe('notes.mdx');
  });

  it('gives headings unique ids and takes the title from the first h1', () => {
    const { html, title } = renderMarkdown('# Hello `world`\n\n## Same\n\n## Same\n\nsee [faq](faq.md)\n');
    expect(title).toBe('Hello world');
    expect(html).toContain('<h2 id="same">');
    expect(html).toContain('<h2 id="same-1">');
    expect(html).toContain('href="faq.html"');
    expect(slugify('STADE: <code>var</code> & bias!')).toBe('stade-var-bias');
  });

  it('links the navigation relative to each page', () => {
    expect(rootOf('index')).toBe('');
    expect(rootOf('methods/stade')).toBe('../');
    const page = layout({ slug: 'methods/stade', title: 'STADE', body: '<h1>STADE</h1>' });
    for (const item of NAV) expect(page).toContain(`href="../${item.slug}.html"`);
    expect(page).toContain('href="../style.css"');
    expect(page).toMatch(/href="..\/methods\/stade.html" aria-current="page"/);
  });

  it('the CLI reference lists every command and flag of the CLI spec', async () => {
    const md = await cliReference();
    for (const c of COMMANDS) {
      expect(md).toContain(`## stade ${c.name}`);
      for (const f of c.flags) expect(md).toContain(`\`--${f.name}`);
    }
    for (const f of GLOBAL_FLAGS) expect(md).toContain(`\`--${f.name}`);
  });

  it('benchmarks: a note without docs/bench.json, the figures with machine and date with it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stade-docs-bench-'));
    try {
      expect(benchmarks(join(dir, 'bench.json'))).toMatch(/No benchmark figures are committed yet/);
      const file = join(dir, 'bench.json');
      writeFileSync(
        file,
        JSON.stringify({
          machine: 'test box, 2 cores',
          date: '2026-11-29',
          results: [
            { op: 'matmul', shape: '64x64', gflops: 12.345678 },
            { op: 'prune', shape: 'opt', seconds: 1.5 },
          ],
        }),
      );
      const md = benchmarks(file);
      expect(md).toContain('measured on 2026-11-29 on test box, 2 cores');
      expect(md).toContain('| op | shape | gflops | seconds |');
      expect(md).toContain('| matmul | 64x64 | 12.35 |  |');
      const { html } = renderMarkdown(md);
      expect(html).toContain('<table>');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
