// Comparator: 2 to 4 territories side by side (codes=level:code,… in the URL), the key indicators by theme,
// and a chart of one indicator (indicateur=… in the URL) with its data table.
import { catalogue as loadCatalogue, compare } from '../api.js';
import { syntheticNotice } from '../cards.js';
import { barChart } from '../charts.js';
import { levelLabel, portraitHref, SYNTHETIC_MARK } from '../config.js';
import { $, clear, h, status, uid, fill } from '../dom.js';
import { figureText, themeLabel, withUnit } from '../format.js';
import { mountSearch } from '../search.js';
import { embedHref, isEmbedded, readState, writeState } from '../state.js';

const MAX = 4;

export async function start() {
  const state = readState({ codes: '', indicators: '', indicateur: '' });
  const picker = $('[data-picker]');
  const statusEl = $('[data-status]');
  const body = $('[data-body]');
  let chosen = state.codes.split(',').filter(Boolean).slice(0, MAX).map((key) => { const [level, code] = key.split(':'); return { level, code, name: code }; });
  let catalogueById = new Map();
  try { catalogueById = (await loadCatalogue()).byId; } catch { /* labels come with the comparison */ }

  const chips = h('ul', { class: 'chips', 'aria-label': 'Territoires comparés' });
  const searchBox = h('div', { class: 'search' });
  fill(picker, searchBox, chips);
  const search = mountSearch(searchBox, {
    label: `Ajouter un territoire (${MAX} au plus)`,
    exclude: (t) => chosen.some((c) => c.level === t.level && c.code === t.code),
    onChoose: (t) => {
      if (chosen.length >= MAX) { status(statusEl, `${MAX} territoires au plus : retirez-en un d'abord.`); return; }
      chosen.push(t);
      search.reset();
      refresh();
    },
  });

  function renderChips() {
    clear(chips);
    chosen.forEach((t, i) => chips.append(h('li', { class: 'chip' },
      h('a', { href: portraitHref(t.level, t.code) }, t.name), h('span', { class: 'option-meta' }, ` ${levelLabel(t.level)}`),
      h('button', { type: 'button', class: 'chip-remove', 'aria-label': `Retirer ${t.name}`, on: { click: () => { chosen.splice(i, 1); refresh(); } } }, '×'))));
  }

  async function refresh() {
    writeState({ codes: chosen.map((t) => `${t.level}:${t.code}`).join(','), indicateur: state.indicateur });
    renderChips();
    clear(body);
    if (chosen.length < 2) {
      status(statusEl, chosen.length ? 'Ajoutez au moins un autre territoire pour comparer.' : 'Ajoutez deux à quatre territoires avec la recherche.');
      return;
    }
    status(statusEl, 'Chargement de la comparaison…');
    let data;
    try {
      data = await compare(chosen.map((t) => `${t.level}:${t.code}`), state.indicators ? state.indicators.split(',') : undefined);
    } catch (error) {
      status(statusEl, `Comparaison impossible : ${error.message}`, 'error');
      return;
    }
    // Names from the answer (the URL only carries codes).
    chosen = chosen.map((t) => data.territories.find((x) => x.level === t.level && x.code === t.code) || t);
    renderChips();
    for (const d of data.indicators) {
      const def = catalogueById.get(d.id);
      if (def) for (const k of ['label', 'unit', 'decimals', 'theme']) if (d[k] === undefined || d[k] === '') d[k] = def[k];
    }
    const synthetic = data.indicators.some((d) => d.values.some((v) => v.synthetic));
    const valueOf = (d, t) => d.values.find((v) => v.code === t.code && (!v.level || v.level === t.level));
    const table = h('table', { class: 'data-table compare-table' },
      h('caption', {}, 'Comparaison des chiffres clés'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Indicateur'), chosen.map((t) => h('th', { scope: 'col', class: 'num' }, h('a', { href: portraitHref(t.level, t.code) }, t.name), h('br'), h('span', { class: 'option-meta' }, levelLabel(t.level)))))),
      h('tbody', {}, groupByTheme(data.indicators).flatMap(([theme, list]) => [
        h('tr', { class: 'group-row' }, h('th', { scope: 'colgroup', colspan: chosen.length + 1 }, themeLabel(theme))),
        ...list.map((d) => h('tr', {}, h('th', { scope: 'row' }, d.label),
          chosen.map((t) => {
            const v = valueOf(d, t);
            return h('td', { class: 'num' }, v ? figureText(v.value, v.status, d.unit, d.decimals) : '–', v && v.year ? h('span', { class: 'year' }, ` ${v.year}`) : null,
              v && v.synthetic ? h('span', { class: 'demo-dot', title: SYNTHETIC_MARK, 'aria-label': SYNTHETIC_MARK, role: 'img' }, '*') : null);
          }))),
      ])));
    const options = data.indicators.map((d) => [d.id, d.label]);
    if (!data.indicators.some((d) => d.id === state.indicateur)) state.indicateur = data.indicators[0]?.id || '';
    const chartBox = h('div', {});
    const selectId = uid('indicateur');
    const select = h('select', { id: selectId, on: { change: (e) => { state.indicateur = e.target.value; writeState({ indicateur: state.indicateur }); drawChart(); } } },
      options.map(([v, label]) => h('option', { value: v, selected: v === state.indicateur }, label)));
    function drawChart() {
      const d = data.indicators.find((x) => x.id === state.indicateur);
      if (!d) return;
      fill(chartBox, barChart({
        id: 'comparaison', title: withUnit(d.label, d.unit),
        items: chosen.map((t) => { const v = valueOf(d, t); return { label: t.name, value: v?.value ?? null, status: v?.status, highlight: true }; }),
        unit: d.unit, decimals: d.decimals, synthetic: d.values.some((v) => v.synthetic), valueLabel: d.label,
        embed: isEmbedded() ? null : embedHref({ indicateur: d.id }),
      }));
    }
    drawChart();
    if (isEmbedded()) { body.append(chartBox); status(statusEl, ''); return; }
    body.append(syntheticNotice(synthetic) || '',
      h('section', { class: 'section', 'aria-labelledby': 'titre-graphique' }, h('h2', { id: 'titre-graphique' }, 'Un indicateur en graphique'),
        h('div', { class: 'field' }, h('label', { for: selectId }, 'Indicateur du graphique'), select), chartBox),
      h('section', { class: 'section', 'aria-labelledby': 'titre-tableau' }, h('h2', { id: 'titre-tableau' }, 'Tous les chiffres clés'),
        h('div', { class: 'table-scroll' }, table),
        synthetic ? h('p', { class: 'small' }, '* ', SYNTHETIC_MARK) : null));
    status(statusEl, '');
    document.body.dataset.ready = 'true';
  }

  await refresh();
}

function groupByTheme(indicators) {
  const groups = new Map();
  for (const d of indicators) {
    if (!groups.has(d.theme)) groups.set(d.theme, []);
    groups.get(d.theme).push(d);
  }
  return [...groups];
}
