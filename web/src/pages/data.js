// Data: one indicator for every territory of a level in one year, as a sortable table, with downloads.
import { catalogue as loadCatalogue, cube, exportHref } from '../api.js';
import { config, levelLabel, portraitHref, SYNTHETIC_MARK } from '../config.js';
import { $, clear, h, status, uid, fill } from '../dom.js';
import { collator, figureText, number, STATUS_TEXT, themeLabel, withUnit } from '../format.js';
import { readState, writeState } from '../state.js';

const FORMATS = [
  ['csv', 'CSV', 'tableur, séparateur « ; », UTF-8'],
  ['xlsx', 'XLSX', 'Excel, LibreOffice'],
  ['geojson', 'GeoJSON', 'carte, WGS84'],
  ['gpkg', 'GeoPackage', 'SIG, QGIS'],
];

export async function start() {
  const statusEl = $('[data-status]');
  const form = $('[data-controls]');
  const body = $('[data-body]');
  const downloads = $('[data-downloads]');
  let cat;
  try {
    cat = await loadCatalogue();
  } catch (error) {
    status(statusEl, `Catalogue indisponible : ${error.message}`, 'error');
    return;
  }
  const first = cat.indicators.find((d) => d.key) || cat.indicators[0];
  const defaults = { indicator: first?.id || '', level: 'commune', year: '', tri: 'name', sens: 'asc' };
  const state = readState(defaults);
  if (!cat.byId.has(state.indicator)) state.indicator = defaults.indicator;

  const selects = {};
  const field = (name, label) => {
    const id = uid(name);
    selects[name] = h('select', { id, name, on: { change: (e) => { state[name] = e.target.value; if (name !== 'year') state.year = ''; load(); } } });
    return h('div', { class: 'field' }, h('label', { for: id }, label), selects[name]);
  };
  fill(form, field('indicator', 'Indicateur'), field('level', 'Niveau'), field('year', 'Année'));
  form.addEventListener('submit', (e) => e.preventDefault());
  const groups = new Map();
  for (const d of cat.indicators) { if (!groups.has(d.theme)) groups.set(d.theme, []); groups.get(d.theme).push(d); }
  for (const [theme, list] of groups) selects.indicator.append(h('optgroup', { label: themeLabel(theme) }, list.map((d) => h('option', { value: d.id }, d.label))));

  let rows = [];
  let def = null;
  let sequence = 0;

  async function load() {
    const mine = ++sequence;
    def = cat.byId.get(state.indicator);
    selects.indicator.value = state.indicator;
    const levels = def.levels.length ? config.levels.filter((l) => def.levels.includes(l.id)) : config.levels;
    if (levels.length && !levels.some((l) => l.id === state.level)) state.level = levels[0].id;
    fill(selects.level, ...levels.map((l) => h('option', { value: l.id, selected: l.id === state.level }, l.label)));
    status(statusEl, 'Chargement…');
    let data;
    try {
      data = await cube({ indicator: def.id, level: state.level, year: state.year || undefined });
    } catch (error) {
      if (mine === sequence) status(statusEl, `Données indisponibles : ${error.message}`, 'error');
      return;
    }
    if (mine !== sequence) return;
    const years = data.years.length ? data.years : def.years;
    state.year = String(data.year ?? years[years.length - 1] ?? '');
    fill(selects.year, ...[...years].reverse().map((y) => h('option', { value: y, selected: String(y) === state.year }, String(y))));
    rows = data.values;
    writeState(state, { ...defaults, year: String(years[years.length - 1] ?? '') });
    renderDownloads();
    renderTable();
    status(statusEl, `${number(rows.length)} territoires.`);
    document.body.dataset.ready = 'true';
  }

  function renderDownloads() {
    fill(downloads, h('h2', { class: 'visually-hidden' }, 'Télécharger'),
      h('ul', { class: 'download-list' }, FORMATS.map(([format, label, hint]) => h('li', {},
        h('a', { class: 'button', href: exportHref({ indicator: def.id, level: state.level, year: state.year, format }), download: '', dataset: { format } },
          `Télécharger en ${label}`, h('span', { class: 'hint' }, ` (${hint})`))))));
  }

  function sorted() {
    const dir = state.sens === 'desc' ? -1 : 1;
    const key = state.tri;
    return [...rows].sort((a, b) => {
      if (key === 'value') {
        const av = a.value; const bv = b.value;
        if (av === null && bv === null) return 0;
        if (av === null) return 1; // no value last, whatever the direction
        if (bv === null) return -1;
        return (av - bv) * dir;
      }
      return collator.compare(String(a[key] ?? ''), String(b[key] ?? '')) * dir;
    });
  }

  function renderTable() {
    const synthetic = rows.some((r) => r.synthetic);
    const header = (key, label, cls = '') => {
      const active = state.tri === key;
      const sort = active ? (state.sens === 'desc' ? 'descending' : 'ascending') : 'none';
      return h('th', { scope: 'col', class: cls, 'aria-sort': sort },
        h('button', { type: 'button', class: 'sort', on: { click: () => { state.sens = active && state.sens === 'asc' ? 'desc' : 'asc'; state.tri = key; writeState(state, defaults); renderTable(); } } },
          label, h('span', { 'aria-hidden': 'true', class: 'sort-arrow' }, active ? (state.sens === 'desc' ? ' ▼' : ' ▲') : ' ↕')));
    };
    const table = h('table', { class: 'data-table sortable' },
      h('caption', {}, `${withUnit(def.label, def.unit)} — ${levelLabel(state.level)}, ${state.year}. Cliquez un en-tête pour trier.`),
      h('thead', {}, h('tr', {}, header('code', 'Code'), header('name', 'Territoire'), header('value', 'Valeur', 'num'), header('status', 'Statut'))),
      h('tbody', {}, sorted().map((r) => h('tr', {},
        h('td', {}, r.code),
        h('th', { scope: 'row' }, h('a', { href: portraitHref(state.level, r.code) }, r.name)),
        h('td', { class: 'num' }, figureText(r.value, r.status, def.unit, def.decimals)),
        h('td', {}, r.status === 'ok' ? 'ok' : STATUS_TEXT[r.status] || r.status, r.synthetic ? h('span', { class: 'demo-mark' }, SYNTHETIC_MARK) : null)))));
    fill(body, 
      h('p', { class: 'source' }, def.source ? `Source : ${def.source}, millésime ${state.year}.` : `Millésime ${state.year}.`, def.licence ? ` Licence : ${def.licence}.` : ''),
      synthetic ? h('p', { class: 'notice notice-demo' }, 'Ces valeurs sont des ', h('strong', {}, SYNTHETIC_MARK), '.') : null,
      h('div', { class: 'table-scroll' }, table));
  }

  await load();
}
