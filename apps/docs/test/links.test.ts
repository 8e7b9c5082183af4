import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { brokenLinks, htmlPages } from './links.js';

describe('internal link checker', () => {
  it('reports missing files and missing anchors, accepts good and external links', () => {
    const root = mkdtempSync(join(tmpdir(), 'stade-docs-links-'));
    try {
      mkdirSync(join(root, 'methods'));
      mkdirSync(join(root, 'api'));
      writeFileSync(join(root, 'index.html'), '<h1 id="top">x</h1><a href="methods/a.html#why">ok</a>');
      writeFileSync(join(root, 'api', 'index.html'), '<p>api</p>');
      writeFileSync(
        join(root, 'methods', 'a.html'),
        [
          '<h2 id="why">why</h2>',
          '<a href="../index.html#top">ok</a>',
          '<a href="#why">ok</a>',
          '<a href="../api/">ok (folder index)</a>',
          '<a href="https://example.org/missing.html">external</a>',
          '<a href="../nope.html">missing file</a>',
          '<a href="../index.html#nowhere">missing anchor</a>',
          '<img src="../../outside.png">',
        ].join('\n'),
      );
      expect(htmlPages(root)).toEqual(['api/index.html', 'index.html', 'methods/a.html']);
      expect(brokenLinks(root, 'index.html')).toEqual([]);
      expect(brokenLinks(root, 'methods/a.html')).toEqual([
        'methods/a.html: ../nope.html (no such file)',
        'methods/a.html: ../index.html#nowhere (no element with id "nowhere")',
        'methods/a.html: ../../outside.png (no such file)',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
