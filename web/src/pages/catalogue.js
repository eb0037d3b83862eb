// Catalogue: definitions, kinds, sources, vintages and licences of the indicators, and the imported files.
import { catalogue as loadCatalogue, sources as loadSources } from '../api.js';
import { href, levelLabel, SYNTHETIC_MARK } from '../config.js';
import { $, clear, h, status, fill } from '../dom.js';
import { KIND_TEXT, number, themeLabel } from '../format.js';

export async function start() {
  const statusEl = $('[data-status]');
  const body = $('[data-body]');
  let cat;
  let files = [];
  try {
    [cat, files] = await Promise.all([loadCatalogue(), loadSources().catch(() => [])]);
  } catch (error) {
    status(statusEl, `Catalogue indisponible : ${error.message}`, 'error');
    return;
  }
  const groups = new Map();
  for (const d of cat.indicators) { if (!groups.has(d.theme)) groups.set(d.theme, []); groups.get(d.theme).push(d); }
  const themes = [...groups.keys()];
  fill(body, 
    h('nav', { class: 'theme-nav', 'aria-label': 'Thèmes du catalogue' }, h('ul', {},
      themes.map((t, i) => h('li', {}, h('a', { href: `#theme-${i}` }, `${themeLabel(t)} (${groups.get(t).length})`))),
      h('li', {}, h('a', { href: '#sources' }, 'Fichiers sources')))),
    ...themes.map((theme, i) => h('section', { class: 'section', id: `theme-${i}`, 'aria-labelledby': `theme-${i}-titre` },
      h('h2', { id: `theme-${i}-titre` }, themeLabel(theme)),
      h('div', { class: 'catalogue-list' }, groups.get(theme).map(indicatorCard)))),
    sourcesSection(files));
  status(statusEl, `${number(cat.indicators.length)} indicateurs, ${number(files.length)} fichiers sources.`);
  document.body.dataset.ready = 'true';
}

function indicatorCard(d) {
  const years = d.years.length ? (d.years.length > 4 ? `${d.years[0]} à ${d.years[d.years.length - 1]} (${d.years.length} millésimes)` : d.years.join(', ')) : '–';
  const vintage = d.vintage || d.vintages;
  return h('article', { class: 'catalogue-item', id: `indicateur-${d.id}` },
    h('h3', {}, d.label, d.synthetic ? [' ', h('span', { class: 'demo-mark' }, partly(d) ? `en partie : ${SYNTHETIC_MARK}` : SYNTHETIC_MARK)] : null),
    h('p', {}, d.definition || ''),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Identifiant'), h('dd', {}, h('code', {}, d.id)),
      h('dt', {}, 'Unité'), h('dd', {}, d.unit || '–'),
      h('dt', {}, 'Nature'), h('dd', {}, KIND_TEXT[d.kind] || d.kind || '–'),
      d.kind === 'ratio' && d.numerator ? [h('dt', {}, 'Calcul'), h('dd', {}, `${d.numerator} / ${d.denominator}${d.factor && d.factor !== 1 ? ` × ${number(d.factor)}` : ''}`)] : null,
      h('dt', {}, 'Source'), h('dd', {}, d.source || '–'),
      h('dt', {}, 'Millésimes'), h('dd', {}, vintage ? `${years} — ${Array.isArray(vintage) ? vintage.join(' ; ') : vintage}` : years),
      d.levels.length ? [h('dt', {}, 'Niveaux'), h('dd', {}, d.levels.map(levelLabel).join(', '))] : null,
      h('dt', {}, 'Licence'), h('dd', {}, d.licence || (Array.isArray(d.licences) ? d.licences.join(' ; ') : '–'))),
    h('p', { class: 'links' }, h('a', { href: href('/carte', { indicator: d.id }) }, 'Carte'), ' · ', h('a', { href: href('/donnees', { indicator: d.id }) }, 'Données')));
}

/** Some of the files that feed the indicator are real, others synthetic. */
function partly(d) {
  return d.feeds && d.feeds.some((f) => f.synthetic) && d.feeds.some((f) => !f.synthetic);
}

function sourcesSection(files) {
  return h('section', { class: 'section', id: 'sources', 'aria-labelledby': 'titre-sources' },
    h('h2', { id: 'titre-sources' }, 'Fichiers sources importés'),
    h('div', { class: 'table-scroll' }, h('table', { class: 'data-table' },
      h('caption', {}, 'Chaque fichier importé dans l\'entrepôt, avec son producteur, son millésime et sa licence'),
      h('thead', {}, h('tr', {}, ['Titre', 'Producteur', 'Millésime', 'Licence', 'Fichier', 'Lignes'].map((c, i) => h('th', { scope: 'col', class: i === 5 ? 'num' : '' }, c)))),
      h('tbody', {}, files.map((f) => h('tr', {},
        h('th', { scope: 'row' }, f.title, f.synthetic ? [' ', h('span', { class: 'demo-mark' }, SYNTHETIC_MARK)] : null),
        h('td', {}, f.producer || '–'), h('td', {}, f.vintage || '–'), h('td', {}, f.licence || '–'),
        h('td', {}, h('code', {}, f.file_name || '')), h('td', { class: 'num' }, number(f.rows))))))));
}
