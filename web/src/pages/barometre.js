// Baromètre page: the release of a quarter (key figures with arrows ▲▼, missing series said plainly), one series
// over several years as a chart with its data table and the comparison territories, sources and revised figures.
// Everything comes from /api/barometre/… (vigie/modules/barometre/web.py); quarter and series are kept in the URL.
import { getJSON } from '../api.js';
import { columnChart } from '../charts.js';
import { config, SYNTHETIC_MARK } from '../config.js';
import { syntheticNotice } from '../cards.js';
import { $, h, status, uid, fill } from '../dom.js';
import { DASH, isNumber, number, points, quantity, signedPercent } from '../format.js';
import { readState, writeState } from '../state.js';

const CHART_QUARTERS = 12; // three years on screen; the release keeps five (the PDF may show them all)
const arrow = (v) => (!isNumber(v) ? '' : v > 0.05 ? '▲' : v < -0.05 ? '▼' : '►');
const change = (v, unit) => (!isNumber(v) ? DASH : unit === 'pt' ? points(v, 1) : signedPercent(v, 1));
const value = (v, s) => (isNumber(v) ? quantity(v, s.unit, s.decimals) : DASH);
const longDate = (iso) => new Date(`${iso}T12:00:00`).toLocaleDateString('fr-FR', { day: 'numeric', month: 'long', year: 'numeric' });

function select(name, label, options, current, onChange) {
  const id = uid(name);
  const el = h('select', { id, name }, options.map(([v, text]) => h('option', { value: v, selected: v === current }, text)));
  el.addEventListener('change', () => onChange(el.value));
  return h('label', { for: id }, label, ' ', el);
}

function card(s) {
  const f = s.main;
  return h('li', { class: `card${s.synthetic ? ' card-synthetic' : ''}`, dataset: { serie: s.id } },
    h('p', { class: 'card-label' }, s.label),
    h('p', { class: 'card-value' }, f && isNumber(f.value) && s.unit !== '%'
      ? [number(f.value, s.decimals), h('span', { class: 'card-unit' }, `\u00a0${s.unit}`)]
      : (f ? value(f.value, s) : DASH)),
    h('p', { class: 'card-year' }, f ? f.name : ''),
    f && isNumber(f.value) ? h('p', { class: 'card-evolution' },
      `${arrow(f.change_quarter)} ${change(f.change_quarter, s.change_unit)} sur un trimestre · `,
      `${arrow(f.change_year)} ${change(f.change_year, s.change_unit)} sur un an`) : null,
    s.missing ? h('p', { class: 'card-remark' }, s.missing) : null,
    s.synthetic ? h('p', { class: 'demo-mark' }, SYNTHETIC_MARK) : null);
}

function comparisonTable(s) {
  const rows = [s.main, ...s.comparisons].filter(Boolean);
  return h('table', { class: 'data-table' },
    h('caption', {}, `${s.label} : comparaison des territoires`),
    h('thead', {}, h('tr', {}, ['Territoire', 'Valeur', 'Sur un trimestre', 'Sur un an', 'Tendance 4 trimestres']
      .map((c, i) => h('th', { scope: 'col', class: i ? 'num' : '' }, c)))),
    h('tbody', {}, rows.map((f) => h('tr', {},
      h('th', { scope: 'row' }, f.name),
      h('td', { class: 'num' }, value(f.value, s)),
      h('td', { class: 'num' }, `${arrow(f.change_quarter)} ${change(f.change_quarter, s.change_unit)}`),
      h('td', { class: 'num' }, `${arrow(f.change_year)} ${change(f.change_year, s.change_unit)}`),
      h('td', { class: 'num' }, change(f.trend_change, s.change_unit))))));
}

function seriesView(s) {
  const name = s.main ? s.main.name : Object.keys(s.history)[0];
  const history = (s.history[name] || []).slice(-CHART_QUARTERS);
  const chart = columnChart({
    id: `serie-${s.id}`, title: `${s.label} – ${name}`, unit: s.unit, decimals: s.decimals, synthetic: s.synthetic,
    valueLabel: s.unit, points: history.map(([p, v]) => ({ label: p.replace(/^\d\d(\d\d)-/, '$1-'), value: v, status: isNumber(v) ? 'ok' : 'missing', synthetic: s.synthetic })),
  });
  return [h('p', {}, s.comment || s.missing || ''), chart, comparisonTable(s),
    h('p', { class: 'chart-note' }, `Tendance sur quatre trimestres : ${s.trend_method}. ${s.definition}`)];
}

function sourcesView(release) {
  return release.series.map((s) => h('div', { class: 'source' },
    h('h3', {}, s.label),
    h('ul', {}, s.sources.map((src) => h('li', {}, `${src.title} (${src.producer}), publication du ${longDate(src.release)}`,
      src.synthetic && !src.title.includes(SYNTHETIC_MARK) ? [' – ', h('span', { class: 'demo-mark' }, SYNTHETIC_MARK)] : null))),
    s.revisions.length ? h('ul', { class: 'revisions' }, s.revisions.map((r) => h('li', {},
      `Révisé : ${r.territory}, ${r.period} : ${value(r.old_value, s)} (publication du ${longDate(r.old_release)}) → ${value(r.new_value, s)} (publication du ${longDate(r.new_release)})`))) : null));
}

export async function start() {
  const root = document;
  const quarters = config.trimestres || [];
  if (!quarters.length) return;
  const state = readState({ trimestre: quarters[0], serie: '' });
  const statusEl = $('[data-status]', root);
  async function render() {
    document.body.dataset.ready = 'false';
    status(statusEl, 'Chargement du baromètre…');
    try {
      const release = await getJSON(`/api/barometre/${encodeURIComponent(state.trimestre)}`);
      const ids = release.series.map((s) => s.id);
      if (!ids.includes(state.serie)) state.serie = ids[0];
      writeState(state, { trimestre: quarters[0] });
      fill($('[data-controls]', root),
        select('trimestre', 'Trimestre', quarters.map((q) => [q, q]), state.trimestre, (v) => { state.trimestre = v; render(); }),
        select('serie', 'Série', release.series.map((s) => [s.id, s.label]), state.serie, (v) => { state.serie = v; render(); }));
      fill($('[data-demo]', root), syntheticNotice(release.synthetic));
      fill($('[data-cards]', root), release.series.map(card));
      fill($('[data-missing]', root), release.missing.length ? h('ul', { class: 'notice' }, release.missing.map((m) => h('li', {}, m))) : null);
      fill($('[data-series]', root), seriesView(release.series.find((s) => s.id === state.serie)));
      fill($('[data-sources]', root), sourcesView(release));
      status(statusEl, `${release.territory.name} – ${release.quarter_label}`);
    } catch (err) {
      status(statusEl, err.message, 'error');
    }
    document.body.dataset.ready = 'true';
  }
  await render();
}
