// Building DOM nodes without HTML strings: every text goes through textContent, so data can never inject markup.

/**
 * h('a', {href: '/x', class: 'link'}, 'text', child) -> element.
 * Attributes: `class`, `dataset` (object), `on` (object of listeners), booleans (true -> present), others as is.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttributes(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttributes(el, attrs);
  append(el, children);
  return el;
}

function setAttributes(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'on') for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
    else if (key === 'text') el.textContent = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

let counter = 0;
/** A unique element id with a readable prefix. */
export function uid(prefix = 'v') {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** Show a message in a page's status line (role="status", read by screen readers). */
export function status(el, text, kind = 'info') {
  if (!el) return;
  el.textContent = text || '';
  el.hidden = !text;
  el.classList.toggle('status-error', kind === 'error');
}

/** Replace the children of `el` (null, false and undefined children are skipped). */
export function fill(el, ...children) {
  return append(clear(el), children);
}
