// Atlas du foncier économique: activity zones, plots, establishments, economic AU zones and friches on one map, with
// layer toggles and filters (EPCI, vocation, state, filière); a click on a zone opens a popup linking to its page.
// On a zone page (config.atlasZone) the map shows that zone and its plots. Data: /api/atlas/… and /api/layers/friches.
import { getJSON } from '../api.js';
import { config, SYNTHETIC_MARK } from '../config.js';
import { $, h, status } from '../dom.js';
import { bounds, createMap, maplibregl } from '../mapbase.js';
import { number, quantity, percent } from '../format.js';

const EMPTY = { type: 'FeatureCollection', features: [] };
const PLOT_COLORS = ['match', ['get', 'sale_stage'],
  'disponible à la vente', '#2e9d5b', 'sous option', '#e0a526', 'vendu, commercialisation achevée', '#8d99a6', '#b8612a'];

function zoneLink(p) {
  return `${config.base || ''}/atlas/zone/${encodeURIComponent(p.site_id)}`;
}

function zonePopup(p) {
  return h('div', { class: 'map-popup' },
    h('p', {}, h('strong', {}, p.name)),
    h('p', {}, `${p.vocation} · ${p.state}`),
    h('p', {}, `Surface brute ${quantity(p.gross_ha, 'ha', 1)}, disponible ${quantity(p.available_ha, 'ha', 1)}`),
    h('p', {}, `Vacance ${p.plots ? percent(p.vacancy_rate, 1) : '–'} · ${number(p.establishments)} établissement(s), ${number(p.jobs)} emplois estimés`),
    h('p', {}, h('a', { href: zoneLink(p) }, 'Fiche de la zone →')));
}

function addLayers(map) {
  map.addSource('au', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'au', type: 'fill', source: 'au', paint: { 'fill-color': '#f2c14e', 'fill-opacity': 0.45, 'fill-outline-color': '#b8860b' } });
  map.addSource('zones', { type: 'geojson', data: EMPTY, promoteId: 'site_id' });
  map.addLayer({ id: 'zones', type: 'fill', source: 'zones', paint: { 'fill-color': '#1d4e89', 'fill-opacity': 0.5 } });
  map.addLayer({ id: 'zones-contour', type: 'line', source: 'zones', paint: { 'line-color': '#1d4e89', 'line-width': ['interpolate', ['linear'], ['zoom'], 8, 3, 13, 1.5] } });
  map.addSource('terrains', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'terrains', type: 'fill', source: 'terrains', paint: { 'fill-color': PLOT_COLORS, 'fill-opacity': 0.6, 'fill-outline-color': '#ffffff' } });
  map.addSource('etablissements', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'etablissements', type: 'circle', source: 'etablissements', paint: { 'circle-radius': ['interpolate', ['linear'], ['zoom'], 8, 1.8, 13, 4], 'circle-color': '#7a1f5c', 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } });
  map.addSource('friches', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'friches', type: 'circle', source: 'friches', paint: { 'circle-radius': ['interpolate', ['linear'], ['zoom'], 8, 2.5, 13, 5], 'circle-color': '#c0392b', 'circle-stroke-color': '#fff', 'circle-stroke-width': 0.8 } });
}

async function atlasPage(root) {
  const statusEl = $('[data-status]', root);
  const form = $('[data-atlas-controls]', root);
  const map = await createMap($('[data-map]', root), { label: "Carte des zones d'activité" });
  addLayers(map);
  const visible = () => new Set([...form.querySelectorAll('input[name="layer"]:checked')].map((i) => i.value));
  const filters = () => Object.fromEntries(['epci', 'vocation', 'etat', 'filiere'].map((k) => [k, form.elements[k].value]));
  let framed = false;

  const mapEl = $('[data-map]', root);
  window.vigieAtlasMap = map; // for the browser tests

  async function refresh() {
    mapEl.dataset.ready = 'false';
    status(statusEl, 'Chargement des couches…');
    const on = visible();
    const f = filters();
    try {
      const [zones, plots, est, au, friches] = await Promise.all([
        getJSON('/api/atlas/zones', f),
        on.has('terrains') ? getJSON('/api/atlas/terrains', {}, { cached: true }) : EMPTY,
        on.has('etablissements') ? getJSON('/api/atlas/etablissements', { filiere: f.filiere }) : EMPTY,
        on.has('au') ? getJSON('/api/atlas/au', {}, { cached: true }) : EMPTY,
        on.has('friches') ? getJSON('/api/layers/friches', {}, { cached: true }).catch(() => EMPTY) : EMPTY,
      ]);
      const ids = new Set(zones.features.map((z) => z.properties.site_id));
      map.getSource('zones').setData(on.has('zones') ? zones : EMPTY);
      map.getSource('terrains').setData({ type: 'FeatureCollection', features: plots.features.filter((p) => ids.has(p.properties.site_id)) });
      map.getSource('etablissements').setData({ type: 'FeatureCollection', features: est.features.filter((e) => ids.has(e.properties.site_id)) });
      map.getSource('au').setData(au);
      map.getSource('friches').setData(friches);
      if (!framed && zones.features.length) {
        const b = bounds(zones);
        if (b) map.fitBounds(b, { padding: 30, duration: 0 });
        framed = true;
      }
      status(statusEl, `${number(zones.features.length)} zone(s) d'activité affichée(s)${zones.synthetic ? ` — ${SYNTHETIC_MARK}` : ''}.`);
      mapEl.dataset.zones = String(zones.features.length);
      mapEl.dataset.establishments = String(on.has('etablissements') ? est.features.filter((e) => ids.has(e.properties.site_id)).length : 0);
      map.once('idle', () => { mapEl.dataset.ready = 'true'; });
      map.triggerRepaint();
    } catch (error) {
      status(statusEl, `Carte indisponible : ${error.message}`, 'error');
    }
  }

  form.addEventListener('change', refresh);
  map.on('click', 'zones', (event) => {
    const feature = event.features && event.features[0];
    if (!feature) return;
    new maplibregl.Popup({ maxWidth: '320px' }).setLngLat(event.lngLat).setDOMContent(zonePopup(feature.properties)).addTo(map);
  });
  map.on('mouseenter', 'zones', () => { map.getCanvas().style.cursor = 'pointer'; });
  map.on('mouseleave', 'zones', () => { map.getCanvas().style.cursor = ''; });
  await refresh();
  document.body.dataset.ready = 'true';
}

async function zonePage(root, id) {
  const map = await createMap($('[data-map]', root), { label: `Carte de la zone ${id}` });
  addLayers(map);
  const [zones, plots, est] = await Promise.all([
    getJSON('/api/atlas/zones'), getJSON('/api/atlas/terrains', { zone: id }), getJSON('/api/atlas/etablissements', { zone: id }),
  ]);
  const zone = { type: 'FeatureCollection', features: zones.features.filter((z) => z.properties.site_id === id) };
  map.getSource('zones').setData(zone);
  map.getSource('terrains').setData(plots);
  map.getSource('etablissements').setData(est);
  const b = bounds(zone);
  if (b) map.fitBounds(b, { padding: 30, duration: 0 });
  const mapEl = $('[data-map]', root);
  map.once('idle', () => { mapEl.dataset.ready = 'true'; });
  map.triggerRepaint();
  document.body.dataset.ready = 'true';
}

export async function start() {
  if (config.atlasZone) return zonePage(document, config.atlasZone.id);
  return atlasPage(document);
}
