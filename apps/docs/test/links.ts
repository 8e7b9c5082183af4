/** Internal link checking over the built site (files on disk, the way the static server resolves them). */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Every .html file under `root`, as paths relative to it. */
export function htmlPages(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.html')) out.push(relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

const ids = new Map<string, Set<string>>();
function idsOf(file: string): Set<string> {
  let s = ids.get(file);
  if (!s) {
    s = new Set([...readFileSync(file, 'utf8').matchAll(/\s(?:id|name)="([^"]+)"/g)].map((m) => m[1]!));
    ids.set(file, s);
  }
  return s;
}

const decode = (s: string) =>
  s
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");

/**
 * Broken internal links of one page: href/src attributes that are relative (no scheme, no leading `//`) and
 * point at a missing file, or at a missing `#id` of an HTML page.
 */
export function brokenLinks(root: string, page: string): string[] {
  const file = join(root, page);
  const html = readFileSync(file, 'utf8');
  const bad: string[] = [];
  for (const m of html.matchAll(/\s(?:href|src)="([^"]*)"/g)) {
    const raw = decode(m[1]!);
    if (raw === '' || /^[a-z][a-z0-9+.-]*:/i.test(raw) || raw.startsWith('//')) continue;
    const [pathPart, frag] = raw.split('#', 2) as [string, string | undefined];
    const path = pathPart.split('?')[0]!;
    let target = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
    if (path.endsWith('/')) target = join(target, 'index.html');
    if (!target.startsWith(resolve(root)) || !existsSync(target) || statSync(target).isDirectory()) {
      bad.push(`${page}: ${raw} (no such file)`);
      continue;
    }
    if (frag && target.endsWith('.html') && !idsOf(target).has(decodeURIComponent(frag))) {
      bad.push(`${page}: ${raw} (no element with id "${frag}")`);
    }
  }
  return bad;
}
