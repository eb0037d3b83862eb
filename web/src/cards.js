// Key-figure cards: value, vintage, evolution, reference, status and demonstration marks.
import { SYNTHETIC_MARK } from './config.js';
import { h } from './dom.js';
import { evolutionText, figureText, isNumber, number, STATUS_TEXT, unitFor } from './format.js';

export function keyFigureCard(f, referenceName) {
  const remark = f.status !== 'ok' ? STATUS_TEXT[f.status] || f.status : null;
  const evolution = evolutionText(f.evolution, f.unit);
  // The reference line only when the reference has something to show (a value, or a secret to say).
  const shownRef = f.reference && referenceName && (isNumber(f.reference.value) || f.reference.status === 'secret');
  const ref = shownRef ? `${referenceName} : ${figureText(f.reference.value, f.reference.status, f.unit, f.decimals)}` : null;
  return h('li', { class: `card${f.synthetic ? ' card-synthetic' : ''}`, dataset: { indicator: f.id } },
    h('p', { class: 'card-label' }, f.label),
    h('p', { class: 'card-value' }, isNumber(f.value) && unitFor(f.value, f.unit, f.decimals) && f.unit !== '%'
      ? [number(f.value, f.decimals), h('span', { class: 'card-unit' }, `\u00a0${unitFor(f.value, f.unit, f.decimals)}`)]
      : figureText(f.value, f.status, f.unit, f.decimals)),
    h('p', { class: 'card-year' }, f.year ? `Millésime ${f.year}` : ''),
    evolution ? h('p', { class: 'card-evolution' }, evolution) : null,
    ref ? h('p', { class: 'card-reference' }, ref) : null,
    remark ? h('p', { class: 'card-remark' }, remark) : null,
    f.synthetic ? h('p', { class: 'demo-mark' }, SYNTHETIC_MARK) : null);
}

export function syntheticNotice(any) {
  if (!any) return null;
  return h('p', { class: 'notice notice-demo' }, 'Certaines valeurs de cette page sont des ', h('strong', {}, SYNTHETIC_MARK),
    ' : elles sont générées pour montrer l\'outil et ne décrivent pas la réalité.');
}

/** Up to `n` key figures, the first one of each theme first, so that the cards span the themes. */
export function pickKeyFigures(figures, n) {
  const key = figures.filter((f) => f.key);
  const pool = key.length ? key : figures;
  const seen = new Set();
  const first = [];
  const rest = [];
  for (const f of pool) {
    if (f.value === null && f.status !== 'secret') continue;
    if (!seen.has(f.theme)) { seen.add(f.theme); first.push(f); } else rest.push(f);
  }
  return [...first, ...rest].slice(0, n);
}
