// Profiles: the list, and each one's settings and system prompt.

import { h, replace } from '../lib/dom.js';
import { get } from '../lib/api.js';

export function mount(root) {
  const list = h('div', { id: 'profiles' }, h('p', { class: 'muted' }, 'loading…'));
  const detail = h('div', { id: 'profile' });
  root.append(h('section', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', {}, 'Profiles')),
    h('p', { class: 'muted' }, 'Install more with: cao install FILE|URL (see docs/profiles.md).'), list, detail));
  async function show(name) {
    try {
      const p = await get(`/agents/profiles/${encodeURIComponent(name)}`);
      replace(detail, h('article', { class: 'card' }, h('h2', {}, p.name),
        h('dl', {}, [['description', p.description], ['provider', p.provider], ['model', p.model], ['role', p.role],
          ['allowed tools', (p.allowedTools || []).join(', ')], ['skills', (p.skills || []).join(', ')],
          ['MCP servers', Object.keys(p.mcpServers || {}).join(', ')]]
          .filter(([, v]) => v).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
        h('h3', {}, 'System prompt'), h('pre', { class: 'reply' }, p.system_prompt || '(none)')));
      detail.scrollIntoView({ block: 'nearest' });
    } catch (err) {
      replace(detail, h('p', { class: 'error-text' }, err.message));
    }
  }
  get('/agents/profiles').then((profiles) => replace(list, h('table', { class: 'terminals' },
    h('thead', {}, h('tr', {}, ['Name', 'Description', 'Provider', 'Role', 'Source', ''].map((c) => h('th', {}, c)))),
    h('tbody', {}, profiles.map((p) => h('tr', { dataset: { profile: p.name } },
      h('td', {}, p.name), h('td', {}, p.loadable ? p.description : h('span', { class: 'error-text' }, p.error || 'cannot be loaded')),
      h('td', {}, p.provider || ''), h('td', {}, p.role || ''), h('td', { class: 'muted' }, p.source),
      h('td', {}, h('button', { type: 'button', onclick: () => show(p.name) }, 'Read'))))))))
    .catch((err) => replace(list, h('p', { class: 'error-text' }, err.message)));
}
