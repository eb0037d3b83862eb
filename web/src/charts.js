// Charts in plain SVG, each shipped with its data table (a screen reader reads the table; the SVG is an image
// named by the figure's caption). No charting library: a few hundred lines cover bars, columns and histograms.
import { compact, figureText, isNumber } from './format.js';
import { SYNTHETIC_MARK } from './config.js';
import { h, s, uid } from './dom.js';

const WIDTH = 640;
export const COLORS = { main: '#1d4e89', reference: '#b8612a', muted: '#9aa5b1', grid: '#d8dde3', text: '#1f2933' };

function niceMax(max) {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

function dataTable({ caption, columns, rows }) {
  return h('table', { class: 'data-table' },
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, columns.map((c, i) => h('th', { scope: 'col', class: i ? 'num' : '' }, c)))),
    h('tbody', {}, rows.map((row) => h('tr', {}, row.map((cell, i) => (i ? h('td', { class: 'num' }, cell) : h('th', { scope: 'row' }, cell)))))));
}

/**
 * A figure: caption, SVG image, optional note, and its data table in a disclosure.
 * `table` = {columns, rows}; `embed` = address of the chart alone (for an iframe), shown as a link.
 */
export function figure({ id, title, svg, table, note, synthetic, embed, open = false }) {
  const captionId = uid('legende');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-labelledby', captionId);
  const details = h('details', { class: 'chart-data', open },
    h('summary', {}, 'Données du graphique'),
    dataTable({ caption: title, ...table }));
  return h('figure', { class: 'chart', id, dataset: { chart: id || '' } },
    h('figcaption', { id: captionId }, title, synthetic ? [' ', h('span', { class: 'demo-mark' }, SYNTHETIC_MARK)] : null),
    svg,
    note ? h('p', { class: 'chart-note' }, note) : null,
    details,
    embed ? h('p', { class: 'chart-embed' }, h('a', { href: embed }, 'Lien pour intégrer ce graphique')) : null);
}

/**
 * Horizontal bars: items = [{label, value, status, highlight, color}], values formatted with unit/decimals.
 */
export function barChart({ id, title, items, unit, decimals = 0, note, synthetic, embed, valueLabel = 'Valeur', width: W = WIDTH, labelWidth = 220 }) {
  const barHeight = 24;
  const gap = 8;
  const top = 8;
  const height = top + items.length * (barHeight + gap) + 24;
  const shown = items.filter((d) => isNumber(d.value));
  const min = Math.min(0, ...shown.map((d) => d.value));
  const max = niceMax(Math.max(0, ...shown.map((d) => d.value)));
  const plot = W - labelWidth - 130;
  const x = (v) => labelWidth + ((v - min) / (max - min || 1)) * plot;
  const svg = s('svg', { viewBox: `0 0 ${W} ${height}`, class: 'chart-svg', preserveAspectRatio: 'xMinYMin meet' });
  for (const tick of [0, 0.5, 1]) {
    const v = min + tick * (max - min);
    svg.append(s('line', { x1: x(v), x2: x(v), y1: top - 4, y2: height - 20, stroke: COLORS.grid }),
      s('text', { x: x(v), y: height - 6, 'text-anchor': 'middle', class: 'axis' }, compact(v)));
  }
  items.forEach((d, i) => {
    const y = top + i * (barHeight + gap);
    // Characters that fit left of the bars (the text ends 8 px before them; bold glyphs are wider): a longer name
    // is cut with « … » (its whole name is in the table under the chart and in the label's tooltip).
    const room = Math.floor((labelWidth - 8) / (d.highlight ? 8.6 : 7.4));
    const label = d.label.length > room ? `${d.label.slice(0, room - 1)}…` : d.label;
    const text = s('text', { x: labelWidth - 8, y: y + barHeight * 0.7, 'text-anchor': 'end', class: d.highlight ? 'label strong' : 'label' }, label);
    if (label !== d.label) text.append(s('title', {}, d.label));
    svg.append(text);
    if (isNumber(d.value)) {
      const x0 = x(Math.min(0, d.value));
      const w = Math.max(1, Math.abs(x(d.value) - x(0)));
      svg.append(s('rect', { x: x0, y, width: w, height: barHeight, rx: 2, fill: d.color || (d.highlight ? COLORS.main : COLORS.muted) }),
        s('text', { x: x0 + w + 6, y: y + barHeight * 0.7, class: 'value' }, figureText(d.value, d.status, unit, decimals)));
    } else {
      svg.append(s('text', { x: x(0) + 6, y: y + barHeight * 0.7, class: 'value muted' }, d.status === 'secret' ? 'secret' : 'non disponible'));
    }
  });
  const table = { columns: ['Territoire', valueLabel], rows: items.map((d) => [d.label, figureText(d.value, d.status, unit, decimals)]) };
  return figure({ id, title, svg, table, note, synthetic, embed });
}

/**
 * Paired horizontal bars (territory vs reference) for several indicators in the same unit.
 * rows = [{label, a, b, statusA, statusB}]
 */
export function pairedBars({ id, title, rows, names, unit, decimals = 1, note, synthetic, embed }) {
  const labelWidth = 250;
  const barHeight = 11;
  const groupGap = 12;
  const top = 30;
  const height = top + rows.length * (2 * barHeight + groupGap) + 24;
  const values = rows.flatMap((r) => [r.a, r.b]).filter(isNumber);
  const max = niceMax(Math.max(0, ...values));
  const plot = WIDTH - labelWidth - 70;
  const x = (v) => labelWidth + (v / max) * plot;
  const svg = s('svg', { viewBox: `0 0 ${WIDTH} ${height}`, class: 'chart-svg' });
  // Key
  svg.append(s('rect', { x: labelWidth, y: 6, width: 12, height: 12, fill: COLORS.main }),
    s('text', { x: labelWidth + 18, y: 16, class: 'label' }, names[0]),
    s('rect', { x: labelWidth + 230, y: 6, width: 12, height: 12, fill: COLORS.reference }),
    s('text', { x: labelWidth + 248, y: 16, class: 'label' }, names[1] || 'Référence'));
  for (const tick of [0, 0.5, 1]) {
    svg.append(s('line', { x1: x(tick * max), x2: x(tick * max), y1: top - 4, y2: height - 20, stroke: COLORS.grid }),
      s('text', { x: x(tick * max), y: height - 6, 'text-anchor': 'middle', class: 'axis' }, compact(tick * max)));
  }
  rows.forEach((r, i) => {
    const y = top + i * (2 * barHeight + groupGap);
    const label = r.label.length > 36 ? `${r.label.slice(0, 35)}…` : r.label;
    svg.append(s('text', { x: labelWidth - 8, y: y + barHeight + 4, 'text-anchor': 'end', class: 'label' }, label));
    [[r.a, COLORS.main, 0], [r.b, COLORS.reference, barHeight]].forEach(([v, color, dy]) => {
      if (isNumber(v)) svg.append(s('rect', { x: x(0), y: y + dy, width: Math.max(1, x(v) - x(0)), height: barHeight - 1, fill: color }));
    });
  });
  const table = {
    columns: ['Indicateur', names[0], names[1] || 'Référence'],
    rows: rows.map((r) => [r.label, figureText(r.a, r.statusA, unit, decimals), figureText(r.b, r.statusB, unit, decimals)]),
  };
  return figure({ id, title, svg, table, note, synthetic, embed });
}

/** Vertical columns over years: points = [{label, value, status}]. */
export function columnChart({ id, title, points, unit, decimals = 0, note, synthetic, embed, valueLabel = 'Valeur' }) {
  const height = 240;
  const left = 56;
  const bottom = 28;
  const top = 22;
  const shown = points.filter((p) => isNumber(p.value));
  const max = niceMax(Math.max(0, ...shown.map((p) => p.value)));
  const plotW = WIDTH - left - 10;
  const step = plotW / Math.max(1, points.length);
  const barW = Math.min(64, step * 0.6);
  const y = (v) => top + (1 - v / max) * (height - top - bottom);
  const svg = s('svg', { viewBox: `0 0 ${WIDTH} ${height}`, class: 'chart-svg' });
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const v = tick * max;
    svg.append(s('line', { x1: left, x2: WIDTH - 10, y1: y(v), y2: y(v), stroke: COLORS.grid }),
      s('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, compact(v)));
  }
  points.forEach((p, i) => {
    const cx = left + step * (i + 0.5);
    svg.append(s('text', { x: cx, y: height - 8, 'text-anchor': 'middle', class: 'axis' }, p.label));
    if (isNumber(p.value)) {
      svg.append(s('rect', { x: cx - barW / 2, y: y(p.value), width: barW, height: Math.max(1, y(0) - y(p.value)), rx: 2, fill: p.color || COLORS.main, 'fill-opacity': p.synthetic ? 0.75 : 1 }),
        s('text', { x: cx, y: y(p.value) - 5, 'text-anchor': 'middle', class: 'value' }, compact(p.value)));
    }
  });
  const table = { columns: ['Millésime', valueLabel], rows: points.map((p) => [p.label, figureText(p.value, p.status, unit, decimals)]) };
  return figure({ id, title, svg, table, note, synthetic, embed });
}

/**
 * Histogram of values in `bins` equal-width intervals, each bar coloured by the map class its middle falls in.
 * breaks = class upper bounds; colors = one per class.
 */
export function histogram({ id, title, values, breaks, colors, unit, decimals = 0, count = 24, note, synthetic, width: W = WIDTH, height = 170 }) {
  const left = 36;
  const bottom = 26;
  const top = 8;
  const shown = values.filter(isNumber);
  const min = Math.min(...shown);
  const max = Math.max(...shown);
  const width = (max - min) / count || 1;
  const counts = new Array(count).fill(0);
  for (const v of shown) counts[Math.min(count - 1, Math.floor((v - min) / width))] += 1;
  const top_ = Math.max(1, ...counts);
  const plotW = W - left - 10;
  const x = (v) => left + ((v - min) / (max - min || 1)) * plotW;
  const y = (c) => top + (1 - c / top_) * (height - top - bottom);
  const classOf = (v) => { const i = breaks.findIndex((b) => v <= b); return i < 0 ? breaks.length - 1 : i; };
  const svg = s('svg', { viewBox: `0 0 ${W} ${height}`, class: 'chart-svg histogram' });
  svg.append(s('line', { x1: left, x2: W - 10, y1: y(0), y2: y(0), stroke: COLORS.text }),
    s('text', { x: left - 4, y: y(top_) + 8, 'text-anchor': 'end', class: 'axis' }, String(top_)),
    s('text', { x: left - 4, y: y(0), 'text-anchor': 'end', class: 'axis' }, '0'));
  counts.forEach((c, i) => {
    const lo = min + i * width;
    const fill = colors[classOf(lo + width / 2)] || COLORS.muted;
    if (c) svg.append(s('rect', { x: x(lo) + 0.5, y: y(c), width: Math.max(1, x(lo + width) - x(lo) - 1), height: y(0) - y(c), fill, stroke: '#4a5562', 'stroke-width': 0.4 }));
  });
  for (const b of breaks.slice(0, -1)) {
    if (b > min && b < max) svg.append(s('line', { x1: x(b), x2: x(b), y1: top, y2: y(0), stroke: COLORS.text, 'stroke-dasharray': '3 3' }));
  }
  svg.append(s('text', { x: left, y: height - 6, class: 'axis' }, compact(min)), s('text', { x: W - 10, y: height - 6, 'text-anchor': 'end', class: 'axis' }, compact(max)));
  const rows = counts.map((c, i) => [`${figureText(min + i * width, 'ok', unit, decimals)} à ${figureText(min + (i + 1) * width, 'ok', unit, decimals)}`, String(c)]).filter((r) => r[1] !== '0');
  return figure({ id, title, svg, table: { columns: ['Intervalle', 'Territoires'], rows }, note, synthetic });
}
