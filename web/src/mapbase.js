// MapLibre GL JS with a plain style: no external tiles, fonts or sprites; territories come from the app's vector tiles and API.
import maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';

export { maplibregl };

export const BLANK_STYLE = {
  version: 8,
  name: 'Vigie (fond uni)',
  sources: {},
  layers: [{ id: 'fond', type: 'background', paint: { 'background-color': '#eef1f4' } }],
};

const LOCALE = {
  'AttributionControl.ToggleAttribution': 'Afficher ou masquer les sources',
  'FullscreenControl.Enter': 'Plein écran',
  'FullscreenControl.Exit': 'Quitter le plein écran',
  'Map.Title': 'Carte',
  'NavigationControl.ResetBearing': "Réorienter vers le nord",
  'NavigationControl.ZoomIn': 'Zoom avant',
  'NavigationControl.ZoomOut': 'Zoom arrière',
  'ScrollZoomBlocker.CtrlMessage': 'Utilisez Ctrl + molette pour zoomer',
  'ScrollZoomBlocker.CmdMessage': 'Utilisez ⌘ + molette pour zoomer',
  'TouchPanBlocker.Message': 'Utilisez deux doigts pour déplacer la carte',
};

/** A map in `container` on the plain style (framed on `bounds` [west, south, east, north] when given); resolves once the style is loaded. */
export function createMap(container, { label, interactive = true, navigation = true, bounds = null } = {}) {
  const frame = Array.isArray(bounds) && bounds.length === 4
    ? { bounds: [[bounds[0], bounds[1]], [bounds[2], bounds[3]]], fitBoundsOptions: { padding: 20 } }
    : { center: [2.5, 50.45], zoom: 7 };
  const map = new maplibregl.Map({
    container,
    style: BLANK_STYLE,
    ...frame,
    attributionControl: false,
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    interactive,
    locale: LOCALE,
    fadeDuration: 0,
  });
  if (navigation && interactive) map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  const canvas = map.getCanvas();
  if (label) canvas.setAttribute('aria-label', label);
  let loaded = false;
  return new Promise((resolve, reject) => {
    map.once('load', () => { loaded = true; resolve(map); });
    map.on('error', (event) => {
      console.error('Carte :', event.error || event);
      if (!loaded) reject(event.error || new Error('carte impossible à afficher'));
    });
  });
}

/** A MapLibre vector source over the app's tiles of `level` (feature ids = territory codes). */
export function vectorSource(template) {
  return { type: 'vector', tiles: [template], minzoom: 0, maxzoom: 14, promoteId: 'code' };
}

/** [[west, south], [east, north]] of a GeoJSON object. */
export function bounds(geojson) {
  let w = Infinity; let s = Infinity; let e = -Infinity; let n = -Infinity;
  const visit = (coords) => {
    if (typeof coords[0] === 'number') {
      if (coords[0] < w) w = coords[0];
      if (coords[0] > e) e = coords[0];
      if (coords[1] < s) s = coords[1];
      if (coords[1] > n) n = coords[1];
    } else coords.forEach(visit);
  };
  const features = geojson.type === 'FeatureCollection' ? geojson.features : [geojson];
  for (const f of features) if (f && f.geometry) visit(f.geometry.coordinates);
  return Number.isFinite(w) ? [[w, s], [e, n]] : null;
}

function ringArea(ring) {
  let a = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) a += (ring[j][0] + ring[i][0]) * (ring[j][1] - ring[i][1]);
  return a / 2;
}

function ringCentroid(ring) {
  let x = 0; let y = 0; let a = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const f = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
    x += (ring[j][0] + ring[i][0]) * f;
    y += (ring[j][1] + ring[i][1]) * f;
    a += f;
  }
  if (!a) return ring[0];
  return [x / (3 * a), y / (3 * a)];
}

/** A point for a feature's circle: the centroid of its largest polygon. */
export function anchor(feature) {
  const g = feature.geometry;
  if (!g) return null;
  if (g.type === 'Point') return g.coordinates;
  const polygons = g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
  let best = null; let bestArea = -1;
  for (const p of polygons) {
    const area = Math.abs(ringArea(p[0]));
    if (area > bestArea) { bestArea = area; best = p[0]; }
  }
  return best ? ringCentroid(best) : null;
}

/**
 * Five colour classes (ColorBrewer YlGnBu, colour-blind safe), light to dark, for the pages that classify in the
 * browser (the survey's catchment map). The map explorer takes its classes' colours from the server
 * (`classes.colors` of /api/map/values, palettes in publish/overview.py), which draws its overview images with them.
 */
export const FIVE_CLASSES = ['#ffffcc', '#a1dab4', '#41b6c4', '#2c7fb8', '#253494'];
export const NO_DATA_COLOR = '#d5d9de';
