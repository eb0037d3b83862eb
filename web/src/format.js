// French number writing, as vigie.formatting does on the server (Babel): 12 345,6 ; 12,3 % ; +1,2 pt ; −0,8 %.
const formatters = new Map();

function formatter(decimals) {
  if (!formatters.has(decimals)) {
    formatters.set(decimals, new Intl.NumberFormat('fr-FR', { minimumFractionDigits: decimals, maximumFractionDigits: decimals }));
  }
  return formatters.get(decimals);
}

export const DASH = '–';
const NBSP = '\u00a0';
const MINUS = '\u2212';

export function isNumber(value) {
  return typeof value === 'number' && Number.isFinite(value);
}

export function number(value, decimals = 0) {
  if (!isNumber(value)) return DASH;
  const rounded = Number(value.toFixed(decimals)) + 0; // no "-0"
  return formatter(decimals).format(rounded).replace('-', MINUS);
}

export function percent(value, decimals = 1) {
  return isNumber(value) ? `${number(value, decimals)}${NBSP}%` : DASH;
}

function signed(value, decimals, text) {
  const rounded = Number(value.toFixed(decimals)) + 0;
  const sign = rounded > 0 ? '+' : rounded < 0 ? MINUS : '';
  return `${sign}${text(Math.abs(rounded))}`;
}

export function signedPercent(value, decimals = 1) {
  return isNumber(value) ? signed(value, decimals, (v) => percent(v, decimals)) : DASH;
}

export function points(value, decimals = 1) {
  if (!isNumber(value)) return DASH;
  const unit = Math.abs(Number(value.toFixed(decimals))) < 2 ? 'pt' : 'pts';
  return signed(value, decimals, (v) => `${number(v, decimals)}${NBSP}${unit}`);
}

export function signedNumber(value, decimals = 0, unit = '') {
  if (!isNumber(value)) return DASH;
  return signed(value, decimals, (v) => (unit ? `${number(v, decimals)}${NBSP}${unit}` : number(v, decimals)));
}

// Units written as nothing: the label already says what the number is ("Indice de jeunesse : 147").
const SILENT_UNITS = new Set(['indice']);
const COUNTED = /^([a-zàâçéèêëîïôûùüÿœæ]{2,})s(?=$|\s)/;

/**
 * The unit as it agrees with the number shown, in French (as vigie.formatting.unit_for): a counted noun is singular
 * below 2 ("1 médecin", "0 logement", "1,5 habitant"), plural from 2; "indice" is not written.
 */
export function unitFor(value, unit, decimals = 0) {
  if (!unit || SILENT_UNITS.has(unit)) return '';
  if (!isNumber(value) || Math.abs(Number(value.toFixed(decimals))) >= 2) return unit;
  return unit.replace(COUNTED, '$1');
}

/** A value with its unit: (12.3, '%') -> "12,3 %"; (1234, 'habitants') -> "1 234 habitants"; (1, 'médecins') -> "1 médecin". */
export function quantity(value, unit, decimals = 0) {
  if (!isNumber(value)) return DASH;
  if (unit === '%') return percent(value, decimals);
  const shown = unitFor(value, unit, decimals);
  return shown ? `${number(value, decimals)}${NBSP}${shown}` : number(value, decimals);
}

/** "Label (unit)" for a title or a legend, without a unit the label already says ("indice"). */
export function withUnit(label, unit) {
  return unit && !SILENT_UNITS.has(unit) ? `${label} (${unit})` : label;
}

/** A short number for axes: 12 345 -> "12 k", 1 234 567 -> "1,2 M". */
export function compact(value) {
  if (!isNumber(value)) return DASH;
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${number(value / 1e6, abs >= 1e7 ? 0 : 1)}${NBSP}M`;
  if (abs >= 1e4) return `${number(value / 1e3, 0)}${NBSP}k`;
  if (abs >= 100 || Number.isInteger(value)) return number(value, 0);
  return number(value, abs >= 10 ? 1 : 2);
}

export const STATUS_TEXT = {
  secret: 'secret statistique',
  missing: 'non disponible',
  fragile: 'fragile (petits effectifs)',
};

export const KIND_TEXT = {
  stock: 'effectif (additionnable)',
  ratio: 'ratio recalculé à chaque niveau',
  mean: 'moyenne publiée (non agrégeable)',
  median: 'médiane publiée (non agrégeable)',
  published_rate: 'taux publié (non agrégeable)',
  index: 'indice publié (non agrégeable)',
};

/** "économie-emploi" -> "Économie, emploi". */
export function themeLabel(theme) {
  if (!theme) return 'Autres indicateurs';
  const text = theme.replace(/-/g, ', ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The value shown for a figure: its number, or why there is none. */
export function figureText(value, status, unit, decimals) {
  if (status === 'secret') return 'secret';
  if (!isNumber(value)) return DASH;
  return quantity(value, unit, decimals);
}

/** The evolution of a figure: points for rates in %, else percent change. */
export function evolutionText(evolution, unit) {
  if (!evolution) return '';
  if (isNumber(evolution.points) || (unit === '%' && isNumber(evolution.absolute))) {
    return `${points(isNumber(evolution.points) ? evolution.points : evolution.absolute)} depuis ${evolution.start}`;
  }
  if (isNumber(evolution.percent)) return `${signedPercent(evolution.percent)} depuis ${evolution.start}`;
  return '';
}

/** Sort texts the French way (accents, case). */
export const collator = new Intl.Collator('fr', { sensitivity: 'base', numeric: true });
