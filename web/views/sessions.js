// Sessions: each session as a tree conductor → workers, every terminal's status live; launch and shut down.

import { action, ago, badge, flash, h, replace } from '../lib/dom.js';
import { del, get, post } from '../lib/api.js';
import { sessionTree, store, subscribe } from '../lib/live.js';

export function mount(root) {
  const list = h('div', { id: 'sessions', class: 'sessions', 'aria-live': 'polite' });
  root.append(h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Sessions')),
    launchForm(),
    list));
  let queued = false;
  const draw = () => {
    queued = false;
    render(list);
  };
  const schedule = (kind, event) => {
    if (kind === 'loaded') {
      render(list); // the first paint: at once, not a frame later
      return;
    }
    if (kind === 'terminal.status' && store.loaded) {
      // The common event, drawn at once in place: the badge and its time.
      const row = list.querySelector(`[data-terminal="${event.data.terminal_id}"]`);
      const t = store.terminals.get(event.data.terminal_id);
      if (row && t) {
        row.querySelector('.badge').replaceWith(badge(t.status));
        const since = row.querySelector('[data-since]');
        since.dataset.since = String(t.since);
        since.textContent = ago(t.since);
        row.dataset.status = t.status;
        return;
      }
    }
    if (!queued) {
      queued = true;
      requestAnimationFrame(draw);
    }
  };
  const off = subscribe(schedule);
  if (store.loaded) render(list);
  return off;
}

function render(list) {
  if (!store.loaded) return;
  const names = [...store.sessions.keys()].sort();
  if (!names.length) {
    replace(list, h('p', { class: 'empty' }, 'No sessions yet. Launch one above, or run: cao launch --agents developer'));
    return;
  }
  replace(list, names.map((name) => sessionCard(store.sessions.get(name))));
}

function sessionCard(session) {
  const rows = sessionTree(session.name);
  return h('article', { class: 'session', dataset: { session: session.name } },
    h('header', {},
      h('h2', {}, session.name),
      h('span', { class: 'muted' }, session.status === 'active' ? 'attached' : 'detached'),
      session.working_directory ? h('code', { class: 'cwd' }, session.working_directory) : null,
      h('span', { class: 'spacer' }),
      action('Shut down', async () => {
        if (!confirm(`Shut down session ${session.name} and all its agents?`)) return;
        await del(`/sessions/${encodeURIComponent(session.name)}`);
        flash(`${session.name} shut down`);
      }, { class: 'danger', 'aria-label': `Shut down session ${session.name}` })),
    h('table', { class: 'terminals' },
      h('thead', {}, h('tr', {}, ['Agent', 'Status', 'For', 'Inbox', 'Provider', 'Directory', ''].map((c) => h('th', {}, c)))),
      h('tbody', {}, rows.map(({ terminal, depth }) => terminalRow(terminal, depth)))));
}

function terminalRow(t, depth) {
  const pending = store.pending.get(t.id);
  return h('tr', { dataset: { terminal: t.id, status: t.status } },
    h('td', { class: 'agent', style: `--depth:${depth}` },
      depth ? h('span', { class: 'branch', 'aria-hidden': 'true' }, '└ ') : null,
      h('a', { href: `#/t/${t.id}` }, t.agent_profile || t.name), ' ', h('code', { class: 'muted' }, t.id)),
    h('td', {}, badge(t.status)),
    h('td', {}, h('span', { dataset: { since: String(t.since) } }, ago(t.since))),
    h('td', { class: 'inbox' }, pending === undefined ? '' : String(pending)),
    h('td', {}, t.provider),
    h('td', {}, h('code', { class: 'cwd' }, t.working_directory)),
    h('td', { class: 'row-actions' },
      h('a', { href: `#/t/${t.id}`, class: 'button' }, 'Open'),
      action('Stop', async () => {
        if (!confirm(`Stop and remove terminal ${t.id}?`)) return;
        await del(`/terminals/${t.id}`);
      }, { class: 'danger', 'aria-label': `Stop terminal ${t.id}` })));
}

function launchForm() {
  const profile = h('select', { name: 'agent_profile', required: true });
  const provider = h('select', { name: 'provider' }, h('option', { value: '' }, "profile's provider"));
  const form = h('form', { class: 'launch', id: 'launch' },
    h('label', {}, 'Profile', profile),
    h('label', {}, 'Provider', provider),
    h('label', {}, 'Working directory', h('input', { name: 'working_directory', placeholder: "the server's directory", autocomplete: 'off' })),
    h('label', {}, 'Session name', h('input', { name: 'session_name', placeholder: 'random', pattern: '[A-Za-z0-9_][A-Za-z0-9_\\-]{0,63}' })),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'yolo' }), 'yolo (no permission prompts)'),
    h('label', { class: 'wide' }, 'First message', h('textarea', { name: 'message', rows: 2, placeholder: 'optional' })),
    h('div', { class: 'wide' }, h('button', { type: 'submit' }, 'Launch'), h('span', { class: 'muted', id: 'launch-state' })));
  const details = h('details', { class: 'card' }, h('summary', {}, 'Launch a session'), form);
  details.addEventListener('toggle', async () => {
    if (!details.open || profile.options.length) return;
    const [profiles, providers] = await Promise.all([get('/agents/profiles'), get('/agents/providers')]);
    for (const p of profiles.filter((p) => p.loadable)) profile.append(h('option', { value: p.name }, p.name));
    for (const p of providers) provider.append(h('option', { value: p.name }, p.installed ? p.name : `${p.name} (not installed)`));
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const state = form.querySelector('#launch-state');
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    state.textContent = ' starting…';
    try {
      const t = await post('/sessions', {
        agent_profile: data.get('agent_profile'), provider: data.get('provider'),
        working_directory: data.get('working_directory'), session_name: data.get('session_name'),
        yolo: data.get('yolo') ? 'true' : undefined,
      });
      const message = String(data.get('message') || '').trim();
      if (message) await post(`/terminals/${t.id}/input`, undefined, { message });
      state.textContent = ` started ${t.session_name} (${t.id})`;
      form.reset();
    } catch (err) {
      state.textContent = '';
      flash(err.message, 'error');
    } finally {
      button.disabled = false;
    }
  });
  return details;
}
