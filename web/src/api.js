// The JSON API the pages read (served by the same app; see vigie/publish/api.py), with one normaliser per
// endpoint so that every page works on one shape of data.
import { config } from './config.js';

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

const cache = new Map();

/** GET a JSON document; a failing answer raises ApiError with the API's French `detail`. */
export async function getJSON(path, params = {}, { cached = false } = {}) {
  const url = new URL(`${config.base || ''}${path}`, window.location.origin);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, value);
  }
  const key = url.toString();
  if (cached && cache.has(key)) return cache.get(key);
  const request = fetch(url, { headers: { Accept: 'application/json' } }).then(async (response) => {
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) {
      const detail = body && typeof body.detail === 'string' ? body.detail : `le serveur a répondu ${response.status}`;
      throw new ApiError(detail, response.status);
    }
    return body;
  });
  if (cached) {
    cache.set(key, request);
    request.catch(() => cache.delete(key));
  }
  return request;
}

function list(body, ...keys) {
  if (Array.isArray(body)) return body;
  for (const key of keys) if (body && Array.isArray(body[key])) return body[key];
  return [];
}

function num(value) {
  if (value === null || value === undefined || value === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function territory(t) {
  if (!t) return null;
  return { level: t.level, code: String(t.code), name: t.name ?? t.label ?? String(t.code), ...t, code: String(t.code) };
}

function splitKey(value) {
  if (!value) return null;
  if (typeof value === 'object') return territory(value);
  const [level, code] = String(value).split(':');
  return { level, code, name: code };
}

// ------------------------------------------------------------------------------------------ endpoints
export async function search(q, { limit } = {}) {
  const body = await getJSON('/api/search', { q, limit });
  return list(body, 'results', 'territories', 'items').map(territory);
}

/** Indicator definitions (with their years, levels, source, licence) and, when given, the sources. */
export async function catalogue() {
  const body = await getJSON('/api/catalogue', {}, { cached: true });
  const indicators = list(body, 'indicators', 'catalogue', 'items').map((d) => {
    // Imported files that feed the indicator: their licences and vintages, and whether any is synthetic.
    const feeds = Array.isArray(d.sources) ? d.sources : [];
    const unique = (key) => [...new Set(feeds.map((f) => f[key]).filter(Boolean))];
    return {
      ...d,
      decimals: num(d.decimals) ?? 0,
      years: (d.years || []).map(Number),
      levels: d.levels || [],
      licence: d.licence || unique('licence').join(' ; ') || null,
      vintages: d.vintages || unique('vintage'),
      feeds,
      synthetic: Boolean(d.synthetic) || feeds.some((f) => f.synthetic),
    };
  });
  return { indicators, byId: new Map(indicators.map((d) => [d.id, d])), sources: list(body, 'sources') };
}

function cubeRow(r) {
  return {
    ...r,
    code: String(r.code),
    name: r.name ?? r.label ?? String(r.code),
    value: r.status === 'secret' ? null : num(r.value),
    status: r.status || (num(r.value) === null ? 'missing' : 'ok'),
    synthetic: Boolean(r.synthetic),
  };
}

/** Values of one indicator for every territory of a level (or `codes`) in one year. */
export async function cube({ indicator, level, year, codes }) {
  const body = await getJSON('/api/cube', { indicator, level, year, codes: Array.isArray(codes) ? codes.join(',') : codes });
  const values = list(body, 'values', 'rows', 'data').map(cubeRow);
  const years = (body.years || []).map(Number);
  const found = num(body.year) ?? (values.length && num(values[0].year)) ?? null;
  return {
    indicator: body.indicator && typeof body.indicator === 'object' ? body.indicator : null,
    level: body.level ?? level, year: found ?? num(year), years, values,
    vintage: body.vintage || null, synthetic: Boolean(body.synthetic) || values.some((v) => v.synthetic),
  };
}

/** Upper bounds of the map classes. */
export async function classes({ indicator, level, year, method, k }) {
  const body = await getJSON('/api/classes', { indicator, level, year, method, k });
  const raw = Array.isArray(body) ? body : body.bins ?? body.breaks ?? body.bounds ?? (body.classes || []).map((c) => c.upper ?? c.max);
  return { bins: raw.map(Number).filter(Number.isFinite), method: body.method ?? method, counts: body.counts || null };
}

function evolution(e) {
  if (!e || typeof e !== 'object') return null;
  return {
    start: e.start ?? e.from ?? e.start_year,
    end: e.end ?? e.to ?? e.end_year,
    absolute: num(e.absolute),
    percent: num(e.percent),
    points: num(e.points),
    annual_rate: num(e.annual_rate),
  };
}

function figure(d, theme) {
  const ref = d.reference && typeof d.reference === 'object' ? d.reference : null;
  const series = list(d.series ?? d.history ?? d.values ?? [], 'values').map((p) => ({
    year: Number(p.year), value: p.status === 'secret' ? null : num(p.value), status: p.status || 'ok', synthetic: Boolean(p.synthetic),
  }));
  return {
    ...d,
    id: d.id ?? d.indicator,
    theme: d.theme ?? theme ?? '',
    decimals: num(d.decimals) ?? 0,
    year: num(d.year),
    value: d.status === 'secret' ? null : num(d.value),
    status: d.status || 'ok',
    synthetic: Boolean(d.synthetic),
    evolution: evolution(d.evolution),
    series,
    reference: ref ? { value: ref.status === 'secret' ? null : num(ref.value), status: ref.status || 'ok', year: num(ref.year), synthetic: Boolean(ref.synthetic) }
      : d.reference_value !== undefined ? { value: num(d.reference_value), status: d.reference_status || 'ok', year: num(d.year), synthetic: false } : null,
  };
}

/** A territory's portrait: its figures, their evolution and the value of a reference territory. */
export async function portrait(level, code, reference) {
  const body = await getJSON(`/api/portrait/${encodeURIComponent(level)}/${encodeURIComponent(code)}`, { reference });
  let figures = [];
  if (Array.isArray(body.themes)) {
    for (const theme of body.themes) {
      const name = typeof theme === 'string' ? theme : theme.theme ?? theme.id ?? theme.label;
      figures.push(...list(theme.indicators ?? theme.figures ?? [], 'indicators').map((d) => figure(d, name)));
    }
  }
  if (!figures.length) figures = list(body, 'indicators', 'figures', 'key_figures').map((d) => figure(d));
  // Population series, sent apart from the themes: one figure each (latest value, evolution since the first).
  const series = list(body, 'population', 'series').filter((s) => s && Array.isArray(s.values) && s.values.length);
  for (const s of series) {
    const id = s.indicator ?? s.id;
    if (figures.some((f) => f.id === id)) continue;
    const points = s.values.map((p) => ({ year: Number(p.year), value: p.status === 'secret' ? null : num(p.value), status: p.status || 'ok', synthetic: Boolean(p.synthetic), vintage: p.vintage }));
    const shown = points.filter((p) => p.value !== null);
    const last = shown[shown.length - 1] || points[points.length - 1];
    const first = shown[0];
    figures.unshift({
      id, label: s.label, unit: s.unit || '', decimals: 0, kind: 'stock', key: true, theme: s.theme ?? '', source: s.source,
      year: last.year, vintage: last.vintage, value: last.value, status: last.status, synthetic: last.synthetic, series: points, reference: null,
      evolution: first && last && first !== last && first.value ? { start: first.year, end: last.year, percent: (last.value / first.value - 1) * 100, absolute: last.value - first.value, points: null } : null,
      inSeries: true,
    });
  }
  const t = territory(body.territory) || { level, code, name: code };
  return {
    territory: t,
    references: list(body, 'references').map(territory),
    reference: splitKey(body.reference),
    parents: list(body.parents ? body : body.territory || {}, 'parents').map(territory),
    figures,
    synthetic: Boolean(body.synthetic) || figures.some((f) => f.synthetic),
  };
}

/** Several territories side by side. `codes` are "level:code" strings. */
export async function compare(codes, indicators) {
  const body = await getJSON('/api/compare', { codes: codes.join(','), indicators: indicators && indicators.length ? indicators.join(',') : undefined });
  const territories = list(body, 'territories').map(territory);
  let rows = list(body, 'indicators');
  if (!rows.length && Array.isArray(body.values)) {
    // Flat rows (indicator, level, code, value…): group them by indicator.
    const byId = new Map();
    for (const v of body.values) {
      if (!byId.has(v.indicator)) byId.set(v.indicator, { id: v.indicator, label: v.label ?? v.indicator, unit: v.unit ?? '', decimals: v.decimals ?? 0, values: [] });
      byId.get(v.indicator).values.push(v);
    }
    rows = [...byId.values()];
  }
  const indicatorsOut = rows.map((d) => ({
    ...d,
    decimals: num(d.decimals) ?? 0,
    values: list(d.values ?? d.figures ?? [], 'values').map((v) => ({
      ...v, code: String(v.code), value: v.status === 'secret' ? null : num(v.value), status: v.status || 'ok', synthetic: Boolean(v.synthetic), year: num(v.year) ?? num(d.year),
    })),
  }));
  return { territories, indicators: indicatorsOut };
}

/** The territories a level's map draws, in the order of the map's value arrays, with the level's extent. */
export async function mapCodes(level) {
  return getJSON(`/api/map/codes/${encodeURIComponent(level)}`, {}, { cached: true });
}

/** A label point (lon, lat arrays, in the order of `mapCodes`) for each territory's proportional circle. */
export async function mapPoints(level) {
  return getJSON(`/api/map/points/${encodeURIComponent(level)}`, {}, { cached: true });
}

/**
 * Everything a map draws for an indicator, a level and a year, in one compact answer: values aligned to
 * `mapCodes(level)` (null when missing or secret), the positions of non-`ok` statuses, classes and histogram
 * (not for stocks), the highest values with their names, the source and vintage.
 */
export async function mapValues({ indicator, level, year, method, k }) {
  const body = await getJSON('/api/map/values', { indicator, level, year, method, k }, { cached: true });
  const status = new Array(body.values.length).fill('ok');
  for (const [name, positions] of Object.entries(body.status || {})) for (const i of positions) status[i] = name;
  for (let i = 0; i < body.values.length; i += 1) if (body.values[i] === null && status[i] === 'ok') status[i] = 'missing';
  return { ...body, statuses: status, years: (body.years || []).map(Number), year: num(body.year) };
}

/** Contours of a level, GeoJSON in WGS84 with `code` and `name` properties. */
export async function geo(level) {
  const body = await getJSON(`/api/geo/${encodeURIComponent(level)}`, {}, { cached: true });
  for (const f of body.features || []) {
    f.properties = f.properties || {};
    f.properties.code = String(f.properties.code ?? f.id);
  }
  return body;
}

/** TileJSON of a level's vector tiles (its `bounds` frame the map). */
export async function tileJSON(level) {
  return getJSON(`/tiles/${encodeURIComponent(level)}.json`, {}, { cached: true });
}

/** Address template of a level's vector tiles (MVT, one layer named after the level, properties `code` and `name`). */
/**
 * Address of the overview images the server draws for the low zooms (`/api/map/image`, zooms 0 to 6), with the
 * parameters of the map's answer (`mapValues`) and, for circles, `r` (radius in pixels of the largest, at zoom 8).
 */
export function overviewTemplate(level, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') query.set(key, value);
  return `${window.location.origin}${config.base || ''}/api/map/image/${encodeURIComponent(level)}/{z}/{x}/{y}.png?${query}`;
}

export function tilesTemplate(level) {
  return `${window.location.origin}${config.base || ''}/tiles/${encodeURIComponent(level)}/{z}/{x}/{y}.mvt`;
}

export async function territoryGeometry(level, code) {
  return getJSON(`/api/territories/${encodeURIComponent(level)}/${encodeURIComponent(code)}/geometry`, {}, { cached: true });
}

export async function sources() {
  const body = await getJSON('/api/sources', {}, { cached: true });
  return list(body, 'sources');
}

export function exportHref({ indicator, level, year, format }) {
  const params = new URLSearchParams({ indicator, level, format });
  if (year) params.set('year', year);
  return `${config.base || ''}/api/export?${params}`;
}
