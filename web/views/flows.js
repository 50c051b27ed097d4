// Flows: the list, enable/disable, run now, and each flow's run history with the replies.

import { action, badge, flash, h, replace, when } from '../lib/dom.js';
import { get, post } from '../lib/api.js';
import { subscribe } from '../lib/live.js';

export function mount(root) {
  const list = h('div', { id: 'flows' }, h('p', { class: 'muted' }, 'loading…'));
  root.append(h('section', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', {}, 'Flows')), list));
  const open = new Set();
  async function load() {
    try {
      const flows = await get('/flows');
      if (!flows.length) {
        replace(list, h('p', { class: 'empty' }, 'No flows. Add one with: cao flow add FILE (see docs/flows.md)'));
        return;
      }
      const histories = await Promise.all(flows.map((f) => (open.has(f.name) ? get(`/flows/${encodeURIComponent(f.name)}/runs`, { limit: 10 }) : null)));
      replace(list, flows.map((f, i) => flowCard(f, histories[i])));
    } catch (err) {
      replace(list, h('p', { class: 'error-text' }, err.message));
    }
  }
  function flowCard(f, runs) {
    const name = encodeURIComponent(f.name);
    return h('article', { class: 'card flow', dataset: { flow: f.name } },
      h('header', {},
        h('h2', {}, f.name),
        h('span', { class: 'badge', dataset: { status: f.enabled ? 'enabled' : 'disabled' } }, f.enabled ? 'enabled' : 'disabled'),
        h('code', {}, f.schedule), h('span', { class: 'muted' }, `${f.agent_profile} · ${f.provider || 'default provider'}`),
        h('span', { class: 'spacer' }),
        action(f.enabled ? 'Disable' : 'Enable', async () => { await post(`/flows/${name}/${f.enabled ? 'disable' : 'enable'}`); load(); }),
        action('Run now', async () => {
          const started = await post(`/flows/${name}/run`);
          flash(started.executed ? `${f.name}: started` : `${f.name}: skipped (${started.run.outcome || 'gate'})`);
          open.add(f.name);
          load();
        }),
        action(runs ? 'Hide runs' : 'Runs', async () => { if (runs) open.delete(f.name); else open.add(f.name); load(); })),
      h('p', { class: 'muted' }, `last run ${when(f.last_run)} · next ${when(f.next_run)}`),
      runs ? h('ol', { class: 'runs' }, runs.length ? runs.map((r) => h('li', { dataset: { run: r.id } },
        badge(r.outcome || 'working'), ' ', h('span', { class: 'muted' }, `#${r.id} ${r.trigger} · ${when(r.started_at)}`),
        r.reply ? h('pre', { class: 'reply' }, r.reply) : null,
        r.error ? h('div', { class: 'error-text' }, r.error) : null)) : h('li', { class: 'muted' }, 'no runs yet')) : null);
  }
  load();
  return subscribe((kind) => { if (kind === 'flow.run.finished' || kind === 'loaded') load(); });
}
