// Small hand-written SVG charts, built with DOM calls (no library, no innerHTML).
// Each chart carries a <title> and <desc>, and the page shows the same numbers in a table.

import { h } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';
let uid = 0;

export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function frame(width, height, title, desc) {
  const id = `chart-${++uid}`;
  return s('svg', {
    class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-labelledby': `${id}-t ${id}-d`, preserveAspectRatio: 'xMidYMid meet',
  }, s('title', { id: `${id}-t` }, title), s('desc', { id: `${id}-d` }, desc));
}

// Lines over days on a 0-10 scale. series: [{values: [n|null], color, label, dash}]
export function lineChart({ labels, series, title, desc, max = 10 }) {
  const W = 340; const H = 170; const L = 24; const R = 8; const T = 8; const B = 22;
  const svg = frame(W, H, title, desc);
  const n = Math.max(labels.length, 2);
  const x = (i) => L + (i * (W - L - R)) / (n - 1);
  const y = (v) => T + (H - T - B) * (1 - v / max);
  for (const v of [0, 5, 10].filter((t) => t <= max)) {
    svg.append(s('line', { class: 'axis', x1: L, x2: W - R, y1: y(v), y2: y(v) }),
      s('text', { x: 2, y: y(v) + 4 }, v));
  }
  // Only as many dates as fit side by side at a readable size (a "12/29" is about 45 units),
  // spread evenly from the first day to the last, so none runs into the next.
  const fit = Math.max(2, Math.floor((W - L - R) / 60));
  const shown = Math.min(labels.length, fit);
  const picks = new Set(Array.from({ length: shown },
    (_, k) => Math.round((k * (labels.length - 1)) / Math.max(shown - 1, 1))));
  labels.forEach((label, i) => {
    if (!picks.has(i)) return;
    const anchor = i === 0 ? 'start' : i === labels.length - 1 ? 'end' : 'middle';
    svg.append(s('text', { x: x(i), y: H - 5, 'text-anchor': anchor }, label));
  });
  for (const serie of series) {
    let d = '';
    let pen = false;
    serie.values.forEach((v, i) => {
      if (v === null || v === undefined) { pen = false; return; }
      d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)} `;
      pen = true;
    });
    if (d) {
      svg.append(s('path', {
        d, fill: 'none', stroke: serie.color, 'stroke-width': 2, 'stroke-dasharray': serie.dash || null,
        'stroke-linejoin': 'round',
      }));
    }
    serie.values.forEach((v, i) => {
      if (v !== null && v !== undefined) svg.append(s('circle', { cx: x(i), cy: y(v), r: 2.5, fill: serie.color }));
    });
  }
  return svg;
}

// Horizontal bars: rows [{label, value}] ; value 0..max.
export function barChart({ rows, title, desc, color = '#1f5f5b', max = null, format = (v) => v }) {
  const W = 340; const row = 24; const L = 120;
  const H = Math.max(row * rows.length + 6, 30);
  const top = max ?? Math.max(1, ...rows.map((r) => r.value));
  const svg = frame(W, H, title, desc);
  rows.forEach((r, i) => {
    const y = 4 + i * row;
    const w = Math.max(1, ((W - L - 40) * Math.max(0, r.value)) / top);
    svg.append(
      s('text', { x: 0, y: y + 15 }, r.label.length > 15 ? `${r.label.slice(0, 14)}…` : r.label),
      s('rect', { x: L, y: y + 3, width: w, height: row - 9, fill: color, rx: 2 }),
      s('text', { x: L + w + 4, y: y + 15 }, format(r.value)),
    );
  });
  return svg;
}

export function legend(items) {
  return h('ul', { class: 'legend' }, items.map(([cls, text]) => h('li', {}, h('span', { class: `swatch ${cls}` }), text)));
}

// The numbers behind a chart, for screen readers and for anyone who prefers a table.
export function dataTable(caption, headers, rows) {
  return h('details', {},
    h('summary', {}, `${caption}: show as a table`),
    h('table', { class: 'data-table' },
      h('caption', { class: 'sr-only' }, caption),
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c ?? '–')))))));
}
