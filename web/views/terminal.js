// One terminal: its live screen (xterm.js over the WebSocket), the status timeline, its inbox, a box to
// message it, its last reply, and the keys that answer a dialog or interrupt it.

import { Terminal } from '../vendor/xterm/xterm.mjs';
import { FitAddon } from '../vendor/addon-fit/addon-fit.mjs';
import { action, ago, badge, flash, h, replace, when } from '../lib/dom.js';
import { del, get, post } from '../lib/api.js';
import { store, subscribe } from '../lib/live.js';

const DIALOG_KEYS = [['1', '1'], ['2', '2'], ['3', '3'], ['Enter', 'Enter'], ['Esc', 'Escape']];

function theme() {
  const dark = matchMedia('(prefers-color-scheme: dark)').matches;
  return dark ? { background: '#111418', foreground: '#d8dee9', cursor: '#d8dee9' }
    : { background: '#fbfbfa', foreground: '#1d232a', cursor: '#1d232a', selectionBackground: '#b4d5fe' };
}

export function mount(root, id) {
  const screenBox = h('div', { class: 'screen', id: 'screen', role: 'region', 'aria-label': 'agent terminal (F6 leaves it)' });
  const link = h('span', { class: 'ws-state muted', id: 'ws-state' }, 'connecting…');
  const readOnly = h('input', { type: 'checkbox', id: 'read-only' });
  const head = h('div', { class: 'term-head' });
  const dialog = h('div', { class: 'dialog card', id: 'dialog', hidden: true });
  const reply = h('pre', { class: 'reply', id: 'last-reply' });
  const inbox = h('ol', { class: 'inbox-list', id: 'inbox' });
  const timeline = h('ol', { class: 'timeline', id: 'timeline' });
  const message = h('textarea', { id: 'message', rows: 3, placeholder: 'Queued in its inbox, delivered when it is ready', 'aria-label': 'message' });

  root.append(h('section', { class: 'page terminal-page' },
    head,
    h('div', { class: 'term-grid' },
      h('div', { class: 'term-main' },
        screenBox,
        h('div', { class: 'term-bar' }, link,
          h('label', { class: 'check' }, readOnly, 'read-only'),
          h('span', { class: 'spacer' }),
          action('Interrupt', () => post(`/terminals/${id}/interrupt`)),
          action('Exit agent', () => post(`/terminals/${id}/exit`)),
          action('Remove', async () => {
            if (!confirm(`Stop and remove terminal ${id}?`)) return;
            await del(`/terminals/${id}`);
            location.hash = '#/';
          }, { class: 'danger' }))),
      h('aside', { class: 'term-side' },
        dialog,
        h('div', { class: 'card' }, h('h3', {}, 'Send a message'),
          h('form', { id: 'send', onsubmit: async (e) => {
            e.preventDefault();
            const text = message.value.trim();
            if (!text) return;
            try {
              await post(`/terminals/${id}/inbox/messages`, undefined, { message: text });
              message.value = '';
              loadInbox();
            } catch (err) {
              flash(err.message, 'error');
            }
          } }, message, h('button', { type: 'submit' }, 'Send'))),
        h('div', { class: 'card' }, h('h3', {}, 'Last reply'), reply),
        h('div', { class: 'card' }, h('h3', {}, 'Inbox'), inbox),
        h('div', { class: 'card' }, h('h3', {}, 'Status timeline'), timeline)))));

  const term = new Terminal({ cursorBlink: true, fontSize: 13, scrollback: 5000, theme: theme(),
    fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace' });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(screenBox);
  fit.fit();
  window.caoTerminal = term; // for people poking at the page (and the browser tests)

  let ws = null;
  let closedByUs = false;
  const send = (msg) => { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg)); };
  function open() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const query = new URLSearchParams({ rows: term.rows, cols: term.cols });
    if (readOnly.checked) query.set('read_only', 'true');
    ws = new WebSocket(`${scheme}://${location.host}/terminals/${id}/ws?${query}`);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => { link.textContent = readOnly.checked ? 'watching (read-only)' : 'connected'; link.dataset.state = 'open'; };
    ws.onmessage = (e) => term.write(new Uint8Array(e.data));
    ws.onclose = (e) => {
      link.dataset.state = 'closed';
      if (closedByUs) return;
      link.replaceChildren(`disconnected${e.reason ? `: ${e.reason}` : ''} `,
        h('button', { type: 'button', onclick: () => { term.reset(); open(); } }, 'Reconnect'));
    };
  }
  // Every key goes to the agent, Tab included; F6 leaves the terminal for the message box (keyboard users).
  term.attachCustomKeyEventHandler((e) => {
    if (e.key !== 'F6') return true;
    if (e.type === 'keydown') message.focus();
    return false;
  });
  term.onData((data) => { if (!readOnly.checked) send({ type: 'input', data }); });
  term.onBinary((data) => { if (!readOnly.checked) send({ type: 'input', data }); });
  term.onResize(({ rows, cols }) => send({ type: 'resize', rows, cols }));
  const scheme = matchMedia('(prefers-color-scheme: dark)');
  const retheme = () => { term.options.theme = theme(); };
  scheme.addEventListener('change', retheme);
  const observer = new ResizeObserver(() => fit.fit());
  observer.observe(screenBox);
  readOnly.addEventListener('change', () => {
    closedByUs = true;
    if (ws) ws.close();
    closedByUs = false;
    term.reset();
    open();
  });
  open();
  term.focus();

  function drawHead() {
    const t = store.terminals.get(id);
    if (!t) {
      replace(head, h('h1', {}, `Terminal ${id}`), store.loaded ? h('p', { class: 'muted' }, 'not found (removed?)') : null);
      return;
    }
    replace(head,
      h('h1', {}, t.agent_profile || t.name, ' ', h('code', { class: 'muted' }, t.id)),
      h('div', { class: 'facts' },
        badge(t.status), ' for ', h('span', { dataset: { since: String(t.since) } }, ago(t.since)),
        h('span', {}, `${t.provider} · session `, h('a', { href: '#/' }, t.session_name)),
        h('code', { class: 'cwd' }, t.working_directory),
        t.exit_reason ? h('span', { class: 'error-text' }, t.exit_reason) : null));
    dialog.hidden = t.status !== 'waiting_user_answer';
    if (!dialog.hidden && !dialog.childElementCount) {
      dialog.append(h('h3', {}, 'It asks you something'),
        h('p', { class: 'muted' }, 'Answer here, or in the terminal.'),
        h('div', { class: 'keys' }, DIALOG_KEYS.map(([label, key]) =>
          action(label, () => post(`/terminals/${id}/answer`, undefined, { keys: [key] }), { 'data-key': key }))));
    }
  }

  function drawTimeline() {
    const line = store.timelines.get(id) || [];
    replace(timeline, line.length ? line.slice().reverse().map((s) =>
      h('li', {}, h('time', {}, new Date(s.time).toLocaleTimeString()), ' ', badge(s.status))) : h('li', { class: 'muted' }, 'no change since this page opened'));
  }

  async function loadInbox() {
    try {
      const messages = await get(`/terminals/${id}/inbox/messages`, { limit: 20 });
      replace(inbox, messages.length ? messages.reverse().map((m) => h('li', { dataset: { status: m.status } },
        h('span', { class: 'badge', dataset: { status: m.status } }, m.status), ' ',
        h('span', { class: 'muted' }, `from ${m.sender_id} · ${when(m.delivered_at || m.created_at)}`),
        h('div', { class: 'msg' }, m.message),
        m.error ? h('div', { class: 'error-text' }, m.error) : null)) : h('li', { class: 'muted' }, 'empty'));
    } catch (err) {
      replace(inbox, h('li', { class: 'error-text' }, err.message));
    }
  }

  async function loadReply() {
    try {
      replace(reply, (await get(`/terminals/${id}/output`, { mode: 'last' })).output || '');
    } catch (err) {
      replace(reply, h('span', { class: 'muted' }, err.status === 404 ? 'no reply yet' : err.message));
    }
  }

  drawHead();
  drawTimeline();
  loadInbox();
  loadReply();
  const off = subscribe((kind, event) => {
    const data = (event && event.data) || {};
    if (kind === 'loaded' || kind === 'connection') drawHead();
    if (kind === 'terminal.status' && data.terminal_id === id) {
      drawHead();
      drawTimeline();
      if (data.status === 'completed') loadReply();
    }
    if (kind === 'terminal.removed' && data.terminal_id === id) drawHead();
    if (kind.startsWith('message.') && (data.receiver_id === id || data.sender_id === id)) loadInbox();
  });
  return () => {
    off();
    scheme.removeEventListener('change', retheme);
    observer.disconnect();
    closedByUs = true;
    if (ws) ws.close();
    term.dispose();
    if (window.caoTerminal === term) delete window.caoTerminal;
  };
}
