// Every view keeps its state in its URL: read it at start, write it back (replaceState) on each change.

export function readState(defaults = {}) {
  const params = new URLSearchParams(window.location.search);
  const state = { ...defaults };
  for (const [key, value] of params) state[key] = value;
  return state;
}

/** Write `state` into the URL; keys whose value equals the default (or is empty) are left out. */
export function writeState(state, defaults = {}) {
  const params = new URLSearchParams(window.location.search);
  for (const [key, value] of Object.entries(state)) {
    if (value === undefined || value === null || value === '' || String(value) === String(defaults[key] ?? '')) params.delete(key);
    else params.set(key, String(value));
  }
  const query = params.toString();
  const url = `${window.location.pathname}${query ? `?${query}` : ''}${window.location.hash}`;
  if (url !== `${window.location.pathname}${window.location.search}${window.location.hash}`) window.history.replaceState(null, '', url);
}

export function isEmbedded() {
  return new URLSearchParams(window.location.search).get('embed') === '1';
}

/** The address of this view for an iframe. */
export function embedHref(extra = {}) {
  const url = new URL(window.location.href);
  url.searchParams.set('embed', '1');
  for (const [k, v] of Object.entries(extra)) url.searchParams.set(k, v);
  return url.toString();
}
