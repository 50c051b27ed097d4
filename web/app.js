// The page: a hash router over a few views, one live store, one event stream.

import { connect, loadAll, store, subscribe } from './lib/live.js';
import { ago, flash, replace } from './lib/dom.js';
import * as sessions from './views/sessions.js';
import * as flows from './views/flows.js';
import * as profiles from './views/profiles.js';
import * as doctor from './views/doctor.js';

const main = document.getElementById('main');
const live = document.getElementById('live');
let unmount = null;

function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [page, arg] = hash.split('/');
  // The terminal view (and xterm.js, ~340 KB) loads only when a terminal is opened.
  if (page === 't' && /^[0-9a-f]{8}$/.test(arg || '')) return { view: () => import('./views/terminal.js'), page: 'sessions', arg };
  return { flows: { view: flows, page: 'flows' }, profiles: { view: profiles, page: 'profiles' },
    doctor: { view: doctor, page: 'doctor' } }[page] || { view: sessions, page: 'sessions' };
}

let shown = 0;

async function show() {
  if (unmount) unmount();
  unmount = null;
  const mine = ++shown;
  const { view, page, arg } = route();
  for (const link of document.querySelectorAll('nav a')) {
    if (link.dataset.page === page) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  replace(main);
  const module = typeof view === 'function' ? await view() : view;
  if (mine === shown) unmount = module.mount(main, arg) || null;
}

subscribe((kind) => {
  if (kind !== 'connection') return;
  live.dataset.state = store.connected ? 'live' : 'offline';
  live.textContent = store.connected ? 'live' : 'reconnecting…';
});

// Times like "working for 12s" tick without anything being redrawn.
setInterval(() => {
  const now = Date.now();
  for (const el of document.querySelectorAll('[data-since]')) el.textContent = ago(Number(el.dataset.since), now);
}, 1000);

window.addEventListener('hashchange', show);
connect();
show();
loadAll().catch((err) => {
  flash(err.message, 'error');
  replace(main, err.message);
});
