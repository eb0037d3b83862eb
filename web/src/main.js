// Entry point: loads the module of the page the server rendered (body[data-page]); maps and charts are split
// into their own chunks, so pages without a map never download MapLibre.
import './style.css';
import { config } from './config.js';
import { h } from './dom.js';

const pages = {
  home: () => import('./pages/home.js'),
  portrait: () => import('./pages/portrait.js'),
  map: () => import('./pages/map.js'),
  compare: () => import('./pages/compare.js'),
  data: () => import('./pages/data.js'),
  catalogue: () => import('./pages/catalogue.js'),
  enquete: () => import('./pages/enquete.js'),
  barometre: () => import('./pages/barometre.js'),
  atlas: () => import('./pages/atlas.js'),
};

function fail(error) {
  console.error(error);
  const main = document.getElementById('contenu');
  if (main) main.prepend(h('div', { class: 'notice notice-error', role: 'alert' }, `Erreur : ${error.message || error}`));
}

const load = pages[config.page];
if (load) {
  load().then((module) => module.start()).catch(fail);
}
