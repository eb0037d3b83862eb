// Home: search a territory, key figures of the agency's territory.
import { portrait } from '../api.js';
import { keyFigureCard, pickKeyFigures, syntheticNotice } from '../cards.js';
import { config, portraitHref } from '../config.js';
import { $, clear, status, fill } from '../dom.js';
import { mountSearch } from '../search.js';

export async function start() {
  mountSearch($('[data-search]'), {
    label: 'Rechercher un territoire (commune, intercommunalité, quartier prioritaire, territoire de projet)',
    onChoose: (t) => { window.location.href = portraitHref(t.level, t.code); },
  });
  const statusEl = $('[data-status]');
  const cards = $('[data-cards]');
  if (!config.home) {
    status(statusEl, "Aucun territoire d'accueil : l'entrepôt est vide ou VIGIE_TERRITOIRE_ACCUEIL ne désigne aucun territoire.");
    return;
  }
  try {
    const data = await portrait(config.home.level, config.home.code);
    const shown = pickKeyFigures(data.figures, 8);
    const list = document.createElement('ul');
    list.className = 'cards-list';
    shown.forEach((f) => list.append(keyFigureCard(f, data.reference?.name)));
    fill(cards, list);
    const notice = syntheticNotice(shown.some((f) => f.synthetic));
    if (notice) cards.append(notice);
    status(statusEl, '');
  } catch (error) {
    status(statusEl, `Chiffres clés indisponibles : ${error.message}`, 'error');
  }
}
