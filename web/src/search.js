// Territory search box: an ARIA 1.2 combobox (type, arrows to move, Enter to choose, Escape to close).
import { search } from './api.js';
import { levelLabel } from './config.js';
import { clear, h, uid, fill } from './dom.js';

/**
 * Mount a search box in `container`. `onChoose(territory)` is called with {level, code, name}.
 * Options: label (visible label), placeholder, exclude(territory) -> bool.
 */
export function mountSearch(container, { label = 'Rechercher un territoire', placeholder = 'Commune, intercommunalité, quartier…', onChoose, exclude } = {}) {
  const id = uid('recherche');
  const listId = `${id}-liste`;
  const hintId = `${id}-aide`;
  const input = h('input', {
    id, type: 'text', role: 'combobox', autocomplete: 'off', spellcheck: 'false', placeholder,
    'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': listId, 'aria-describedby': hintId,
  });
  const listbox = h('ul', { id: listId, role: 'listbox', class: 'search-results', 'aria-label': 'Territoires trouvés', hidden: true });
  const live = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
  const hint = h('p', { id: hintId, class: 'hint' }, 'Saisissez au moins deux lettres, puis choisissez avec les flèches et Entrée.');
  fill(container, h('label', { for: id, class: 'search-label' }, label), h('div', { class: 'combo' }, input, listbox), hint, live);

  let results = [];
  let active = -1;
  let timer = null;
  let sequence = 0;

  function close() {
    listbox.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  }

  function highlight(index) {
    active = index;
    [...listbox.children].forEach((li, i) => li.setAttribute('aria-selected', i === index ? 'true' : 'false'));
    if (index >= 0 && listbox.children[index]) {
      input.setAttribute('aria-activedescendant', listbox.children[index].id);
      listbox.children[index].scrollIntoView({ block: 'nearest' });
    } else input.removeAttribute('aria-activedescendant');
  }

  function choose(index) {
    const t = results[index];
    if (!t) return;
    close();
    input.value = t.name;
    onChoose?.(t);
  }

  function render() {
    clear(listbox);
    results.forEach((t, i) => {
      listbox.append(h('li', {
        id: `${listId}-${i}`, role: 'option', 'aria-selected': 'false', class: 'search-option', dataset: { level: t.level, code: t.code },
        on: { mousedown: (e) => { e.preventDefault(); choose(i); } },
      }, h('span', { class: 'option-name' }, t.name), ' ', h('span', { class: 'option-meta' }, `${t.level_label || levelLabel(t.level)} · ${t.code}`)));
    });
    const open = results.length > 0;
    listbox.hidden = !open;
    input.setAttribute('aria-expanded', open ? 'true' : 'false');
    active = -1;
  }

  async function run() {
    const q = input.value.trim();
    const mine = ++sequence;
    if (q.length < 2) {
      results = [];
      render();
      live.textContent = '';
      return;
    }
    try {
      let found = await search(q, { limit: 12 });
      if (mine !== sequence) return;
      if (exclude) found = found.filter((t) => !exclude(t));
      results = found;
      render();
      live.textContent = found.length ? `${found.length} territoire${found.length > 1 ? 's' : ''} trouvé${found.length > 1 ? 's' : ''}.` : `Aucun territoire ne correspond à « ${q} ».`;
    } catch (error) {
      if (mine !== sequence) return;
      results = [];
      render();
      live.textContent = `Recherche impossible : ${error.message}`;
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(run, 150);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown') {
      event.preventDefault();
      if (listbox.hidden && results.length) render();
      if (results.length) highlight((active + 1) % results.length);
    } else if (event.key === 'ArrowUp') {
      event.preventDefault();
      if (results.length) highlight(active <= 0 ? results.length - 1 : active - 1);
    } else if (event.key === 'Enter') {
      if (!listbox.hidden && results.length) {
        event.preventDefault();
        choose(active >= 0 ? active : 0);
      }
    } else if (event.key === 'Escape') {
      if (!listbox.hidden) {
        event.preventDefault();
        close();
      } else input.value = '';
    }
  });
  input.addEventListener('blur', () => setTimeout(close, 100));
  return { input, focus: () => input.focus(), reset: () => { input.value = ''; results = []; render(); } };
}
