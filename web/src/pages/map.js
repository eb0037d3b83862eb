// Map explorer: an indicator, a level, a year. Rates and ratios as a choropleth (classification method and number
// of classes chosen by the user, with a histogram), stocks as proportional circles (the catalogue's `kind` decides).
//
// Speed for 35,000 communes: below zoom 7 (a map of France) the server draws the map (PNG tiles of
// /api/map/image, publish/overview.py): the browser decodes a few images instead of laying out and drawing 35,000
// polygons, and loads the vector tiles only after that first paint, undrawn, for the tooltips and the click. From
// zoom 7 the contours come from the level's vector tiles (one set for every indicator and year), requested as soon
// as the map exists, at the level's extent (sent in the page's config). The values come
// in one compact answer (/api/map/values: an array aligned to the level's code order of /api/map/codes, with the
// classes computed by the server), fetched at the same time as the catalogue; the territories' colours are one
// `match` expression (code -> colour, see `paint`). Circles stand on the label points of
// /api/map/points (inside each contour), never on polygons.
//
// Keyboard and screen readers: the list beside the map names the territories the map shows (with their value);
// arrow keys move through it, the map outlines the territory and shows its tooltip, Enter opens its portrait.
// Hover shows a tooltip; a click opens the territory's portrait. The whole state is in the URL.
import { catalogue as loadCatalogue, mapCodes, mapPoints, mapValues, overviewTemplate, tilesTemplate } from '../api.js';
import { barChart, histogram } from '../charts.js';
import { config, href, levelLabel, portraitHref, SYNTHETIC_MARK } from '../config.js';
import { $, clear, h, s, status, uid, fill } from '../dom.js';
import { collator, figureText, isNumber, number, quantity, STATUS_TEXT, themeLabel, withUnit } from '../format.js';
import { anchor, createMap, maplibregl, NO_DATA_COLOR, vectorSource } from '../mapbase.js';
import { embedHref, isEmbedded, readState, writeState } from '../state.js';

const METHODS = [
  ['quantiles', 'Effectifs égaux (quantiles)'],
  ['jenks', 'Seuils naturels (Jenks)'],
  ['equal', 'Intervalles égaux'],
];
const MAX_RADIUS = 28; // largest circle (pixels, at zoom 8) when the territories are few
const MIN_RADIUS = 3;
const CIRCLES_SHARE = 0.2; // circles cover at most about this share of the map (their sum, overlaps counted)
const LIST_LIMIT = 300; // territories listed beside the map at most (zoom in to list fewer)
const OVERVIEW_ZOOM = 7; // below it, the server's images (drawn up to zoom 6); from it, the vector tiles

export async function start() {
  performance.mark('vigie:start');
  const statusEl = $('[data-status]');
  const mapEl = $('[data-map]');
  const legendEl = $('[data-legend]');
  const sideEl = $('[data-side]');
  const listEl = $('[data-list]');
  const form = $('[data-controls]');
  status(statusEl, 'Chargement de la carte…');

  // Levels that have contours to draw; an indicator is offered when it has values at one of them.
  const mapLevels = config.mapLevels && config.mapLevels.length ? config.mapLevels : config.levels;
  const defaults = { indicator: config.mapDefault || '', level: 'commune', year: '', method: 'quantiles', k: '5' };
  const state = readState(defaults);
  const request = () => ({ indicator: state.indicator, level: state.level, year: state.year || undefined, method: state.method, k: state.k });

  // Everything starts at once: the catalogue (for the controls), the map and its tiles, the code order and values.
  prefetchFirstView(state);
  const catalogueP = loadCatalogue();
  const mapP = createMap(mapEl, { label: 'Carte des territoires colorés selon l\'indicateur choisi', bounds: config.mapBounds });
  const codesP = mapCodes(state.level);
  const valuesP = state.indicator ? mapValues(request()) : null;
  [catalogueP, codesP, valuesP].forEach((p) => p && p.catch(() => {})); // errors are reported below, once

  let cat;
  try {
    cat = await catalogueP;
    performance.mark('vigie:catalogue');
  } catch (error) {
    status(statusEl, `Catalogue indisponible : ${error.message}`, 'error');
    return;
  }
  const levelsOf = (d) => (d.levels.length ? mapLevels.filter((l) => d.levels.includes(l.id)) : mapLevels);
  const mappable = cat.indicators.filter((d) => levelsOf(d).length);
  if (cat.byId.has(state.indicator) && !levelsOf(cat.byId.get(state.indicator)).length) {
    const d = cat.byId.get(state.indicator);
    status(statusEl, '');
    fill(mapEl.parentElement, h('p', { class: 'notice' }, `« ${d.label} » n'est publié qu'à des niveaux sans contours (${d.levels.map(levelLabel).join(', ')}) : `,
      h('a', { href: href('/donnees', { indicator: d.id, level: d.levels[0] }) }, 'voir le tableau des valeurs'), '.'));
    return;
  }
  let first = valuesP;
  if (!cat.byId.has(state.indicator)) {
    const fallback = mappable.find((d) => d.key && d.kind !== 'stock' && (!d.levels.length || d.levels.includes('commune'))) || mappable[0];
    defaults.indicator = fallback?.id || '';
    state.indicator = defaults.indicator;
    first = null;
  }

  let map;
  try {
    map = await mapP;
  } catch (error) {
    status(statusEl, `Carte impossible : ${error.message}`, 'error');
    return;
  }
  window.vigieMap = map; // for the browser tests and the curious
  performance.mark('vigie:map');
  const EMPTY = { type: 'FeatureCollection', features: [] };
  map.addSource('cercles', { type: 'geojson', data: EMPTY });
  // The outline of the territory under the mouse (or active in the list): its shape alone, in a source of its own.
  map.addSource('survol', { type: 'geojson', data: EMPTY });
  let tiledLevel = null; // level whose vector tiles are the 'territoires' source
  function useLevel(level) {
    if (tiledLevel === level) return;
    for (const id of ['territoires-contour', 'territoires-fond']) if (map.getLayer(id)) map.removeLayer(id);
    if (map.getSource('territoires')) map.removeSource('territoires');
    map.addSource('territoires', vectorSource(tilesTemplate(level)));
    const before = map.getLayer('cercles') ? 'cercles' : undefined;
    const layer = { source: 'territoires', 'source-layer': level };
    // Below OVERVIEW_ZOOM the server's image shows the colours: the fill is there for the tooltips and the click
    // only (opacity 0: MapLibre does not draw it, but finds its features).
    map.addLayer({ id: 'territoires-fond', type: 'fill', ...layer, paint: { 'fill-color': fillColor, 'fill-opacity': ['step', ['zoom'], 0, OVERVIEW_ZOOM, 0.92] } }, before);
    // Borders from zoom 5.5: on a map of France they would be a grey veil of 35,000 hairlines (and cost a third of the paint).
    map.addLayer({ id: 'territoires-contour', type: 'line', ...layer, minzoom: 5.5, paint: { 'line-color': '#ffffff', 'line-width': ['interpolate', ['linear'], ['zoom'], 6, 0.3, 11, 1.2] } }, before);
    tiledLevel = level;
  }
  map.addLayer({
    id: 'cercles', type: 'circle', source: 'cercles', minzoom: OVERVIEW_ZOOM,
    layout: { 'circle-sort-key': ['-', 0, ['get', 'r']] },
    paint: {
      'circle-radius': ['interpolate', ['exponential', 1.6], ['zoom'], 6, ['*', ['get', 'r'], 0.6], 8, ['get', 'r'], 11, ['*', ['get', 'r'], 2.5]],
      'circle-color': '#b8612a',
      'circle-opacity': 0.72,
      'circle-stroke-color': '#ffffff',
      'circle-stroke-width': 0.8,
    },
  });
  map.addLayer({ id: 'territoires-survol', type: 'line', source: 'survol', paint: { 'line-color': '#0b2545', 'line-width': 2.5 } });
  let fillColor = NO_DATA_COLOR; // a `match` expression: code -> colour of its class
  let overviewLevel = null; // level of the 'apercu' raster source (the server's images)
  let overviewUrl = '';
  function showOverview(level, asked, radius) {
    const params = radius
      ? { indicator: asked.indicator, year: asked.year, r: radius.toFixed(1) }
      : { indicator: asked.indicator, year: asked.year, method: asked.method, k: asked.k };
    const url = overviewTemplate(level, params);
    if (overviewLevel === level) {
      if (url !== overviewUrl) map.getSource('apercu').setTiles([url]);
      overviewUrl = url;
      return;
    }
    overviewUrl = url;
    if (map.getLayer('apercu')) map.removeLayer('apercu');
    if (map.getSource('apercu')) map.removeSource('apercu');
    map.addSource('apercu', { type: 'raster', tiles: [url], tileSize: 1024, minzoom: 0, maxzoom: OVERVIEW_ZOOM - 1 });
    const before = ['territoires-fond', 'territoires-contour', 'cercles'].find((id) => map.getLayer(id));
    map.addLayer({ id: 'apercu', type: 'raster', source: 'apercu', maxzoom: OVERVIEW_ZOOM, paint: { 'raster-fade-duration': 0 } }, before);
    overviewLevel = level;
  }

  const tooltip = new maplibregl.Popup({ closeButton: false, closeOnClick: false, className: 'map-tip', offset: 12, maxWidth: '280px' });
  let current = null; // what is drawn: {def, level, year, data, codes, index (code -> position)}
  let hovered = '';

  function highlight(code) {
    if (code === hovered) return;
    hovered = code;
    // Every piece of the territory in the loaded tiles (a territory may straddle several tiles).
    const parts = code ? map.querySourceFeatures('territoires', { sourceLayer: tiledLevel, filter: ['==', ['get', 'code'], code] }) : [];
    map.getSource('survol').setData({ type: 'FeatureCollection', features: parts.map((f) => ({ type: 'Feature', geometry: f.geometry, properties: {} })) });
  }
  function nameOf(code, fallback) {
    if (fallback) return fallback;
    const found = map.querySourceFeatures('territoires', { sourceLayer: tiledLevel, filter: ['==', ['get', 'code'], code] });
    return (found[0] && found[0].properties.name) || code;
  }
  function tipContent(code, name) {
    const i = current.index.get(code);
    const value = i === undefined ? 'non disponible' : figureText(current.data.values[i], current.data.statuses[i], current.def.unit, current.def.decimals);
    const st = i === undefined ? 'missing' : current.data.statuses[i];
    const remark = st !== 'ok' ? STATUS_TEXT[st] || st : '';
    return h('div', {},
      h('strong', {}, nameOf(code, name)), h('br'),
      `${current.def.label} (${current.year}) : `, h('strong', {}, value),
      remark && remark !== value ? [h('br'), remark] : null,
      current.data.synthetic ? [h('br'), h('em', {}, SYNTHETIC_MARK)] : null);
  }
  function hover(event) {
    const feature = event.features && event.features[0];
    if (!feature || !current) return;
    const code = String(feature.properties.code);
    map.getCanvas().style.cursor = 'pointer';
    highlight(code);
    tooltip.setLngLat(event.lngLat).setDOMContent(tipContent(code, feature.properties.name)).addTo(map);
  }
  function leave() {
    highlight('');
    map.getCanvas().style.cursor = '';
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
  map.on('click', 'cercles', open);

  // ---------------------------------------------------------------- controls
  const fields = {};
  function field(name, label, options, { disabled = false } = {}) {
    const id = uid(name);
    const select = h('select', { id, name, disabled });
    fillSelect(select, options, state[name]);
    select.addEventListener('change', () => { titleOf(select); state[name] = select.value; if (name === 'indicator' || name === 'level') state.year = ''; update(); });
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
  async function update(prefetched) {
    const mine = ++sequence;
    const asked = request(); // before the year is filled in: the images asked before the values have this address
    const def = cat.byId.get(state.indicator);
    if (!def) return;
    const levels = levelsOf(def);
    if (levels.length && !levels.some((l) => l.id === state.level)) {
      state.level = levels.some((l) => l.id === 'commune') ? 'commune' : levels[0].id;
      prefetched = null; // asked for another level
    }
    fillSelect(fields.level, levels.map((l) => [l.id, l.label]), state.level);
    const circles = def.kind === 'stock';
    fields.method.disabled = circles;
    fields.k.disabled = circles;
    status(statusEl, 'Chargement des données…');
    let data;
    let layout;
    let points = null;
    // A first view below OVERVIEW_ZOOM shows the server's images first; the vector tiles (and the circles' points
    // and index) come after that first paint, so that they do not compete with it.
    const overviewFirst = !current && map.getZoom() < OVERVIEW_ZOOM;
    // The images of a rate depend only on what is asked (the server classifies): requested now, with the values.
    if (!circles && (!current || current.level === state.level)) showOverview(state.level, asked, null);
    try {
      [layout, data, points] = await Promise.all([
        mapCodes(state.level), prefetched ? prefetched.catch(() => mapValues(request())) : mapValues(request()),
        circles && !overviewFirst ? mapPoints(state.level) : null,
      ]);
    } catch (error) {
      if (mine === sequence) status(statusEl, `Carte impossible : ${error.message}`, 'error');
      return;
    }
    if (mine !== sequence) return;
    if (data.version !== layout.version) {
      status(statusEl, 'Carte impossible : les valeurs et les territoires ne correspondent pas (rechargez la page).', 'error');
      return;
    }
    performance.mark('vigie:data');
    const years = data.years.length ? data.years : def.years;
    state.year = String(data.year ?? years[years.length - 1] ?? '');
    fillSelect(fields.year, [...years].reverse().map((y) => [String(y), String(y)]), state.year);
    writeState(state, { ...defaults, year: String(years[years.length - 1] ?? '') });

    const breaks = circles || !data.classes ? [] : data.classes.breaks;
    const colors = breaks.length ? data.classes.colors : []; // the server's, as in its images
    const classOf = (v) => { const i = breaks.findIndex((b) => v <= b + 1e-9); return i < 0 ? breaks.length - 1 : i; };
    const { codes } = layout;
    const fillOf = new Array(codes.length).fill(null);
    const counts = new Array(breaks.length).fill(0);
    let missing = 0;
    const maxValue = isNumber(data.max) && data.max > 0 ? data.max : 0;
    for (let i = 0; i < codes.length; i += 1) {
      const v = data.values[i];
      if (!isNumber(v)) { missing += 1; continue; }
      if (circles) fillOf[i] = data.colors.ground;
      else {
        const c = classOf(v);
        counts[c] += 1;
        fillOf[i] = colors[c];
      }
    }
    // The scale of the circles: the largest is MAX_RADIUS, unless all the circles would then cover more than
    // CIRCLES_SHARE of the map (35,000 communes of similar size): smaller then, down to MIN_RADIUS.
    let radius = MAX_RADIUS;
    if (circles) {
      let shares = 0;
      for (const v of data.values) if (isNumber(v) && v > 0) shares += v / (maxValue || 1);
      const room = CIRCLES_SHARE * mapEl.clientWidth * mapEl.clientHeight;
      const fit = Math.sqrt(room / (Math.PI * Math.max(shares, 1e-9))) / zoomFactor(map.getZoom());
      radius = Math.max(MIN_RADIUS, Math.min(MAX_RADIUS, fit));
    }
    const circlesOn = (at) => {
      const features = [];
      if (!circles || !at) return features;
      for (let i = 0; i < codes.length; i += 1) {
        const v = data.values[i];
        if (!isNumber(v) || v <= 0 || at.lon[i] === null) continue;
        features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [at.lon[i], at.lat[i]] }, properties: { code: codes[i], r: radius * Math.sqrt(v / (maxValue || 1)) } });
      }
      return features;
    };
    if (current && current.level !== state.level && Array.isArray(layout.bounds) && layout.bounds.length === 4) {
      const [w, south, e, n] = layout.bounds;
      map.fitBounds([[w, south], [e, n]], { padding: 20, duration: 0 });
    }
    const level = state.level;
    const drawVectors = async () => {
      paint(codes, fillOf, level, data.colors.no_data);
      const at = circles && !points ? await mapPoints(level).catch(() => null) : points;
      if (mine === sequence) map.getSource('cercles').setData({ type: 'FeatureCollection', features: circlesOn(at) });
    };
    showOverview(level, asked, circles ? radius : null);
    if (!overviewFirst) drawVectors();
    current = { def, level: state.level, year: state.year, data, codes, index: new Map(codes.map((c, i) => [c, i])) };
    performance.mark('vigie:styled');
    renderLegend({ def, circles, breaks, colors, counts, missing, synthetic: data.synthetic, maxValue, radius, total: codes.length, vintage: data.vintage });
    status(statusEl, data.with_value ? '' : 'Aucune valeur pour ce choix : essayez une autre année ou un autre niveau.');
    map.once('idle', () => {
      performance.mark('vigie:idle');
      if (!mapEl.dataset.paintMs) mapEl.dataset.paintMs = String(Math.round(performance.now()));
      // After the first paint: the side charts and the list of territories.
      if (!isEmbedded()) renderSide({ def, data, breaks, colors, circles });
      mapEl.dataset.ready = 'true';
      const interactive = () => { refreshList(); mapEl.dataset.interactive = 'true'; };
      if (!overviewFirst) interactive();
      else if (mine === sequence) {
        drawVectors();
        map.once('idle', interactive);
      }
    });
    map.triggerRepaint();
  }

  /**
   * Colour the territories: one `match` expression (codes grouped by colour), evaluated by MapLibre's workers as
   * they lay out the tiles. Measured on 35,000 communes with software WebGL, this paints in about the time of
   * uncoloured tiles, where one feature state per territory adds 40 to 70 % (each state decodes its feature again
   * on the main thread). The tile layers are added only once the first colours are known, so that the tiles are laid
   * out once (`prefetchTiles` has them in the browser's cache meanwhile).
   */
  function paint(codes, fillOf, level, noData) {
    const groups = new Map();
    for (let i = 0; i < codes.length; i += 1) {
      const color = fillOf[i];
      if (color === null) continue;
      if (!groups.has(color)) groups.set(color, []);
      groups.get(color).push(codes[i]);
    }
    const branches = [];
    for (const [color, list] of groups) branches.push(list, color);
    fillColor = branches.length ? ['match', ['to-string', ['get', 'code']], ...branches, noData] : noData;
    if (tiledLevel === level) map.setPaintProperty('territoires-fond', 'fill-color', fillColor);
    else useLevel(level);
  }
  function renderLegend({ def, circles, breaks, colors, counts, missing, synthetic, maxValue, radius, total, vintage }) {
    const MAX_RADIUS = radius; // the legend's circles are the map's, at zoom 8
    const title = withUnit(def.label, def.unit);
    const items = [];
    if (circles) {
      const refs = [maxValue, maxValue / 4, maxValue / 16].filter((v) => v > 0).map((v) => roundNice(v));
      const size = Math.max(MAX_RADIUS * 2 + 14, 36);
      const svg = s('svg', { viewBox: `0 0 ${size + 110} ${size}`, width: size + 110, height: size, role: 'img', 'aria-label': `Cercles proportionnels : ${refs.map((v) => quantity(v, def.unit, 0)).join(', ')}` });
      refs.forEach((v) => {
        const r = MAX_RADIUS * Math.sqrt(v / (maxValue || 1)); // drawn at the legend's scale
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

  function renderSide({ def, data, breaks, colors, circles }) {
    const shown = data.values.filter(isNumber);
    const parts = [];
    if (shown.length > 2) {
      parts.push(histogram({
        id: 'histogramme',
        title: `Répartition des valeurs (${number(shown.length)} territoires)`,
        values: shown,
        breaks: circles ? [data.max] : breaks,
        colors: circles ? ['#b8612a'] : colors,
        unit: def.unit, decimals: def.decimals, synthetic: data.synthetic, width: 360, height: 200,
      }));
    }
    const top = (data.top || []).filter((r) => isNumber(r.value));
    if (top.length) {
      parts.push(barChart({
        id: 'plus-fortes-valeurs', title: 'Les valeurs les plus élevées',
        items: top.map((r) => ({ label: r.name, value: r.value, status: r.status, highlight: true, color: circles ? '#b8612a' : '#1d4e89' })),
        unit: def.unit, decimals: def.decimals, synthetic: data.synthetic, valueLabel: def.label, width: 380, labelWidth: 130,
      }));
    }
    fill(sideEl, ...parts,
      def.definition ? h('p', { class: 'definition' }, h('strong', {}, 'Définition : '), def.definition) : null,
      h('p', { class: 'links' },
        h('a', { class: 'button button-secondary', href: href('/donnees', { indicator: def.id, level: state.level, year: state.year }) }, 'Tableau et téléchargements'), ' ',
        h('a', { class: 'button button-secondary', href: embedHref() }, 'Lien pour intégrer la carte')));
  }

  // ---------------------------------------------------------------- keyboard: the territories the map shows
  // A listbox (one tab stop): ↑ ↓ Début Fin Page↑ Page↓ move through the territories, the map outlines the active
  // one and shows its tooltip; Entrée opens its portrait. The list follows the map (pan and zoom, also with the
  // keyboard on the map itself: arrows, + and −).
  let listed = []; // [{code, name, lngLat}]
  let active = -1;
  const listId = uid('territoires');
  const listBox = listEl ? h('ul', { id: listId, role: 'listbox', tabindex: '0', class: 'map-list-items', 'aria-label': 'Territoires visibles sur la carte' }) : null;
  const listNote = listEl ? h('p', { class: 'small', id: uid('aide-liste') }) : null;
  if (listEl) {
    listBox.setAttribute('aria-describedby', listNote.id);
    fill(listEl, h('h2', { class: 'map-list-title' }, 'Territoires de la carte'), listNote, listBox);
    listBox.addEventListener('keydown', onListKey);
    listBox.addEventListener('focus', () => { if (active < 0 && listed.length) activate(0); else if (active >= 0) activate(active); });
    listBox.addEventListener('blur', () => { highlight(''); tooltip.remove(); });
  }
  let listTimer = 0;
  map.on('moveend', () => { clearTimeout(listTimer); listTimer = setTimeout(refreshList, 150); });

  function refreshList() {
    if (!listEl || !current) return;
    const seen = new Map();
    for (const f of map.queryRenderedFeatures({ layers: ['territoires-fond'] })) {
      const code = String(f.properties.code);
      if (!seen.has(code)) seen.set(code, f);
    }
    const all = [...seen.values()].map((f) => ({ code: String(f.properties.code), name: f.properties.name || String(f.properties.code), feature: f }))
      .sort((x, y) => collator.compare(x.name, y.name));
    const keep = active >= 0 && listed[active] ? listed[active].code : null;
    listed = all.slice(0, LIST_LIMIT);
    listNote.textContent = all.length > LIST_LIMIT
      ? `${number(all.length)} territoires visibles : les ${number(LIST_LIMIT)} premiers par ordre alphabétique. Zoomez sur la carte (touches + et −) pour les voir tous. Flèches pour parcourir, Entrée pour ouvrir le portrait.`
      : `${number(all.length)} territoire${all.length > 1 ? 's' : ''} visible${all.length > 1 ? 's' : ''}. Flèches pour parcourir, Entrée pour ouvrir le portrait.`;
    clear(listBox);
    listed.forEach((t, i) => {
      const at = current.index.get(t.code);
      const value = at === undefined ? 'non disponible' : figureText(current.data.values[at], current.data.statuses[at], current.def.unit, current.def.decimals);
      listBox.append(h('li', { id: `${listId}-${i}`, role: 'option', 'aria-selected': 'false', dataset: { code: t.code },
        on: { click: () => { activate(i); listBox.focus(); }, dblclick: () => openListed(i) } },
      h('span', { class: 'map-list-name' }, t.name), ' ', h('span', { class: 'map-list-value' }, value)));
    });
    active = keep ? listed.findIndex((t) => t.code === keep) : -1;
    if (active >= 0) mark(active);
    else listBox.removeAttribute('aria-activedescendant');
  }

  function mark(i) {
    for (const el of listBox.querySelectorAll('[aria-selected=true]')) el.setAttribute('aria-selected', 'false');
    const el = document.getElementById(`${listId}-${i}`);
    if (!el) return;
    el.setAttribute('aria-selected', 'true');
    listBox.setAttribute('aria-activedescendant', el.id);
    el.scrollIntoView({ block: 'nearest' });
  }

  function activate(i) {
    if (!listed.length) return;
    active = Math.max(0, Math.min(listed.length - 1, i));
    mark(active);
    const t = listed[active];
    highlight(t.code);
    const at = anchor(t.feature) || map.getCenter().toArray();
    tooltip.setLngLat(at).setDOMContent(tipContent(t.code, t.name)).addTo(map);
  }

  function openListed(i) {
    const t = listed[i];
    if (t && current) window.location.href = portraitHref(current.level, t.code);
  }

  function onListKey(event) {
    const page = 10;
    const moves = { ArrowDown: active + 1, ArrowUp: active - 1, Home: 0, End: listed.length - 1, PageDown: active + page, PageUp: active - page };
    if (event.key in moves) {
      event.preventDefault();
      activate(active < 0 && event.key === 'ArrowUp' ? 0 : moves[event.key]);
    } else if (event.key === 'Enter' && active >= 0) {
      event.preventDefault();
      openListed(active);
    } else if (event.key === 'Escape') {
      highlight('');
      tooltip.remove();
    }
  }

  await update(first);
}

/**
 * Before the map exists, ask for the vector tiles of its first view (the level's extent, sent in the page's
 * config), so that they travel while the scripts start. Not for the server's images below OVERVIEW_ZOOM: measured,
 * asking for them early makes the first paint no sooner (the browser is busy starting the map meanwhile).
 */
function prefetchFirstView(state) {
  const bounds = config.mapBounds;
  const container = $('[data-map]');
  if (!Array.isArray(bounds) || bounds.length !== 4 || !container || !container.clientWidth) return;
  const [width, height] = [container.clientWidth, container.clientHeight];
  const zoom = fitZoom(bounds, width, height, 20);
  // The view MapLibre will show: the extent's centre, width × height pixels at that zoom (in [0, 1] Mercator units).
  const [west, south, east, north] = bounds;
  const cx = (mercatorX(west) + mercatorX(east)) / 2;
  const cy = (mercatorY(north) + mercatorY(south)) / 2;
  const half = [width / 2 / (512 * 2 ** zoom), height / 2 / (512 * 2 ** zoom)];
  const view = [cx - half[0], cy - half[1], cx + half[0], cy + half[1]];
  if (zoom >= OVERVIEW_ZOOM) prefetchTiles(view, tilesTemplate(state.level), Math.floor(zoom));
}

const mercatorX = (lon) => (lon + 180) / 360;
const mercatorY = (lat) => (1 - Math.asinh(Math.tan((lat * Math.PI) / 180)) / Math.PI) / 2;

/** The zoom at which MapLibre's `fitBounds` (512-pixel tiles) shows `bounds` [west, south, east, north] in a width × height box. */
function fitZoom([west, south, east, north], width, height, padding) {
  const dx = (mercatorX(east) - mercatorX(west)) * 512;
  const dy = (mercatorY(south) - mercatorY(north)) * 512;
  return Math.log2(Math.min((width - 2 * padding) / Math.max(dx, 1e-9), (height - 2 * padding) / Math.max(dy, 1e-9)));
}

/** Ask for the tiles (`template`, zoom `zoom`) over `view` [xmin, ymin, xmax, ymax] (Mercator, 0 to 1, y down), into the browser's cache. */
function prefetchTiles([xmin, ymin, xmax, ymax], template, zoom) {
  const z = Math.max(0, Math.min(14, zoom));
  const n = 2 ** z;
  const cell = (v) => Math.max(0, Math.min(n - 1, Math.floor(v * n)));
  const [x0, x1, y0, y1] = [cell(xmin), cell(xmax), cell(ymin), cell(ymax)];
  if ((x1 - x0 + 1) * (y1 - y0 + 1) > 24) return;
  for (let x = x0; x <= x1; x += 1) {
    for (let y = y0; y <= y1; y += 1) fetch(template.replace('{z}', z).replace('{x}', x).replace('{y}', y)).catch(() => {});
  }
}

/** How much the circles' radius is multiplied at `zoom` (the 'circle-radius' expression of the 'cercles' layer). */
function zoomFactor(zoom) {
  const stops = [[6, 0.6], [8, 1], [11, 2.5]];
  if (zoom <= stops[0][0]) return stops[0][1];
  if (zoom >= stops[2][0]) return stops[2][1];
  const [[z0, f0], [z1, f1]] = zoom < 8 ? [stops[0], stops[1]] : [stops[1], stops[2]];
  const t = (1.6 ** (zoom - z0) - 1) / (1.6 ** (z1 - z0) - 1);
  return f0 + (f1 - f0) * t;
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
  titleOf(select);
}

/** A long indicator name is cut in its narrow select: the select's title (tooltip) gives it whole. */
function titleOf(select) {
  const chosen = select.selectedOptions && select.selectedOptions[0];
  select.title = chosen ? chosen.textContent : '';
}
