/** Escapes text for HTML/SVG. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** One line of a plot. */
export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
}

/** A line plot request. */
export interface PlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** Logarithmic y axis (only when every y is positive). */
  logY?: boolean;
  /** Tick labels for integer x positions (categorical axis, e.g. layer names). */
  xTickLabels?: readonly string[];
  width?: number;
  height?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f'];

/** Nice tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmtTick(v: number): string {
  if (v === 0) return '0';
  return Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(1) : String(Number(v.toPrecision(4)));
}

/** Renders a self-contained inline SVG line plot with axes, ticks and a legend. */
export function linePlot(spec: PlotSpec): string {
  const W = spec.width ?? 640;
  const H = spec.height ?? 360;
  const m = { l: 70, r: 150, t: 34, b: spec.xTickLabels ? 90 : 50 };
  const pts = spec.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const logY = spec.logY === true && pts.length > 0 && pts.every(([, y]) => y > 0);
  const ty = (y: number) => (logY ? Math.log10(y) : y);
  let [x0, x1] = pts.length ? [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))] : [0, 1];
  let [y0, y1] = pts.length ? [Math.min(...pts.map((p) => ty(p[1]))), Math.max(...pts.map((p) => ty(p[1])))] : [0, 1];
  if (x1 === x0) [x0, x1] = [x0 - 0.5, x1 + 0.5];
  if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((ty(y) - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(spec.title)}">`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(spec.title)}</text>`,
    `<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#999"/>`,
  );
  // y ticks
  // log axis: decades when the data spans several, else nice values between the bounds
  const yTicks = logY
    ? y1 - y0 >= 2
      ? niceTicks(Math.ceil(y0), Math.floor(y1), 5)
          .filter(Number.isInteger)
          .map((e) => 10 ** e)
      : niceTicks(10 ** y0, 10 ** y1, 5)
    : niceTicks(y0, y1, 5);
  for (const v of yTicks) {
    const y = py(v);
    if (y < m.t - 0.5 || y > H - m.b + 0.5) continue;
    parts.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#eee"/>`,
      `<text x="${m.l - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" font-size="11">${fmtTick(v)}</text>`,
    );
  }
  // x ticks
  if (spec.xTickLabels) {
    spec.xTickLabels.forEach((lab, i) => {
      const x = px(i);
      parts.push(
        `<text transform="translate(${x.toFixed(1)},${H - m.b + 10}) rotate(60)" font-size="9">${esc(lab)}</text>`,
      );
    });
  } else {
    for (const v of niceTicks(x0, x1, 6)) {
      const x = px(v);
      parts.push(
        `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${m.t}" y2="${H - m.b}" stroke="#eee"/>`,
        `<text x="${x.toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle" font-size="11">${fmtTick(v)}</text>`,
      );
    }
  }
  parts.push(
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle" font-size="12">${esc(spec.xLabel)}</text>`,
    `<text transform="translate(16,${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(spec.yLabel)}${logY ? ' (log)' : ''}</text>`,
  );
  spec.series.forEach((s, k) => {
    const color = PALETTE[k % PALETTE.length];
    const ok = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0));
    if (ok.length > 1) {
      const d = ok.map(([x, y], i) => `${i ? 'L' : 'M'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    for (const [x, y] of ok) {
      parts.push(
        `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${color}"><title>${esc(s.name)}: ${fmtTick(y)}</title></circle>`,
      );
    }
    const ly = m.t + 14 + k * 18;
    parts.push(
      `<line x1="${W - m.r + 12}" x2="${W - m.r + 32}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${W - m.r + 38}" y="${ly}" font-size="12">${esc(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
