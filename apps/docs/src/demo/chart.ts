/** The per-layer error chart: one SVG bar per pruned linear layer, log10 of its output MSE. */
import type { LayerRow } from './protocol.js';

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** An SVG string (no external assets, so it renders identically everywhere). */
export function layerErrorChart(layers: readonly LayerRow[], width = 720, height = 260): string {
  const rows = layers.filter((l) => l.mse !== null && l.mse > 0) as (LayerRow & { mse: number })[];
  if (rows.length === 0) return '<p class="note">No per-layer error was measured.</p>';
  const pad = { l: 56, r: 10, t: 12, b: 48 };
  const w = width - pad.l - pad.r;
  const h = height - pad.t - pad.b;
  const logs = rows.map((r) => Math.log10(r.mse));
  let lo = Math.floor(Math.min(...logs));
  const hi = Math.ceil(Math.max(...logs));
  if (lo === hi) lo = hi - 1;
  const y = (v: number) => pad.t + h - ((v - lo) / (hi - lo)) * h;
  const bw = w / rows.length;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" role="img" aria-label="per-layer output error" class="chart">`,
  ];
  for (let e = lo; e <= hi; e++) {
    parts.push(
      `<line x1="${pad.l}" x2="${width - pad.r}" y1="${y(e)}" y2="${y(e)}" class="grid"/>`,
      `<text x="${pad.l - 6}" y="${y(e) + 4}" text-anchor="end" class="tick">1e${e}</text>`,
    );
  }
  let prevBlock = -1;
  rows.forEach((r, i) => {
    const x = pad.l + i * bw;
    const top = y(logs[i]!);
    const short = r.name.split('.').pop() ?? r.name;
    parts.push(
      `<rect x="${(x + bw * 0.1).toFixed(2)}" y="${top.toFixed(2)}" width="${(bw * 0.8).toFixed(2)}" height="${(pad.t + h - top).toFixed(2)}" class="bar b${r.block % 2}"><title>${esc(r.name)}: mse ${r.mse.toExponential(3)}${r.cosine !== null ? `, cosine ${r.cosine.toFixed(5)}` : ''}</title></rect>`,
    );
    if (r.block !== prevBlock) {
      parts.push(`<text x="${x + 2}" y="${height - pad.b + 16}" class="tick">block ${r.block}</text>`);
      prevBlock = r.block;
    }
    if (bw > 28)
      parts.push(
        `<text x="${x + bw / 2}" y="${height - pad.b + 32}" text-anchor="middle" class="tick small">${esc(short)}</text>`,
      );
  });
  parts.push(
    `<text x="14" y="${pad.t + h / 2}" transform="rotate(-90 14 ${pad.t + h / 2})" text-anchor="middle" class="tick">output MSE (log)</text>`,
    '</svg>',
  );
  return parts.join('');
}
