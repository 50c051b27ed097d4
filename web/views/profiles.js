// Profiles: the list, each one's settings and system prompt, and installing one from a file or an https URL.

import { flash, h, replace } from '../lib/dom.js';
import { get, post } from '../lib/api.js';

export function mount(root) {
  const list = h('div', { id: 'profiles' }, h('p', { class: 'muted' }, 'loading…'));
  const detail = h('div', { id: 'profile' });
  root.append(h('section', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', {}, 'Profiles')),
    installForm(() => load()), list, detail));

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

  async function load() {
    try {
      const profiles = await get('/agents/profiles');
      replace(list, h('table', { class: 'terminals' },
        h('thead', {}, h('tr', {}, ['Name', 'Description', 'Provider', 'Role', 'Source', ''].map((c) => h('th', {}, c)))),
        h('tbody', {}, profiles.map((p) => h('tr', { dataset: { profile: p.name } },
          h('td', {}, p.name), h('td', {}, p.loadable ? p.description : h('span', { class: 'error-text' }, p.error || 'cannot be loaded')),
          h('td', {}, p.provider || ''), h('td', {}, p.role || ''), h('td', { class: 'muted' }, p.source),
          h('td', {}, h('button', { type: 'button', onclick: () => show(p.name) }, 'Read')))))));
    } catch (err) {
      replace(list, h('p', { class: 'error-text' }, err.message));
    }
  }
  load();
}

function installForm(done) {
  const file = h('input', { type: 'file', name: 'file', accept: '.md,text/markdown', id: 'profile-file' });
  const url = h('input', { type: 'url', name: 'url', placeholder: 'https://…/my_agent.md', id: 'profile-url' });
  const state = h('span', { class: 'muted', id: 'install-state' });
  const form = h('form', { class: 'launch', id: 'install' },
    h('label', {}, 'A .md file', file),
    h('label', {}, 'or an https URL', url),
    h('div', { class: 'wide' }, h('button', { type: 'submit' }, 'Install'), ' ', state));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const chosen = file.files && file.files[0];
    if (!chosen && !url.value.trim()) {
      flash('choose a .md file or give an https URL', 'error');
      return;
    }
    try {
      const body = chosen ? { content: await chosen.text(), filename: chosen.name } : { url: url.value.trim() };
      const result = await post('/agents/profiles', undefined, body);
      state.textContent = `${result.replaced ? 'replaced' : 'installed'} ${result.name}`;
      for (const warning of result.warnings) flash(warning);
      form.reset();
      done();
    } catch (err) {
      state.textContent = '';
      flash(err.message, 'error');
    }
  });
  return h('details', { class: 'card' }, h('summary', {}, 'Install a profile'), form);
}
