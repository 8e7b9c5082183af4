// @ts-check
/** The API reference: typedoc over the public entry points of the packages. */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** Adds a link back to the site's home page to the toolbar of every generated page (relative, like the rest). */
function linkHome(/** @type {string} */ out) {
  const walk = (/** @type {string} */ d) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.html')) {
        const depth = relative(out, p).split(sep).length; // api/x.html -> 1: one level below the site root
        const html = readFileSync(p, 'utf8');
        const link = `<div id="tsd-toolbar-links"><a href="${'../'.repeat(depth)}index.html">stade docs</a></div>`;
        if (!html.includes('<div id="tsd-toolbar-links"></div>')) throw new Error(`typedoc page ${p}: no toolbar`);
        writeFileSync(p, html.replace('<div id="tsd-toolbar-links"></div>', link));
      }
    }
  };
  walk(out);
}

export async function buildApi(/** @type {string} */ repo, /** @type {string} */ out, /** @type {string} */ favicon) {
  const td = await import('typedoc');
  const app = await td.Application.bootstrapWithPlugins({
    entryPoints: ['tensor', 'transformer', 'prune', 'eval'].map((p) => join(repo, 'packages', p, 'src/index.ts')),
    tsconfig: join(repo, 'apps/docs/tsconfig.api.json'),
    name: 'stade API reference',
    readme: 'none',
    excludePrivate: true,
    excludeInternal: true,
    logLevel: 'Warn',
    skipErrorChecking: true,
    githubPages: false,
    hideGenerator: true,
    disableSources: true,
    favicon,
  });
  // Name the modules after the packages (typedoc would call them "tensor/src", ...).
  app.converter.on(td.Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const m of context.project.children ?? []) {
      const pkg = /^(tensor|transformer|prune|eval)\b/.exec(m.name);
      if (pkg) m.name = `@stade/${pkg[1]}`;
    }
  });
  const project = await app.convert();
  if (!project) throw new Error('typedoc could not convert the packages (see the messages above)');
  await app.generateDocs(project, out);
  linkHome(out);
}
