// Survey page: a motive → the flow map (home → destination, width ∝ weighted trips, only flows above a threshold),
// a pole → its catchment map (territories coloured by the share of their trips going there), each map followed by
// its data table; the attraction of the poles, the leakage outside the study territory, weighted estimates with their
// 95 % intervals (small cells flagged), the weighting report and the interview themes with their quotations.
// Everything comes from /api/enquete/… (vigie/modules/enquete/web.py); contours from the app's vector tiles; the state
// (survey, motive, pole, origin, threshold, variable, grouping, profile) is in the URL.
import { getJSON, tilesTemplate } from '../api.js';
import { barChart } from '../charts.js';
import { config, SYNTHETIC_MARK } from '../config.js';
import { syntheticNotice } from '../cards.js';
import { $, h, status, uid, fill } from '../dom.js';
import { DASH, isNumber, number, percent } from '../format.js';
import { createMap, FIVE_CLASSES, maplibregl, NO_DATA_COLOR, vectorSource } from '../mapbase.js';
import { readState, writeState } from '../state.js';

const THRESHOLDS = [0, 250, 500, 1000, 2000, 5000, 10000]; // weighted trips
const MAX_LINES = 80; // the automatic threshold keeps at most this many lines between two places
const MAX_WIDTH = 16; // px, the largest flow
const MAX_RADIUS = 18; // px, the largest flow that stays in its origin
const INSIDE_COLOR = '#1d4e89';
const OUTSIDE_COLOR = '#b8612a';
const ZERO_COLOR = '#f7f7f5';
const SHARE_BREAKS = [0.1, 0.25, 0.5, 0.75, 1];
const SHARE_COLORS = FIVE_CLASSES;
const ORIGINS = [['commune', 'Commune de résidence'], ['epci', 'EPCI de résidence']];

const share = (v, d = 1) => (isNumber(v) ? percent(100 * v, d) : DASH);
// A share of 0 or 100 % has no logit interval (the module returns it as its own bounds): say so rather than show a certainty.
const interval = (low, high, d = 1) => {
  if (!isNumber(low) || !isNumber(high)) return DASH;
  if (low === high && (low === 0 || low === 1)) return 'non calculable';
  return `${share(low, d)} à ${share(high, d)}`;
};
const reliability = (row) => (row.fragile ? 'peu fiable' : 'fiable');
/** "Tranche d'âge" -> "tranche d'âge", but "EPCI de résidence" stays as it is. */
const lowerFirst = (text) => (/^.[A-ZÀ-Ý]/.test(text) ? text : text.charAt(0).toLowerCase() + text.slice(1));
const fragileNote = (seuil) => `« peu fiable » : moins de ${number(seuil)} répondants`;

function select(name, label, options, value, onChange) {
  const id = uid(name);
  const el = h('select', { id, name, on: { change: (e) => onChange(e.target.value) } },
    options.map(([v, text]) => h('option', { value: v, selected: String(v) === String(value) }, text)));
  return h('div', { class: 'field' }, h('label', { for: id }, label), el);
}

function table({ caption, columns, rows, scroll = false }) {
  const t = h('table', { class: 'data-table' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, columns.map(([text, num]) => h('th', { scope: 'col', class: num ? 'num' : '' }, text)))),
    h('tbody', {}, rows));
  // A table that may scroll must be reachable with the keyboard (and named for screen readers).
  return h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': caption, style: scroll ? 'max-height: 26rem; overflow-y: auto' : null }, t);
}

function cell(text, num = false) {
  return h('td', { class: num ? 'num' : '' }, text);
}

function card(label, value, detail) {
  return h('li', { class: 'card' }, h('p', { class: 'card-label' }, label), h('p', { class: 'card-value' }, value),
    detail ? h('p', { class: 'card-year' }, detail) : null);
}

/** Points of a gentle arc from a to b, bending to the right of the direction of travel. */
function arc(a, b, n = 16) {
  const [x0, y0] = a;
  const [x1, y1] = b;
  const cx = (x0 + x1) / 2 + (y1 - y0) * 0.18;
  const cy = (y0 + y1) / 2 - (x1 - x0) * 0.18;
  const out = [];
  for (let i = 0; i <= n; i += 1) {
    const t = i / n;
    const u = 1 - t;
    out.push([u * u * x0 + 2 * u * t * cx + t * t * x1, u * u * y0 + 2 * u * t * cy + t * t * y1]);
  }
  return out;
}

function extent(points) {
  if (!points.length) return null;
  let w = Infinity; let s = Infinity; let e = -Infinity; let n = -Infinity;
  for (const [x, y] of points) { w = Math.min(w, x); e = Math.max(e, x); s = Math.min(s, y); n = Math.max(n, y); }
  return [[w, s], [e, n]];
}

function whenIdle(map, el) {
  el.dataset.ready = 'false';
  map.once('idle', () => { el.dataset.ready = 'true'; });
  map.triggerRepaint();
}

export async function start() {
  const surveys = config.surveys || [];
  if (!surveys.length) return;
  const statusEl = $('[data-status]');
  const defaults = { enquete: surveys[0].id, motif: '', polarite: '', origine: 'commune', flux: '', variable: '', par: 'epci', profil: '' };
  const state = readState(defaults);
  if (!surveys.some((s) => s.id === state.enquete)) state.enquete = defaults.enquete;
  if (!ORIGINS.some(([o]) => o === state.origine)) state.origine = 'commune';
  const api = (path, params) => getJSON(`/api/enquete/${encodeURIComponent(state.enquete)}${path}`, params);
  // Values left out of the URL when they are the default; the motive and the pole are always written.
  const shownDefaults = { enquete: defaults.enquete, origine: defaults.origine, flux: '', variable: '', par: defaults.par, profil: '' };
  const save = () => writeState(state, shownDefaults);

  status(statusEl, 'Chargement de l\'enquête…');
  let survey;
  try {
    survey = await api('');
  } catch (error) {
    status(statusEl, `Enquête indisponible : ${error.message}`, 'error');
    return;
  }
  const motives = survey.motifs.filter((m) => m.repondants > 0);
  if (!motives.some((m) => m.id === state.motif)) state.motif = motives[0]?.id || '';
  const estimable = survey.variables;
  shownDefaults.variable = (estimable.find((v) => v.id === 'voiture') || estimable.find((v) => v.kind === 'categorical') || estimable[0])?.id || '';
  if (!estimable.some((v) => v.id === state.variable)) state.variable = shownDefaults.variable;
  fill($('[data-demo]'), syntheticNotice(survey.synthetic));

  // ---------------------------------------------------------------- controls of the flows
  const controls = $('[data-controls]');
  controls.addEventListener('submit', (e) => e.preventDefault());
  function renderControls(auto) {
    fill(controls,
      surveys.length > 1 ? select('enquete', 'Enquête', surveys.map((s) => [s.id, s.title]), state.enquete, (v) => { state.enquete = v; state.motif = ''; state.polarite = ''; save(); window.location.reload(); }) : null,
      select('motif', 'Motif', motives.map((m) => [m.id, m.label]), state.motif, (v) => { state.motif = v; state.flux = ''; loadMotive(); }),
      select('origine', 'Origine des flux', ORIGINS, state.origine, (v) => { state.origine = v; state.flux = ''; loadMotive(); }),
      select('flux', 'Flux affichés', THRESHOLDS.map((t) => [String(t), t ? `au moins ${number(t)} déplacements` : 'tous les flux']),
        state.flux || String(auto), (v) => { state.flux = v; drawFlows(); }));
  }

  // ---------------------------------------------------------------- flow map
  const flowEl = $('[data-flow-map]');
  const catchEl = $('[data-catchment-map]');
  const [flowMap, catchMap] = await Promise.all([
    createMap(flowEl, { label: 'Carte des flux du domicile vers les destinations' }),
    createMap(catchEl, { label: 'Carte de la zone de chalandise du pôle choisi' }),
  ]);
  window.vigieFlowMap = flowMap; // for the browser tests
  window.vigieCatchmentMap = catchMap;
  const empty = { type: 'FeatureCollection', features: [] };
  flowMap.addSource('communes', vectorSource(tilesTemplate('commune')));
  flowMap.addLayer({ id: 'communes-fond', type: 'fill', source: 'communes', 'source-layer': 'commune', paint: { 'fill-color': ZERO_COLOR, 'fill-opacity': 0.9 } });
  flowMap.addLayer({ id: 'communes-contour', type: 'line', source: 'communes', 'source-layer': 'commune', paint: { 'line-color': '#c3cad3', 'line-width': 0.5 } });
  for (const id of ['internes', 'flux', 'lieux']) flowMap.addSource(id, { type: 'geojson', data: empty });
  flowMap.addLayer({ id: 'flux-internes', type: 'circle', source: 'internes', layout: { 'circle-sort-key': ['-', 0, ['get', 'r']] },
    paint: { 'circle-radius': ['get', 'r'], 'circle-color': INSIDE_COLOR, 'circle-opacity': 0.28, 'circle-stroke-color': INSIDE_COLOR, 'circle-stroke-width': 1 } });
  flowMap.addLayer({ id: 'flux-lignes', type: 'line', source: 'flux', layout: { 'line-cap': 'round', 'line-join': 'round', 'line-sort-key': ['get', 'w'] },
    paint: { 'line-color': ['get', 'color'], 'line-width': ['get', 'w'], 'line-opacity': 0.78 } });
  flowMap.addLayer({ id: 'lieux', type: 'circle', source: 'lieux',
    paint: { 'circle-radius': 4, 'circle-color': ['get', 'color'], 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1.5 } });

  const flowTip = new maplibregl.Popup({ closeButton: false, closeOnClick: false, className: 'map-tip', offset: 10, maxWidth: '300px' });
  function flowText(f) {
    const where = f.interne ? `${f.origine_nom} (dans ${state.origine === 'epci' ? "l'EPCI" : 'la commune'})` : `${f.origine_nom} → ${f.destination_nom}`;
    return h('div', {}, h('strong', {}, where), h('br'),
      `${number(f.deplacements)} déplacements pondérés`, h('br'),
      `${share(f.part)} des déplacements de ${f.origine_nom}`, h('br'),
      `IC à 95 % : ${interval(f.ic_bas, f.ic_haut)}`, h('br'),
      `${number(f.repondants)} répondant(s) sur ${number(f.repondants_origine)}`,
      f.fragile ? [h('br'), h('em', {}, 'estimation peu fiable')] : null,
      motive && motive.synthetic ? [h('br'), h('em', {}, SYNTHETIC_MARK)] : null);
  }
  let motive = null; // the motive's answer
  let drawnFlows = []; // flows shown, in the table order
  for (const layer of ['flux-lignes', 'flux-internes']) {
    flowMap.on('mousemove', layer, (event) => {
      const feature = event.features && event.features[0];
      if (!feature) return;
      const f = drawnFlows[feature.properties.i];
      if (!f) return;
      flowMap.getCanvas().style.cursor = 'pointer';
      flowTip.setLngLat(event.lngLat).setDOMContent(flowText(f)).addTo(flowMap);
    });
    flowMap.on('mouseleave', layer, () => { flowMap.getCanvas().style.cursor = ''; flowTip.remove(); });
    // A click on a flow shows the catchment of its destination on the map below.
    flowMap.on('click', layer, (event) => {
      const feature = event.features && event.features[0];
      const f = feature && drawnFlows[feature.properties.i];
      if (!f || f.destination === state.polarite) return;
      state.polarite = f.destination;
      renderPoleControls();
      loadPole();
    });
  }

  let motiveSequence = 0;
  async function loadMotive() {
    const mine = ++motiveSequence;
    status(statusEl, 'Calcul des flux…');
    let data;
    try {
      data = await api(`/motifs/${encodeURIComponent(state.motif)}`, { origine: state.origine });
    } catch (error) {
      if (mine === motiveSequence) status(statusEl, `Flux indisponibles : ${error.message}`, 'error');
      return;
    }
    if (mine !== motiveSequence) return;
    motive = data;
    if (!data.poles.some((p) => p.destination === state.polarite)) state.polarite = '';
    if (!state.polarite) state.polarite = data.poles[0]?.destination || '';
    drawFlows();
    renderPoles();
    renderLeakage();
    renderSummary();
    renderPoleControls();
    status(statusEl, '');
    await loadPole();
  }

  function autoThreshold(flows) {
    for (const t of THRESHOLDS) if (flows.filter((f) => !f.interne && f.deplacements >= t).length <= MAX_LINES) return t;
    return THRESHOLDS[THRESHOLDS.length - 1];
  }

  function drawFlows() {
    const data = motive;
    const auto = autoThreshold(data.flux);
    shownDefaults.flux = String(auto);
    const threshold = Number(state.flux || auto);
    renderControls(auto);
    save();
    const at = new Map(data.lieux.map((p) => [p.code, [p.lon, p.lat]]));
    drawnFlows = data.flux.filter((f) => f.deplacements >= threshold && at.has(f.origine) && at.has(f.destination))
      .sort((a, b) => b.deplacements - a.deplacements);
    const max = Math.max(1, ...drawnFlows.map((f) => f.deplacements));
    const lines = [];
    const circles = [];
    drawnFlows.forEach((f, i) => {
      if (f.interne) {
        circles.push({ type: 'Feature', geometry: { type: 'Point', coordinates: at.get(f.origine) }, properties: { i, r: Math.max(3, MAX_RADIUS * Math.sqrt(f.deplacements / max)) } });
      } else {
        lines.push({ type: 'Feature', geometry: { type: 'LineString', coordinates: arc(at.get(f.origine), at.get(f.destination)) },
          properties: { i, w: Math.max(1.2, MAX_WIDTH * f.deplacements / max), color: f.dans_territoire ? INSIDE_COLOR : OUTSIDE_COLOR } });
      }
    });
    const destinations = new Set(drawnFlows.map((f) => f.destination));
    const places = data.lieux.filter((p) => destinations.has(p.code))
      .map((p) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [p.lon, p.lat] }, properties: { code: p.code, color: p.dans_territoire ? INSIDE_COLOR : OUTSIDE_COLOR } }));
    flowMap.getSource('flux').setData({ type: 'FeatureCollection', features: lines });
    flowMap.getSource('internes').setData({ type: 'FeatureCollection', features: circles });
    flowMap.getSource('lieux').setData({ type: 'FeatureCollection', features: places });
    const origins = data.origine === 'commune' ? [...new Set(data.flux.map((f) => f.origine))] : [];
    flowMap.setPaintProperty('communes-fond', 'fill-color', origins.length ? ['match', ['to-string', ['get', 'code']], origins, '#dfe7f0', ZERO_COLOR] : ZERO_COLOR);
    const box = extent(data.lieux.map((p) => [p.lon, p.lat]));
    if (box) flowMap.fitBounds(box, { padding: 30, duration: 0 });
    whenIdle(flowMap, flowEl);
    renderFlowLegend(threshold, max, lines.length, circles.length);
    renderFlowTable(threshold);
  }

  function renderFlowLegend(threshold, max, nLines, nCircles) {
    const data = motive;
    const refs = [max, max / 4].map((v) => Math.round(v / 100) * 100).filter((v) => v > 0);
    const sample = (w, color) => h('span', { 'aria-hidden': 'true', style: `display:inline-block;width:2.2rem;height:${Math.max(1.2, w)}px;background:${color};vertical-align:middle;margin-right:0.4rem;border-radius:2px` });
    fill($('[data-flow-legend]'),
      h('h3', { class: 'legend-title' }, `${data.motif.label} : flux du domicile vers les destinations`),
      h('p', { class: 'legend-sub' }, `${number(nLines)} flux entre deux lieux et ${number(nCircles)} flux internes affichés, `
        + (threshold ? `au moins ${number(threshold)} déplacements pondérés chacun.` : 'tous les flux.')),
      h('ul', { class: 'legend-classes' },
        h('li', {}, sample(6, INSIDE_COLOR), `vers une destination du territoire d'étude`),
        h('li', {}, sample(6, OUTSIDE_COLOR), 'vers une destination extérieure (évasion)'),
        refs.map((v) => h('li', {}, sample(MAX_WIDTH * v / max, '#52606d'), `${number(v)} déplacements pondérés`)),
        h('li', {}, h('span', { 'aria-hidden': 'true', style: `display:inline-block;width:1.1rem;height:1.1rem;border-radius:50%;background:rgba(29,78,137,0.28);border:1px solid ${INSIDE_COLOR};vertical-align:middle;margin-right:0.4rem` }),
          data.origine === 'epci' ? "déplacements restés dans l'EPCI de résidence" : 'déplacements restés dans la commune de résidence')),
      h('p', { class: 'small' }, 'Épaisseur des traits proportionnelle au nombre de déplacements pondérés ; chaque trait s\'incurve vers la droite dans le sens du déplacement. Survolez un trait pour sa part et son intervalle de confiance ; cliquez-le pour la zone de chalandise de sa destination (carte suivante).'),
      data.non_places.length ? h('p', { class: 'small' }, `Sans position connue, non dessinés : ${data.non_places.map((p) => p.name).join(', ')}.`) : null,
      h('p', { class: 'legend-source' }, `Enquête « ${survey.titre} », pondération « ${data.ponderation} ».`),
      data.synthetic ? h('p', { class: 'demo-mark' }, SYNTHETIC_MARK) : null);
  }

  function renderFlowTable(threshold) {
    const data = motive;
    const rows = drawnFlows.map((f) => h('tr', { class: f.fragile ? 'fragile' : '' },
      h('th', { scope: 'row' }, f.origine_nom),
      cell(f.interne ? `${f.destination_nom} (sur place)` : f.destination_nom),
      cell(number(f.deplacements), true), cell(share(f.part), true), cell(interval(f.ic_bas, f.ic_haut), true),
      cell(`${number(f.repondants)} / ${number(f.repondants_origine)}`, true), cell(reliability(f))));
    fill($('[data-flow-table]'), table({
      caption: `${data.motif.label} — flux de la carte (${number(drawnFlows.length)} sur ${number(data.flux.length)}${threshold ? `, au moins ${number(threshold)} déplacements pondérés` : ''}), du plus grand au plus petit ; part de l'origine : part des déplacements de la commune de résidence ; répondants : qui citent la destination / de l'origine ; ${fragileNote(data.seuil)}${data.synthetic ? ` — ${SYNTHETIC_MARK}` : ''}`,
      columns: [[data.origine === 'epci' ? 'EPCI de résidence' : 'Commune de résidence'], ['Destination'], ['Déplacements pondérés', true],
        ["Part de l'origine", true], ['IC à 95 %', true], ['Répondants', true], ['Fiabilité']],
      rows, scroll: true }));
  }

  function renderPoles() {
    const data = motive;
    const zoneKey = data.origine === 'commune' ? 'communes_zone' : 'origines_zone';
    const rows = data.poles.map((p) => h('tr', {},
      h('th', { scope: 'row' }, p.destination_nom), cell(p.dans_territoire ? 'oui' : 'non (évasion)'),
      cell(number(p.deplacements), true), cell(share(p.part), true), cell(interval(p.ic_bas, p.ic_haut), true),
      cell(number(p.repondants), true), cell(number(p[zoneKey]), true), cell(reliability(p))));
    const top = data.poles.slice(0, 10);
    fill($('[data-poles]'),
      barChart({ id: 'attraction-poles', title: `${data.motif.label} : part des déplacements reçue par les principaux pôles`,
        items: top.map((p) => ({ label: p.destination_nom, value: 100 * p.part, status: 'ok', highlight: true, color: p.dans_territoire ? INSIDE_COLOR : OUTSIDE_COLOR })),
        unit: '%', decimals: 1, synthetic: data.synthetic, valueLabel: 'Part des déplacements', labelWidth: 180,
        note: 'Bleu : pôle du territoire d\'étude ; orange : pôle extérieur. Intervalles de confiance dans le tableau ci-dessous.' }),
      table({ caption: `${data.motif.label} — attraction de chaque destination (${number(data.repondants)} répondants citent au moins une destination, ${number(data.deplacements)} déplacements pondérés) ; zone de chalandise : nombre ${data.origine === 'commune' ? 'de communes' : "d'EPCI"} dont c'est la première destination ; ${fragileNote(data.seuil)}`,
        columns: [['Destination'], ['Dans le territoire'], ['Déplacements pondérés', true], ['Part', true], ['IC à 95 %', true],
          ['Répondants', true], ['Zone de chalandise', true], ['Fiabilité']],
        rows, scroll: data.poles.length > 15 }));
  }

  function renderLeakage() {
    const data = motive;
    const el = $('[data-leakage]');
    if (!data.evasion) {
      fill(el, h('p', { class: 'notice' }, 'Territoire d\'étude inconnu : l\'évasion ne peut pas être mesurée.'));
      return;
    }
    const all = data.evasion.ensemble;
    fill(el,
      h('ul', { class: 'cards-list' }, card(`Évasion hors du territoire « ${data.evasion.territoire} »`, share(all.evasion),
        `IC à 95 % : ${interval(all.ic_bas, all.ic_haut)} · ${number(all.deplacements_hors_territoire)} déplacements pondérés`)),
      table({ caption: `${data.motif.label} — part des déplacements vers une destination hors du territoire d'étude, par EPCI de résidence`,
        columns: [['Origine'], ['Évasion', true], ['IC à 95 %', true], ['Déplacements hors territoire', true], ['Répondants', true], ['Fiabilité']],
        rows: [all, ...data.evasion.par_epci].map((r) => h('tr', {}, h('th', { scope: 'row' }, r.origine_nom), cell(share(r.evasion), true),
          cell(interval(r.ic_bas, r.ic_haut), true), cell(number(r.deplacements_hors_territoire), true), cell(number(r.repondants), true), cell(reliability(r)))) }));
  }

  let summary = null; // per motive: practice, first destination (from /motifs)
  function renderSummary() {
    const data = motive;
    const row = summary && summary.motifs.find((m) => m.motif === data.motif.id);
    const first = data.poles[0];
    fill($('[data-summary]'), h('ul', { class: 'cards-list' },
      row ? card('Pratiquent ce motif (citent une destination)', share(row.pratiquants), `IC à 95 % : ${interval(row.pratiquants_ic_bas, row.pratiquants_ic_haut)} · ${number(row.repondants)} répondants`) : null,
      card('Déplacements pondérés', number(data.deplacements), `${number(data.flux.length)} flux origine → destination`),
      first ? card('Première destination', first.destination_nom, `${share(first.part)} des déplacements (IC ${interval(first.ic_bas, first.ic_haut)})`) : null,
      data.evasion ? card('Évasion hors du territoire', share(data.evasion.ensemble.evasion), `IC à 95 % : ${interval(data.evasion.ensemble.ic_bas, data.evasion.ensemble.ic_haut)}`) : null));
  }

  // ---------------------------------------------------------------- catchment map
  let catchLevel = null;
  function useCatchmentLevel(level) {
    if (catchLevel === level) return;
    for (const id of ['zone', 'zone-fond', 'zone-contour']) if (catchMap.getLayer(id)) catchMap.removeLayer(id);
    if (catchMap.getSource('zones')) catchMap.removeSource('zones');
    catchMap.addSource('zones', vectorSource(tilesTemplate(level)));
    const before = catchMap.getLayer('pole') ? 'pole' : undefined;
    const layer = { source: 'zones', 'source-layer': level };
    catchMap.addLayer({ id: 'zone-fond', type: 'fill', ...layer, paint: { 'fill-color': NO_DATA_COLOR, 'fill-opacity': 0.92 } }, before);
    catchMap.addLayer({ id: 'zone-contour', type: 'line', ...layer, paint: { 'line-color': '#ffffff', 'line-width': 0.6 } }, before);
    catchMap.addLayer({ id: 'zone', type: 'line', ...layer, filter: ['in', ['to-string', ['get', 'code']], ['literal', []]], paint: { 'line-color': '#0b2545', 'line-width': 2.2 } }, before);
    catchLevel = level;
  }
  catchMap.addSource('pole', { type: 'geojson', data: empty });
  catchMap.addLayer({ id: 'pole', type: 'circle', source: 'pole', paint: { 'circle-radius': 7, 'circle-color': OUTSIDE_COLOR, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2 } });
  const catchTip = new maplibregl.Popup({ closeButton: false, closeOnClick: false, className: 'map-tip', offset: 10, maxWidth: '300px' });
  let catchment = null;
  catchMap.on('mousemove', 'zone-fond', (event) => {
    const feature = event.features && event.features[0];
    if (!feature || !catchment) return;
    const row = catchment.byCode.get(String(feature.properties.code));
    catchMap.getCanvas().style.cursor = row ? 'pointer' : '';
    catchTip.setLngLat(event.lngLat).setDOMContent(h('div', {}, h('strong', {}, feature.properties.name || feature.properties.code), h('br'),
      row ? [`${share(row.part)} de ses déplacements vont à ${catchment.data.pole.destination_nom}`, h('br'),
        `IC à 95 % : ${interval(row.ic_bas, row.ic_haut)}`, h('br'),
        `Première destination : ${row.premiere_destination_nom}`, h('br'), `${number(row.repondants_origine)} répondant(s)`,
        row.fragile ? [h('br'), h('em', {}, 'estimation peu fiable')] : null,
        catchment.data.synthetic ? [h('br'), h('em', {}, SYNTHETIC_MARK)] : null] : 'aucun répondant pour ce motif')).addTo(catchMap);
  });
  catchMap.on('mouseleave', 'zone-fond', () => { catchMap.getCanvas().style.cursor = ''; catchTip.remove(); });

  function renderPoleControls() {
    const form = $('[data-pole-controls]');
    form.onsubmit = (e) => e.preventDefault();
    fill(form, select('polarite', 'Pôle', motive.poles.map((p) => [p.destination, `${p.destination_nom} (${share(p.part)} des déplacements)`]), state.polarite,
      (v) => { state.polarite = v; loadPole(); }));
  }

  const classOf = (v) => (v <= 0 ? -1 : SHARE_BREAKS.findIndex((b) => v <= b + 1e-12));
  let poleSequence = 0;
  async function loadPole() {
    const mine = ++poleSequence;
    save();
    let data;
    try {
      data = await api(`/motifs/${encodeURIComponent(state.motif)}/poles/${encodeURIComponent(state.polarite)}`, { origine: state.origine });
    } catch (error) {
      if (mine === poleSequence) fill($('[data-catchment-table]'), h('p', { class: 'notice notice-error' }, `Zone de chalandise indisponible : ${error.message}`));
      return;
    }
    if (mine !== poleSequence) return;
    catchment = { data, byCode: new Map(data.origines.map((r) => [r.code, r])) };
    useCatchmentLevel(data.origine);
    const byColor = new Map();
    const counts = new Array(SHARE_BREAKS.length + 1).fill(0);
    for (const r of data.origines) {
      const c = classOf(r.part);
      const color = c < 0 ? ZERO_COLOR : SHARE_COLORS[c];
      counts[c + 1] += 1;
      if (!byColor.has(color)) byColor.set(color, []);
      byColor.get(color).push(r.code);
    }
    const branches = [];
    for (const [color, codes] of byColor) branches.push(codes, color);
    catchMap.setPaintProperty('zone-fond', 'fill-color', branches.length ? ['match', ['to-string', ['get', 'code']], ...branches, NO_DATA_COLOR] : NO_DATA_COLOR);
    const zone = data.origines.filter((r) => r.zone).map((r) => r.code);
    catchMap.setFilter('zone', ['in', ['to-string', ['get', 'code']], ['literal', zone]]);
    const at = new Map(motive.lieux.map((p) => [p.code, [p.lon, p.lat]]));
    const polePoint = at.get(data.pole.destination);
    catchMap.getSource('pole').setData({ type: 'FeatureCollection', features: polePoint ? [{ type: 'Feature', geometry: { type: 'Point', coordinates: polePoint }, properties: {} }] : [] });
    // The flow map's frame (every origin and destination): origins are points, their contours reach beyond them.
    const box = extent([...at.values()]);
    if (box) catchMap.fitBounds(box, { padding: 30, duration: 0 });
    whenIdle(catchMap, catchEl);
    renderCatchmentLegend(data, counts, zone.length, Boolean(polePoint));
    renderCatchmentTable(data);
  }

  function renderCatchmentLegend(data, counts, zoneSize, placed) {
    const p = data.pole;
    const what = data.origine === 'epci' ? 'EPCI' : 'communes';
    let low = 0;
    const items = SHARE_BREAKS.map((b, i) => {
      const text = `${i === 0 ? 'plus de 0' : `plus de ${share(low, 0)}`} à ${share(b, 0)}`;
      low = b;
      return h('li', {}, h('span', { class: 'swatch', style: `background:${SHARE_COLORS[i]}` }), `${text} `, h('span', { class: 'count' }, `(${counts[i + 1]})`));
    });
    fill($('[data-catchment-legend]'),
      h('h3', { class: 'legend-title' }, `${data.motif.label} : zone de chalandise de ${p.destination_nom}`),
      h('p', { class: 'legend-sub' }, `Part des déplacements de chaque ${data.origine === 'epci' ? 'EPCI' : 'commune'} de résidence qui vont à ${p.destination_nom}.`),
      h('ul', { class: 'legend-classes' },
        h('li', {}, h('span', { class: 'swatch', style: `background:${ZERO_COLOR}` }), '0 % ', h('span', { class: 'count' }, `(${counts[0]})`)),
        items,
        h('li', {}, h('span', { class: 'swatch', style: `background:${NO_DATA_COLOR}` }), 'aucun répondant pour ce motif'),
        h('li', {}, h('span', { class: 'swatch', style: 'background:#fff;border:2px solid #0b2545' }), `zone de chalandise : ${number(zoneSize)} ${what} dont c'est la première destination`),
        placed ? h('li', {}, h('span', { class: 'swatch', style: `background:${OUTSIDE_COLOR};border-radius:50%;width:0.95rem` }), p.destination_nom) : null),
      h('p', { class: 'small' }, `${p.destination_nom} reçoit ${share(p.part)} des déplacements du motif (IC à 95 % : ${interval(p.ic_bas, p.ic_haut)}).`),
      data.synthetic ? h('p', { class: 'demo-mark' }, SYNTHETIC_MARK) : null);
  }

  function renderCatchmentTable(data) {
    const rows = [...data.origines].sort((a, b) => b.part - a.part || a.name.localeCompare(b.name, 'fr'))
      .map((r) => h('tr', {}, h('th', { scope: 'row' }, r.name), cell(share(r.part), true), cell(interval(r.ic_bas, r.ic_haut), true),
        cell(`${number(r.repondants_pole)} / ${number(r.repondants_origine)}`, true), cell(r.premiere_destination_nom), cell(r.zone ? 'oui' : 'non'),
        cell(reliability(r))));
    fill($('[data-catchment-table]'), table({
      caption: `${data.motif.label} — part des déplacements vers ${data.pole.destination_nom} par ${data.origine === 'epci' ? 'EPCI' : 'commune'} de résidence (données de la carte) ; répondants : qui citent le pôle / de l'origine ; ${fragileNote(data.seuil)}${data.synthetic ? ` — ${SYNTHETIC_MARK}` : ''}`,
      columns: [[data.origine === 'epci' ? 'EPCI de résidence' : 'Commune de résidence'], [`Part vers ${data.pole.destination_nom}`, true], ['IC à 95 %', true],
        ['Répondants', true], ['Première destination'], ['Zone de chalandise'], ['Fiabilité']],
      rows, scroll: true }));
  }

  // ---------------------------------------------------------------- estimates
  async function loadEstimates() {
    const groupings = survey.croisements.filter((g) => g.id !== state.variable);
    if (state.par !== 'ensemble' && !groupings.some((g) => g.id === state.par)) state.par = 'ensemble';
    const form = $('[data-estimate-controls]');
    form.onsubmit = (e) => e.preventDefault();
    fill(form,
      select('variable', 'Variable', estimable.map((v) => [v.id, v.label]), state.variable, (v) => { state.variable = v; loadEstimates(); }),
      select('par', 'Par', [['ensemble', 'Ensemble'], ...groupings.map((g) => [g.id, g.label])], state.par, (v) => { state.par = v; loadEstimates(); }));
    save();
    const el = $('[data-estimates]');
    let data;
    try {
      data = await api('/estimations', { variable: state.variable, par: state.par === 'ensemble' ? undefined : state.par });
    } catch (error) {
      fill(el, h('p', { class: 'notice notice-error' }, `Estimation impossible : ${error.message}`));
      return;
    }
    const mean = data.statistique === 'moyenne';
    const rows = [];
    let group = null;
    for (const r of data.lignes) {
      if (data.par && !mean && r.groupe !== group) {
        group = r.groupe;
        rows.push(h('tr', { class: 'group-row' }, h('th', { scope: 'rowgroup', colspan: '6' }, r.groupe_libelle)));
      }
      rows.push(h('tr', {},
        h('th', { scope: 'row' }, mean ? r.groupe_libelle : r.libelle),
        cell(number(r.n), true),
        cell(mean ? number(r.valeur, 2) : share(r.part), true),
        cell(mean ? number(r.erreur_type, 2) : `${number(100 * r.erreur_type, 1)}\u00a0pt`, true),
        cell(mean ? `${number(r.ic_bas, 2)} à ${number(r.ic_haut, 2)}` : interval(r.ic_bas, r.ic_haut), true),
        cell(reliability(r))));
    }
    const label = data.variable.label;
    fill(el,
      table({ caption: `${mean ? 'Moyenne' : 'Répartition'} pondérée : ${label}${data.par ? `, par ${lowerFirst(data.par.label)}` : ''} (pondération « ${data.ponderation} »)${data.synthetic ? ` — ${SYNTHETIC_MARK}` : ''}`,
        columns: [[mean ? (data.par ? data.par.label : 'Ensemble') : 'Modalité'], ['Répondants', true], [mean ? 'Moyenne' : 'Part', true], ['Erreur type', true], ['IC à 95 %', true], ['Fiabilité']],
        rows }),
      data.fragiles ? h('p', { class: 'small' }, `${number(data.fragiles)} cellule(s) de moins de ${number(data.seuil)} répondants : estimation « peu fiable », à lire avec prudence.`) : null,
      data.test ? h('p', { class: 'small' }, data.test.phrase) : null,
      h('p', { class: 'small' }, 'Intervalles de confiance à 95 % tenant compte du plan de sondage (strates) et du calage ; intervalles logit pour les parts.'));
  }

  // ---------------------------------------------------------------- weighting report
  async function loadWeighting() {
    const el = $('[data-weighting]');
    let data;
    try {
      data = await api('/ponderation');
    } catch (error) {
      fill(el, h('p', { class: 'notice' }, error.message));
      return;
    }
    const b = data.bilan;
    const facts = [
      ['Méthode de calage', `${b.method || data.methode}${data.converge ? `, convergé en ${number(data.iterations)} itération(s)` : ', non convergé'}`],
      ['Répondants', number(b.n)],
      ['Somme des poids', number(b.total)],
      ['Poids minimum et maximum', `${number(b.minimum, 1)} et ${number(b.maximum, 1)} (rapport ${number(b.ratio, 2)})`],
      ['Coefficient de variation des poids', number(b.cv, 3)],
      ["Taille d'échantillon effective (Kish)", number(b.effective_size, 1)],
      ['Effet de plan dû à la pondération', number(b.design_effect, 3)],
      isNumber(b.g_min) ? ['Rapports poids calés / poids initiaux', `de ${number(b.g_min, 3)} à ${number(b.g_max, 3)}`] : null,
    ].filter(Boolean);
    const margins = (data.marges || []).map((m) => h('tr', {}, h('th', { scope: 'row' }, m.variable), cell(m.modalite ?? ''),
      cell(number(m.cible), true), cell(number(m.avant), true), cell(number(m.apres), true)));
    fill(el,
      h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      h('details', { class: 'chart-data' }, h('summary', {}, `Marges de calage : cible, avant et après (${number(margins.length)})`),
        table({ caption: `Marges de la pondération « ${data.ponderation} »`, columns: [['Variable'], ['Modalité'], ['Cible', true], ['Avant calage', true], ['Après calage', true]], rows: margins })),
      data.synthetic ? h('p', { class: 'demo-mark' }, SYNTHETIC_MARK) : null);
  }

  // ---------------------------------------------------------------- interviews
  async function loadInterviews() {
    const el = $('[data-interviews]');
    const form = $('[data-interview-controls]');
    form.onsubmit = (e) => e.preventDefault();
    const profiles = survey.entretiens.profils || [];
    if (!survey.entretiens.entretiens) {
      fill(form);
      fill(el, h('p', { class: 'notice' }, 'Aucun entretien pour cette enquête.'));
      return;
    }
    if (state.profil && !profiles.includes(state.profil)) state.profil = '';
    const labels = Object.fromEntries(survey.croisements.map((g) => [g.id, g.label]));
    fill(form, select('profil', 'Compter par', [['', 'Ensemble'], ...profiles.map((p) => [p, labels[p] || p])], state.profil, (v) => { state.profil = v; loadInterviews(); }));
    save();
    let data;
    try {
      data = await api('/entretiens', { par: state.profil || undefined });
    } catch (error) {
      fill(el, h('p', { class: 'notice notice-error' }, `Entretiens indisponibles : ${error.message}`));
      return;
    }
    const rows = data.themes.map((t) => h('tr', {}, h('th', { scope: 'row' }, t.label),
      data.groupes.map((g) => {
        const c = t.comptes.find((x) => x.groupe === g);
        return cell(c ? `${number(c.entretiens)} / ${number(c.entretiens_groupe)} (${share(c.part, 0)})` : DASH, true);
      })));
    fill(el,
      table({ caption: `Entretiens qui abordent chaque thème${data.par ? `, par ${lowerFirst(labels[data.par] || data.par)}` : ''} (${number(data.entretiens)} entretiens)${data.synthetic ? ` — ${SYNTHETIC_MARK}` : ''}`,
        columns: [['Thème'], ...data.groupes.map((g) => [g === 'ensemble' ? 'Ensemble' : g, true])], rows }),
      data.themes.map((t) => h('details', { class: 'chart-data' },
        h('summary', {}, `${t.label} : ${number(t.citations.length)} citation(s)`),
        h('ul', { class: 'quotes', style: 'list-style:none;padding-left:0' }, t.citations.map((q) => h('li', { style: 'margin:0.5rem 0' },
          h('blockquote', { style: 'margin:0;padding-left:0.8rem;border-left:3px solid #d8dde3' }, `« ${q.citation} »`),
          h('p', { class: 'small', style: 'margin:0.1rem 0 0 0.8rem' }, `${q.entretien} — ${q.profil}${q.codage === 'analyste' ? ' (codé par l\'analyste)' : ''}`)))))),
      data.synthetic ? h('p', { class: 'demo-mark' }, SYNTHETIC_MARK) : null);
  }

  // ---------------------------------------------------------------- start
  const practice = api('/motifs').then((body) => { summary = body; if (motive) renderSummary(); }).catch(() => { summary = null; });
  await Promise.all([practice, loadMotive(), loadEstimates(), loadWeighting(), loadInterviews()]);
  document.body.dataset.ready = 'true';
}
