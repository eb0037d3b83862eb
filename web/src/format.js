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

/** A value with its unit: (12.3, '%') -> "12,3 %"; (1234, 'habitants') -> "1 234 habitants". */
export function quantity(value, unit, decimals = 0) {
  if (!isNumber(value)) return DASH;
  if (unit === '%') return percent(value, decimals);
  return unit ? `${number(value, decimals)}${NBSP}${unit}` : number(value, decimals);
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
