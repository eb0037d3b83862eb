// Portrait of a territory: key figures, evolution between censuses, comparison with a reference (in the URL),
// one section per theme with its chart and data table, and a small map.
import { catalogue as loadCatalogue, getJSON, portrait, territoryGeometry, tilesTemplate } from '../api.js';
import { keyFigureCard, syntheticNotice } from '../cards.js';
import { columnChart, pairedBars } from '../charts.js';
import { config, href, levelLabel, portraitHref, SYNTHETIC_MARK } from '../config.js';
import { $, clear, h, status, uid } from '../dom.js';
import { collator, evolutionText, figureText, STATUS_TEXT, themeLabel, withUnit } from '../format.js';
import { embedHref, isEmbedded, readState, writeState } from '../state.js';

// Series shown as "evolution between census years", in this order of preference.
const SERIES = ['population', 'population_legale'];

export async function start() {
  const { level, code } = config.territory;
  const state = readState({ reference: '', graphique: '' });
  const statusEl = $('[data-status]');
  const body = $('[data-body]');
  let catalogueById = new Map();
  try {
    catalogueById = (await loadCatalogue()).byId;
  } catch {
    // The portrait itself carries what it needs; the catalogue only adds definitions.
  }

  async function load() {
    status(statusEl, 'Chargement du portrait…');
    let data;
    try {
      data = await portrait(level, code, state.reference || undefined);
    } catch (error) {
      status(statusEl, `Portrait indisponible : ${error.message}`, 'error');
      return;
    }
    for (const f of data.figures) {
      const def = catalogueById.get(f.id);
      if (def) for (const k of ['label', 'unit', 'decimals', 'theme', 'key', 'source', 'definition']) if (f[k] === undefined || f[k] === '') f[k] = def[k];
    }
    renderHead(data);
    const drawn = render(data);
    status(statusEl, '');
    await Promise.all([drawn, isEmbedded() ? null : studies(body, level, code)]); // the small map, drawn or given up
    document.body.dataset.ready = 'true';
  }

  function renderHead(data) {
    const parents = data.references.length ? data.references : data.parents; // closest first
    const parentsEl = $('[data-parents]');
    clear(parentsEl);
    if (parents.length) {
      parentsEl.append('Appartient à : ');
      parents.forEach((p, i) => {
        if (i) parentsEl.append(' · ');
        parentsEl.append(h('a', { href: portraitHref(p.level, p.code) }, p.name), ` (${levelLabel(p.level)})`);
      });
    }
    const toolbar = $('[data-toolbar]');
    clear(toolbar);
    if (isEmbedded()) return;
    const currentRef = data.reference ? `${data.reference.level}:${data.reference.code}` : '';
    if (data.references.length) {
      const id = uid('reference');
      const select = h('select', { id, on: { change: (e) => { state.reference = e.target.value; writeState({ reference: state.reference }); load(); } } },
        data.references.map((r) => h('option', { value: `${r.level}:${r.code}`, selected: `${r.level}:${r.code}` === currentRef }, `${r.name} (${levelLabel(r.level)})`)));
      toolbar.append(h('div', { class: 'field' }, h('label', { for: id }, 'Comparer avec'), select));
    }
    toolbar.append(
      h('a', { class: 'button button-secondary', href: href('/comparer', { codes: [`${level}:${code}`, currentRef].filter(Boolean).join(',') }) }, 'Comparer à d\'autres territoires'),
      h('a', { class: 'button button-secondary', href: href('/carte', { level }) }, 'Voir sur la carte'));
  }

  function render(data) {
    const refName = data.reference?.name;
    const only = isEmbedded() ? state.graphique : '';
    const figures = data.figures;
    const synthetic = figures.some((f) => f.synthetic);
    let drawn = Promise.resolve();
    clear(body);
    if (!figures.length) {
      body.append(h('p', { class: 'notice' }, 'Aucun indicateur n\'est disponible pour ce territoire.'));
      return;
    }
    const sections = [];
    if (!only) sections.push(syntheticNotice(synthetic));

    // Key figures
    const key = figures.filter((f) => f.key && (f.value !== null || f.status === 'secret'));
    if (!only && key.length) {
      sections.push(h('section', { class: 'section', 'aria-labelledby': 'titre-cles' },
        h('h2', { id: 'titre-cles' }, 'Chiffres clés'),
        h('ul', { class: 'cards-list' }, key.map((f) => keyFigureCard(f, refName)))));
    }

    // Evolution between census years, and the small map
    const charts = [];
    for (const id of SERIES) {
      const f = figures.find((x) => x.id === id);
      if (!f || f.series.length < 2) continue;
      const chartId = `evolution-${id}`;
      if (only && only !== chartId) continue;
      charts.push(columnChart({
        id: chartId,
        title: withUnit(`${f.label} — évolution`, f.unit),
        points: f.series.map((p) => ({ label: String(p.year), value: p.value, status: p.status, synthetic: p.synthetic })),
        unit: f.unit, decimals: f.decimals, synthetic: f.series.some((p) => p.synthetic),
        note: evolutionText(f.evolution, f.unit) ? `Évolution : ${evolutionText(f.evolution, f.unit)}.` : null,
        embed: isEmbedded() ? null : embedHref({ graphique: chartId }),
        valueLabel: f.label,
      }));
    }
    if (!only) {
      const mapBox = h('div', { class: 'mini-map' });
      sections.push(h('section', { class: 'section grid-2', 'aria-labelledby': 'titre-evolution' },
        h('div', {}, h('h2', { id: 'titre-evolution' }, 'Évolution entre recensements'), charts.length ? charts : h('p', {}, 'Pas de série disponible.')),
        h('div', {}, h('h2', {}, 'Situation'), mapBox)));
      drawn = smallMap(mapBox, data.territory).catch(() => { mapBox.replaceChildren(h('p', { class: 'muted' }, 'Contour non disponible.')); });
    } else sections.push(...charts);

    // Themes
    const byTheme = new Map();
    for (const f of figures) {
      if (!byTheme.has(f.theme)) byTheme.set(f.theme, []);
      byTheme.get(f.theme).push(f);
    }
    const themes = [...byTheme.keys()];
    if (!only) {
      sections.push(h('nav', { class: 'theme-nav', 'aria-label': 'Thèmes du portrait' },
        h('ul', {}, themes.map((t, i) => h('li', {}, h('a', { href: `#theme-${i}` }, themeLabel(t)))))));
    }
    themes.forEach((theme, i) => {
      const list = byTheme.get(theme);
      const rates = list.filter((f) => f.unit === '%' && (f.value !== null || f.reference?.value != null)).slice(0, 10);
      const chartId = `theme-${i}-graphique`;
      let chart = null;
      if (rates.length >= 2 && (!only || only === chartId)) {
        chart = pairedBars({
          id: chartId,
          title: `${themeLabel(theme)} : ${data.territory.name}${refName ? ` et ${refName}` : ''} (%)`,
          rows: rates.map((f) => ({ label: f.label, a: f.value, b: f.reference?.value ?? null, statusA: f.status, statusB: f.reference?.status })),
          names: [data.territory.name, refName || 'Référence'],
          unit: '%', decimals: 1, synthetic: rates.some((f) => f.synthetic),
          embed: isEmbedded() ? null : embedHref({ graphique: chartId }),
        });
      }
      if (only) { if (chart) sections.push(chart); return; }
      sections.push(h('section', { class: 'section theme', id: `theme-${i}`, 'aria-labelledby': `theme-${i}-titre` },
        h('h2', { id: `theme-${i}-titre` }, themeLabel(theme)),
        themeTable(list, refName, themeLabel(theme)),
        chart));
    });
    body.append(...sections.filter(Boolean));
    return drawn;
  }

  await load();
}

// The "Études" block: the studies of the library about this territory (those this viewer may see).
async function studies(body, level, code) {
  let found;
  try {
    found = await getJSON('/api/etudes', { territoire: `${level}:${code}` });
  } catch {
    return; // the portrait does not depend on the library
  }
  if (!found.etudes || !found.etudes.length) return;
  const id = uid('etudes');
  body.append(h('section', { class: 'portrait-section', 'aria-labelledby': id, 'data-studies': '' },
    h('h2', { id }, 'Études'),
    h('ul', {}, found.etudes.map((s) => h('li', {},
      h('a', { href: href(`/etudes/${encodeURIComponent(s.id)}.pdf`) }, s.titre),
      ` — ${s.theme_libelle}, ${new Date(s.date).toLocaleDateString('fr-FR', { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' })}`,
      s.visibilite !== 'public' ? ` (${s.visibilite})` : null))),
    h('p', {}, h('a', { href: href('/etudes', { territoire: `${level}:${code}` }) }, 'Toutes les études de ce territoire'))));
}

function themeTable(list, refName, caption) {
  return h('div', { class: 'table-scroll' }, h('table', { class: 'data-table' },
    h('caption', {}, `${caption} : valeurs, évolution et comparaison`),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Indicateur'), h('th', { scope: 'col' }, 'Millésime'), h('th', { scope: 'col', class: 'num' }, 'Valeur'),
      h('th', { scope: 'col', class: 'num' }, 'Évolution'), h('th', { scope: 'col', class: 'num' }, refName || 'Référence'), h('th', { scope: 'col' }, 'Remarque'))),
    h('tbody', {}, [...list].sort((a, b) => Number(Boolean(b.key)) - Number(Boolean(a.key)) || collator.compare(a.label, b.label)).map((f) => {
      const remarks = [];
      if (f.status !== 'ok') remarks.push(STATUS_TEXT[f.status] || f.status);
      return h('tr', {},
        h('th', { scope: 'row' }, h('a', { href: href('/carte', { indicator: f.id }), title: f.definition || null }, f.label)),
        h('td', {}, f.year ? String(f.year) : '–'),
        h('td', { class: 'num' }, figureText(f.value, f.status, f.unit, f.decimals)),
        h('td', { class: 'num' }, evolutionText(f.evolution, f.unit) || '–'),
        h('td', { class: 'num' }, f.reference ? figureText(f.reference.value, f.reference.status, f.unit, f.decimals) : '–'),
        h('td', {}, remarks.join(' ; '), f.synthetic ? h('span', { class: 'demo-mark' }, SYNTHETIC_MARK) : null));
    }))));
}

async function smallMap(container, territory) {
  // The territory's own contour from the API; its neighbours from the level's vector tiles (not the whole level).
  const [{ createMap, bounds, vectorSource }, own] = await Promise.all([
    import('../mapbase.js'),
    territoryGeometry(territory.level, territory.code),
  ]);
  const shape = { type: 'FeatureCollection', features: [own] };
  const map = await createMap(container, { label: `Carte de situation : ${territory.name}`, navigation: true });
  const tiled = (config.mapLevels || []).some((l) => l.id === territory.level);
  if (tiled) {
    map.addSource('voisins', vectorSource(tilesTemplate(territory.level)));
    map.addLayer({ id: 'voisins', type: 'fill', source: 'voisins', 'source-layer': territory.level, paint: { 'fill-color': '#ffffff', 'fill-outline-color': '#9aa5b1' } });
  }
  map.addSource('territoire', { type: 'geojson', data: shape });
  map.addLayer({ id: 'territoire', type: 'fill', source: 'territoire', paint: { 'fill-color': '#1d4e89', 'fill-opacity': 0.55 } });
  map.addLayer({ id: 'territoire-contour', type: 'line', source: 'territoire', paint: { 'line-color': '#0b2545', 'line-width': 2 } });
  const box = bounds(shape);
  if (box) map.fitBounds(box, { padding: 40, duration: 0, maxZoom: 11.5 });
  await new Promise((resolve) => map.once('idle', resolve));
  return map;
}
