// The page's settings, written by the server into <script id="vigie-config"> (see vigie/publish/web.py).
const element = document.getElementById('vigie-config');

export const config = element ? JSON.parse(element.textContent) : { page: '', base: '', levels: [], levelLabels: {} };

export const SYNTHETIC_MARK = config.syntheticMark || 'données fictives de démonstration';

/** An address of this app (the app may be mounted under a prefix). */
export function href(path, params) {
  const query = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '')).toString() : '';
  return `${config.base || ''}${path}${query ? `?${query}` : ''}`;
}

export function levelLabel(level) {
  return (config.levelLabels && config.levelLabels[level]) || level;
}

export function portraitHref(level, code, params) {
  return href(`/territoire/${encodeURIComponent(level)}/${encodeURIComponent(code)}`, params);
}
