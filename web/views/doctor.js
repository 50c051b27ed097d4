// Doctor: tmux and each provider's CLI: installed, where, which version, tested with cao or not.

import { h, replace } from '../lib/dom.js';
import { get } from '../lib/api.js';

export function mount(root) {
  const body = h('div', { id: 'doctor' }, h('p', { class: 'muted' }, 'checking…'));
  root.append(h('section', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', {}, 'Doctor')), body));
  Promise.all([get('/health'), get('/agents/providers')]).then(([health, providers]) => replace(body,
    h('p', {}, `cao ${health.version} · tmux `, health.tmux_version
      ? h('strong', {}, health.tmux_version) : h('strong', { class: 'error-text' }, 'not found'), ` · ${health.terminals} terminal(s) tracked`),
    h('table', { class: 'terminals' },
      h('thead', {}, h('tr', {}, ['Provider', 'Binary', 'Installed', 'Version', 'Tested', 'How to install'].map((c) => h('th', {}, c)))),
      h('tbody', {}, providers.map((p) => h('tr', { dataset: { provider: p.name } },
        h('td', {}, p.name), h('td', {}, h('code', {}, p.binary)),
        h('td', {}, p.installed ? h('span', { title: p.path || '' }, 'yes') : h('span', { class: 'error-text' }, 'no')),
        h('td', {}, p.version || ''),
        h('td', {}, p.tested === null ? '' : p.tested ? 'yes' : h('span', { title: `tested: ${p.tested_versions.join(', ')}` }, 'not this version')),
        h('td', {}, p.installed ? '' : h('code', {}, p.install_hint))))))))
    .catch((err) => replace(body, h('p', { class: 'error-text' }, err.message)));
}
