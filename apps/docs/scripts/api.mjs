// @ts-check
/** The API reference: typedoc over the public entry points of the three packages. */
import { join } from 'node:path';

export async function buildApi(/** @type {string} */ repo, /** @type {string} */ out, /** @type {string} */ favicon) {
  const td = await import('typedoc');
  const app = await td.Application.bootstrapWithPlugins({
    entryPoints: ['tensor', 'transformer', 'prune'].map((p) => join(repo, 'packages', p, 'src/index.ts')),
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
      const pkg = /^(tensor|transformer|prune)\b/.exec(m.name);
      if (pkg) m.name = `@stade/${pkg[1]}`;
    }
  });
  const project = await app.convert();
  if (!project) throw new Error('typedoc could not convert the packages (see the messages above)');
  await app.generateDocs(project, out);
}
