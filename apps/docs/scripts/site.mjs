// @ts-check
/**
 * Markdown -> HTML pages with one shared layout and navigation. Links between markdown files (`x.md`,
 * `../y.md#part`) become links to the generated `.html` pages; headings get stable ids for anchors.
 */
import { Marked } from 'marked';

/** @typedef {{ slug: string, title: string, section?: string }} NavItem */

/** The navigation, in order. `slug` is the output path without `.html`, relative to the site root. */
export const NAV = /** @type {NavItem[]} */ ([
  { slug: 'index', title: 'Overview' },
  { slug: 'getting-started', title: 'Getting started' },
  { slug: 'demo', title: 'Live demo' },
  { slug: 'cli', title: 'CLI reference' },
  { slug: 'speed', title: 'Speed of pruned models' },
  { slug: 'zeroshot', title: 'Zero-shot accuracy' },
  { slug: 'methods/magnitude', title: 'Magnitude', section: 'Methods' },
  { slug: 'methods/wanda', title: 'Wanda', section: 'Methods' },
  { slug: 'methods/stade', title: 'STADE', section: 'Methods' },
  { slug: 'methods/stadew', title: 'STADE-W', section: 'Methods' },
  { slug: 'methods/sparsegpt', title: 'SparseGPT', section: 'Methods' },
  { slug: 'methods/owl', title: 'OWL', section: 'Methods' },
  { slug: 'analyze', title: 'Analyse before pruning', section: 'Methods' },
  { slug: 'architecture', title: 'Architecture', section: 'Internals' },
  { slug: 'adding-a-model', title: 'Adding an architecture', section: 'Internals' },
  { slug: 'benchmarks', title: 'Benchmarks', section: 'Internals' },
  { slug: 'faq', title: 'FAQ' },
  { slug: 'api/index', title: 'API reference' },
]);

/** `a/b` -> `../` (the way from a page back to the site root). */
export const rootOf = (/** @type {string} */ slug) => '../'.repeat(slug.split('/').length - 1);

/** A heading's anchor id (lower case, words joined by dashes). */
export function slugify(/** @type {string} */ text) {
  return text
    .toLowerCase()
    .replace(/<[^>]+>/g, '')
    .replace(/&[a-z0-9#]+;/g, '')
    .replace(/[^a-z0-9 _-]/g, '')
    .trim()
    .replace(/[\s_]+/g, '-');
}

const escapeHtml = (/** @type {string} */ s) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);

/** Rewrites a markdown-relative link: `x.md#y` -> `x.html#y`; external and anchor-only links unchanged. */
export function rewriteHref(/** @type {string} */ href) {
  if (/^[a-z]+:/i.test(href) || href.startsWith('#') || href.startsWith('/')) return href;
  return href.replace(/^([^#?]*?)\.md(?=$|[#?])/, '$1.html');
}

/** Renders markdown to an HTML fragment; returns it with the first `#` heading as the title. */
export function renderMarkdown(/** @type {string} */ md) {
  const marked = new Marked({ gfm: true });
  /** @type {Map<string, number>} */
  const seen = new Map();
  let title = '';
  marked.use({
    renderer: {
      heading({ tokens, depth }) {
        const inner = this.parser.parseInline(tokens);
        let id = slugify(inner);
        const n = seen.get(id) ?? 0;
        seen.set(id, n + 1);
        if (n > 0) id = `${id}-${n}`;
        if (depth === 1 && !title) title = inner.replace(/<[^>]+>/g, '');
        return `<h${depth} id="${id}"><a class="anchor" href="#${id}">#</a>${inner}</h${depth}>\n`;
      },
      link({ href, title: t, tokens }) {
        const inner = this.parser.parseInline(tokens);
        const ext = /^https?:/i.test(href) ? ' rel="noopener"' : '';
        return `<a href="${escapeHtml(rewriteHref(href))}"${t ? ` title="${escapeHtml(t)}"` : ''}${ext}>${inner}</a>`;
      },
    },
  });
  const html = /** @type {string} */ (marked.parse(md));
  return { html, title };
}

/** The full HTML page for `slug` with the shared layout and navigation. */
export function layout(
  /** @type {{ slug: string, title: string, body: string, head?: string, scripts?: string }} */ p,
) {
  const root = rootOf(p.slug);
  let section = '';
  const nav = [];
  for (const item of NAV) {
    if ((item.section ?? '') !== section) {
      section = item.section ?? '';
      if (section) nav.push(`<li class="section">${escapeHtml(section)}</li>`);
    }
    const cur = item.slug === p.slug ? ' aria-current="page"' : '';
    nav.push(`<li><a href="${root}${item.slug}.html"${cur}>${escapeHtml(item.title)}</a></li>`);
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(p.title)} · stade</title>
<link rel="icon" href="${root}favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${root}style.css">
${p.head ?? ''}</head>
<body>
<header class="top"><a class="brand" href="${root}index.html">stade</a><span class="tag">post-training pruning of LLMs in pure TypeScript</span></header>
<div class="wrap">
<nav class="side"><ul>
${nav.join('\n')}
</ul></nav>
<main>
${p.body}
</main>
</div>
${p.scripts ?? ''}</body>
</html>
`;
}
