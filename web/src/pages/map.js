// Map explorer: an indicator, a level, a year. Rates and ratios as a choropleth (classification method and number
// of classes chosen by the user, with a histogram), stocks as proportional circles (the catalogue's `kind` decides).
// Contours come from the level's vector tiles (one set for every indicator and year); the values of /api/cube are
// joined to them by code in a `match` expression. Circles need one point per territory: the API has no centroids,
// so for stocks only the level's GeoJSON (/api/geo) is read, to place them. Hover shows a tooltip; a click opens the territory's portrait. The whole state is in the URL.
import { catalogue as loadCatalogue, classes as loadClasses, cube, geo, tileJSON, tilesTemplate } from '../api.js';
import { barChart, histogram } from '../charts.js';
import { config, href, levelLabel, portraitHref, SYNTHETIC_MARK } from '../config.js';
import { $, clear, h, s, status, uid, fill } from '../dom.js';
import { figureText, isNumber, number, quantity, STATUS_TEXT, themeLabel } from '../format.js';
import { anchor, createMap, maplibregl, NO_DATA_COLOR, PALETTES, vectorSource } from '../mapbase.js';
import { embedHref, isEmbedded, readState, writeState } from '../state.js';

const METHODS = [
  ['quantiles', 'Effectifs égaux (quantiles)'],
  ['jenks', 'Seuils naturels (Jenks)'],
  ['equal', 'Intervalles égaux'],
];
const STOCK_KINDS = new Set(['stock']);
const MAX_RADIUS = 28;

export async function start() {
  const statusEl = $('[data-status]');
  const mapEl = $('[data-map]');
  const legendEl = $('[data-legend]');
  const sideEl = $('[data-side]');
  const form = $('[data-controls]');
  status(statusEl, 'Chargement de la carte…');

  let cat;
  try {
    cat = await loadCatalogue();
  } catch (error) {
    status(statusEl, `Catalogue indisponible : ${error.message}`, 'error');
    return;
  }
  // Levels that have contours to draw; an indicator is offered when it has values at one of them.
  const mapLevels = config.mapLevels && config.mapLevels.length ? config.mapLevels : config.levels;
  const levelsOf = (d) => (d.levels.length ? mapLevels.filter((l) => d.levels.includes(l.id)) : mapLevels);
  const mappable = cat.indicators.filter((d) => levelsOf(d).length);
  const firstRatio = mappable.find((d) => d.key && d.kind !== 'stock' && (!d.levels.length || d.levels.includes('commune'))) || mappable[0];
  const defaults = { indicator: firstRatio?.id || '', level: 'commune', year: '', method: 'quantiles', k: '5' };
  const state = readState(defaults);
  if (cat.byId.has(state.indicator) && !levelsOf(cat.byId.get(state.indicator)).length) {
    const d = cat.byId.get(state.indicator);
    status(statusEl, '');
    fill(mapEl.parentElement, h('p', { class: 'notice' }, `« ${d.label} » n'est publié qu'à des niveaux sans contours (${d.levels.map(levelLabel).join(', ')}) : `,
      h('a', { href: href('/donnees', { indicator: d.id, level: d.levels[0] }) }, 'voir le tableau des valeurs'), '.'));
    return;
  }
  if (!cat.byId.has(state.indicator)) state.indicator = defaults.indicator;

  const map = await createMap(mapEl, { label: 'Carte des territoires colorés selon l\'indicateur choisi' });
  window.vigieMap = map; // for the browser tests and the curious
  map.addSource('cercles', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  let tiledLevel = null; // level whose vector tiles are the 'territoires' source
  let fillColor = NO_DATA_COLOR; // the `match` expression (code -> class colour) of what is drawn
  function useLevel(level) {
    if (tiledLevel === level) return;
    for (const id of ['territoires-survol', 'territoires-contour', 'territoires-fond']) if (map.getLayer(id)) map.removeLayer(id);
    if (map.getSource('territoires')) map.removeSource('territoires');
    map.addSource('territoires', vectorSource(tilesTemplate(level)));
    const before = map.getLayer('cercles') ? 'cercles' : undefined;
    const layer = { source: 'territoires', 'source-layer': level };
    map.addLayer({ id: 'territoires-fond', type: 'fill', ...layer, paint: { 'fill-color': fillColor, 'fill-opacity': 0.92 } }, before);
    map.addLayer({ id: 'territoires-contour', type: 'line', ...layer, paint: { 'line-color': '#ffffff', 'line-width': ['interpolate', ['linear'], ['zoom'], 6, 0.3, 11, 1.2] } }, before);
    map.addLayer({ id: 'territoires-survol', type: 'line', ...layer, filter: ['==', ['get', 'code'], ''], paint: { 'line-color': '#0b2545', 'line-width': 2.5 } }, before);
    tiledLevel = level;
  }
  map.addLayer({
    id: 'cercles', type: 'circle', source: 'cercles',
    layout: { 'circle-sort-key': ['-', 0, ['get', 'r']] },
    paint: {
      'circle-radius': ['interpolate', ['exponential', 1.6], ['zoom'], 6, ['*', ['get', 'r'], 0.6], 8, ['get', 'r'], 11, ['*', ['get', 'r'], 2.5]],
      'circle-color': '#b8612a',
      'circle-opacity': 0.72,
      'circle-stroke-color': '#ffffff',
      'circle-stroke-width': 0.8,
    },
  });

  const tooltip = new maplibregl.Popup({ closeButton: false, closeOnClick: false, className: 'map-tip', offset: 12, maxWidth: '280px' });
  let current = null; // what is drawn: {def, level, year, byCode}
  let hovered = '';

  function hover(event) {
    const feature = event.features && event.features[0];
    if (!feature || !current) return;
    const code = String(feature.properties.code);
    map.getCanvas().style.cursor = 'pointer';
    if (code !== hovered) {
      hovered = code;
      map.setFilter('territoires-survol', ['==', ['get', 'code'], code]);
    }
    const row = current.byCode.get(code);
    const value = row ? figureText(row.value, row.status, current.def.unit, current.def.decimals) : 'non disponible';
    const remark = row && row.status !== 'ok' ? STATUS_TEXT[row.status] || row.status : '';
    tooltip.setLngLat(event.lngLat).setDOMContent(h('div', {},
      h('strong', {}, feature.properties.name || code), h('br'),
      `${current.def.label} (${current.year}) : `, h('strong', {}, value),
      remark ? [h('br'), remark] : null,
      row && row.synthetic ? [h('br'), h('em', {}, SYNTHETIC_MARK)] : null)).addTo(map);
  }
  function leave() {
    hovered = '';
    map.getCanvas().style.cursor = '';
    map.setFilter('territoires-survol', ['==', ['get', 'code'], '']);
    tooltip.remove();
  }
  function open(event) {
    const feature = event.features && event.features[0];
    if (!feature || !current) return;
    window.location.href = portraitHref(current.level, String(feature.properties.code));
  }
  for (const layer of ['territoires-fond', 'cercles']) {
    map.on('mousemove', layer, hover);
    map.on('mouseleave', layer, leave);
  }
  map.on('click', 'territoires-fond', open);

  // ---------------------------------------------------------------- controls
  const fields = {};
  function field(name, label, options, { disabled = false } = {}) {
    const id = uid(name);
    const select = h('select', { id, name, disabled });
    fillSelect(select, options, state[name]);
    select.addEventListener('change', () => { state[name] = select.value; if (name === 'indicator' || name === 'level') state.year = ''; update(); });
    fields[name] = select;
    return h('div', { class: 'field' }, h('label', { for: id }, label), select);
  }
  const byTheme = new Map();
  for (const d of mappable) {
    if (!byTheme.has(d.theme)) byTheme.set(d.theme, []);
    byTheme.get(d.theme).push(d);
  }
  fill(form, 
    field('indicator', 'Indicateur', [...byTheme].map(([theme, list]) => ({ group: themeLabel(theme), options: list.map((d) => [d.id, d.label]) }))),
    field('level', 'Niveau', mapLevels.map((l) => [l.id, l.label])),
    field('year', 'Année', []),
    field('method', 'Classes', METHODS),
    field('k', 'Nombre de classes', [3, 4, 5, 6, 7].map((k) => [String(k), String(k)])),
  );
  form.addEventListener('submit', (e) => e.preventDefault());

  // ---------------------------------------------------------------- drawing
  let sequence = 0;
  async function update() {
    const mine = ++sequence;
    const def = cat.byId.get(state.indicator);
    if (!def) return;
    const levels = levelsOf(def);
    if (levels.length && !levels.some((l) => l.id === state.level)) state.level = levels.some((l) => l.id === 'commune') ? 'commune' : levels[0].id;
    fillSelect(fields.level, levels.map((l) => [l.id, l.label]), state.level);
    const circles = STOCK_KINDS.has(def.kind);
    fields.method.disabled = circles;
    fields.k.disabled = circles;
    status(statusEl, 'Chargement des données…');
    let shapes = null; // GeoJSON of the level, only to place circles
    let data;
    let tiles;
    try {
      [tiles, shapes, data] = await Promise.all([
        tileJSON(state.level), circles ? geo(state.level) : null,
        cube({ indicator: def.id, level: state.level, year: state.year || undefined }),
      ]);
    } catch (error) {
      if (mine === sequence) status(statusEl, `Carte impossible : ${error.message}`, 'error');
      return;
    }
    if (mine !== sequence) return;
    const years = data.years.length ? data.years : def.years;
    state.year = String(data.year ?? years[years.length - 1] ?? '');
    fillSelect(fields.year, [...years].reverse().map((y) => [String(y), String(y)]), state.year);
    writeState(state, { ...defaults, year: String(years[years.length - 1] ?? '') });

    const byCode = new Map(data.values.map((r) => [r.code, r]));
    const values = data.values.filter((r) => isNumber(r.value)).map((r) => r.value);
    let breaks = [];
    let colors = [];
    if (!circles && values.length) {
      try {
        breaks = (await loadClasses({ indicator: def.id, level: state.level, year: state.year, method: state.method, k: state.k })).bins;
      } catch (error) {
        status(statusEl, `Classes impossibles : ${error.message}`, 'error');
        return;
      }
      if (mine !== sequence) return;
      colors = PALETTES[Math.min(7, Math.max(2, breaks.length))] || PALETTES[5];
      if (breaks.length < colors.length) colors = colors.slice(colors.length - breaks.length);
    }
    const classOf = (v) => { const i = breaks.findIndex((b) => v <= b + 1e-9); return i < 0 ? breaks.length - 1 : i; };
    const counts = new Array(breaks.length).fill(0);
    let missing = 0;
    let synthetic = false;
    const maxValue = values.reduce((m, v) => (v > m ? v : m), 0);
    const points = [];
    const byColor = new Map(); // colour -> codes
    const paint = (code, color) => { if (!byColor.has(color)) byColor.set(color, []); byColor.get(color).push(code); };
    for (const row of data.values) {
      if (row.synthetic) synthetic = true;
      if (!isNumber(row.value)) { missing += 1; continue; }
      if (circles) paint(row.code, '#f7f7f5');
      else {
        const c = classOf(row.value);
        counts[c] += 1;
        paint(row.code, colors[c]);
      }
    }
    if (circles && shapes) {
      for (const f of shapes.features) {
        const code = String(f.properties.code);
        const row = byCode.get(code);
        if (!row || !isNumber(row.value) || row.value <= 0) continue;
        const at = anchor(f);
        if (at) points.push({ type: 'Feature', geometry: { type: 'Point', coordinates: at }, properties: { code, name: f.properties.name || row.name || code, r: MAX_RADIUS * Math.sqrt(row.value / (maxValue || 1)), synthetic: row.synthetic } });
      }
    }
    const branches = [];
    for (const [color, codes] of byColor) branches.push(codes, color);
    fillColor = branches.length ? ['match', ['to-string', ['get', 'code']], ...branches, NO_DATA_COLOR] : NO_DATA_COLOR;
    const levelChanged = !current || current.level !== state.level;
    useLevel(state.level);
    map.setPaintProperty('territoires-fond', 'fill-color', fillColor);
    map.getSource('cercles').setData({ type: 'FeatureCollection', features: points });
    current = { def, level: state.level, year: state.year, byCode };
    if (levelChanged && Array.isArray(tiles.bounds) && tiles.bounds.length === 4) {
      const [w, south, e, n] = tiles.bounds;
      map.fitBounds([[w, south], [e, n]], { padding: 20, duration: 0 });
    }
    renderLegend({ def, circles, breaks, colors, counts, missing, synthetic, maxValue, total: data.values.length, vintage: data.vintage });
    if (!isEmbedded()) renderSide({ def, data, breaks, colors, circles, synthetic });
    status(statusEl, values.length ? '' : 'Aucune valeur pour ce choix : essayez une autre année ou un autre niveau.');
    map.once('idle', () => { mapEl.dataset.ready = 'true'; });
    map.triggerRepaint();
  }

  function renderLegend({ def, circles, breaks, colors, counts, missing, synthetic, maxValue, total, vintage }) {
    const title = `${def.label} (${def.unit})`;
    const items = [];
    if (circles) {
      const refs = [maxValue, maxValue / 4, maxValue / 16].filter((v) => v > 0).map((v) => roundNice(v));
      const size = MAX_RADIUS * 2 + 14;
      const svg = s('svg', { viewBox: `0 0 ${size + 110} ${size}`, width: size + 110, height: size, role: 'img', 'aria-label': `Cercles proportionnels : ${refs.map((v) => quantity(v, def.unit, 0)).join(', ')}` });
      refs.forEach((v) => {
        const r = MAX_RADIUS * Math.sqrt(v / (maxValue || 1));
        svg.append(s('circle', { cx: MAX_RADIUS + 2, cy: size - 2 - r, r, fill: 'none', stroke: '#7a3f16' }),
          s('line', { x1: MAX_RADIUS + 2, x2: 2 * MAX_RADIUS + 8, y1: size - 2 - 2 * r, y2: size - 2 - 2 * r, stroke: '#7a3f16', 'stroke-dasharray': '2 2' }),
          s('text', { x: 2 * MAX_RADIUS + 12, y: size - 2 - 2 * r + 4, class: 'axis' }, quantity(v, '', 0)));
      });
      items.push(h('p', { class: 'small' }, 'Surface des cercles proportionnelle à la valeur (au zoom moyen).'), svg);
    } else {
      const list = h('ul', { class: 'legend-classes' });
      let low = null;
      breaks.forEach((b, i) => {
        const text = i === 0 ? `jusqu'à ${figureText(b, 'ok', def.unit, def.decimals)}` : `de ${figureText(low, 'ok', def.unit, def.decimals)} à ${figureText(b, 'ok', def.unit, def.decimals)}`;
        list.append(h('li', {}, h('span', { class: 'swatch', style: `background:${colors[i]}` }), `${text} `, h('span', { class: 'count' }, `(${counts[i]})`)));
        low = b;
      });
      if (missing) list.append(h('li', {}, h('span', { class: 'swatch', style: `background:${NO_DATA_COLOR}` }), 'secret, non disponible ou non agrégeable ', h('span', { class: 'count' }, `(${missing})`)));
      items.push(list);
    }
    const when = vintage && vintage !== String(state.year) ? `${state.year} (${vintage})` : String(state.year);
    const source = def.source ? `Source : ${def.source}, ${when}` : `Millésime ${when}`;
    fill(legendEl, h('h2', { class: 'legend-title' }, title),
      h('p', { class: 'legend-sub' }, `${levelLabel(state.level)} · ${state.year} · ${number(total)} territoires`),
      ...items,
      h('p', { class: 'legend-source' }, source, def.licence ? ` — ${def.licence}` : ''),
      synthetic ? h('p', { class: 'demo-mark' }, SYNTHETIC_MARK) : null);
  }

  function renderSide({ def, data, breaks, colors, circles, synthetic }) {
    const shown = data.values.filter((r) => isNumber(r.value));
    const parts = [];
    if (shown.length > 2) {
      parts.push(histogram({
        id: 'histogramme',
        title: `Répartition des valeurs (${number(shown.length)} territoires)`,
        values: shown.map((r) => r.value),
        breaks: circles ? [Math.max(...shown.map((r) => r.value))] : breaks,
        colors: circles ? ['#b8612a'] : colors,
        unit: def.unit, decimals: def.decimals, synthetic, width: 360, height: 200,
      }));
    }
    const top = [...shown].sort((a, b) => b.value - a.value).slice(0, 8);
    if (top.length) {
      parts.push(barChart({
        id: 'plus-fortes-valeurs', title: 'Les valeurs les plus élevées',
        items: top.map((r) => ({ label: r.name, value: r.value, status: r.status, highlight: true, color: circles ? '#b8612a' : '#1d4e89' })),
        unit: def.unit, decimals: def.decimals, synthetic, valueLabel: def.label, width: 380, labelWidth: 130,
      }));
    }
    fill(sideEl, ...parts,
      def.definition ? h('p', { class: 'definition' }, h('strong', {}, 'Définition : '), def.definition) : null,
      h('p', { class: 'links' },
        h('a', { class: 'button button-secondary', href: href('/donnees', { indicator: def.id, level: state.level, year: state.year }) }, 'Tableau et téléchargements'), ' ',
        h('a', { class: 'button button-secondary', href: embedHref() }, 'Lien pour intégrer la carte')));
  }

  await update();
}

function roundNice(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  return Math.round(v / p) * p;
}

function fillSelect(select, options, value) {
  clear(select);
  const add = (parent, [v, label]) => parent.append(h('option', { value: v, selected: String(v) === String(value) }, label));
  for (const option of options) {
    if (option.group) {
      const group = h('optgroup', { label: option.group });
      option.options.forEach((o) => add(group, o));
      select.append(group);
    } else add(select, option);
  }
  if (value !== undefined && value !== '') select.value = value;
}
