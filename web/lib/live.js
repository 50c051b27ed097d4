// What the page knows, kept live by the one server event stream (GET /events, Server-Sent Events).
// The browser's EventSource reconnects by itself and sends Last-Event-ID, so no event is missed
// after a dropped connection; `gap` (the backlog no longer reaches back) reloads everything.

import { get } from './api.js';
import { toMs } from './dom.js';

export const KINDS = [
  'session.created', 'session.removed', 'terminal.created', 'terminal.removed', 'terminal.status',
  'message.queued', 'message.delivered', 'message.failed', 'handoff.started', 'handoff.finished',
  'assign.started', 'assign.finished', 'flow.run.finished',
];
const TIMELINE_MAX = 200;

export const store = {
  sessions: new Map(),   // name -> SessionSummary
  terminals: new Map(),  // id -> Terminal (+ since: ms of the last status change)
  pending: new Map(),    // terminal id -> messages queued for it and not yet delivered
  timelines: new Map(),  // terminal id -> [{time, status, previous}]
  connected: false,
  loaded: false,
  lastEventId: 0,
};

const listeners = new Set();

export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function changed(kind, event) {
  for (const fn of [...listeners]) {
    try {
      fn(kind, event);
    } catch (err) {
      console.error(err);
    }
  }
}

function putTerminal(terminal) {
  terminal.since = toMs(terminal.status_changed_at) ?? toMs(terminal.created_at);
  store.terminals.set(terminal.id, terminal);
}

export async function loadAll() {
  const [sessions, terminals] = await Promise.all([get('/sessions'), get('/terminals')]);
  store.sessions = new Map(sessions.map((s) => [s.name, s]));
  store.terminals = new Map();
  for (const terminal of terminals) putTerminal(terminal);
  store.loaded = true;
  changed('loaded');
  requestAnimationFrame(() => setTimeout(loadPending)); // after the first paint
}

// The inbox counts, after the first paint (one request per terminal), then kept by events.
async function loadPending() {
  const ids = [...store.terminals.keys()];
  const counts = await Promise.all(ids.map((id) => get(`/terminals/${id}/inbox/messages`, { status: 'pending', limit: 100 })
    .then((list) => list.length).catch(() => 0)));
  ids.forEach((id, i) => store.pending.set(id, counts[i]));
  changed('pending');
}

async function refreshSessions() {
  const sessions = await get('/sessions');
  store.sessions = new Map(sessions.map((s) => [s.name, s]));
}

async function handle(event) {
  const data = event.data || {};
  store.lastEventId = Math.max(store.lastEventId, event.id || 0);
  switch (event.kind) {
    case 'terminal.status': {
      const terminal = store.terminals.get(data.terminal_id);
      if (terminal) {
        terminal.status = data.status;
        terminal.since = toMs(event.time);
      }
      const line = store.timelines.get(data.terminal_id) || [];
      line.push({ time: toMs(event.time), status: data.status, previous: data.previous });
      if (line.length > TIMELINE_MAX) line.shift();
      store.timelines.set(data.terminal_id, line);
      break;
    }
    case 'terminal.created': {
      try {
        putTerminal(await get(`/terminals/${data.terminal_id}`));
        if (!store.pending.has(data.terminal_id)) store.pending.set(data.terminal_id, 0);
        if (!store.sessions.has(data.session)) await refreshSessions();
      } catch { /* it went away again */ }
      break;
    }
    case 'terminal.removed':
      store.terminals.delete(data.terminal_id);
      store.pending.delete(data.terminal_id);
      break;
    case 'session.created':
    case 'session.removed':
      await refreshSessions().catch(() => {});
      if (event.kind === 'session.removed') {
        for (const [id, t] of store.terminals) if (t.session_name === data.session) store.terminals.delete(id);
      }
      break;
    case 'message.queued':
      store.pending.set(data.receiver_id, (store.pending.get(data.receiver_id) || 0) + 1);
      break;
    case 'message.delivered':
    case 'message.failed':
      store.pending.set(data.receiver_id, Math.max(0, (store.pending.get(data.receiver_id) || 0) - 1));
      break;
    default:
      break;
  }
  changed(event.kind, event);
}

export function connect() {
  const source = new EventSource('/events');
  // Events are handled one after another, in order, even when one has to fetch something.
  let chain = Promise.resolve();
  let wasDown = false;
  source.onopen = () => {
    store.connected = true;
    changed('connection');
    // Back after a drop: Last-Event-ID replays what was missed, but a restarted server numbers its
    // events afresh, so the page reloads what it shows as well.
    if (wasDown) chain = chain.then(loadAll).catch((err) => console.error(err));
    wasDown = false;
  };
  source.onerror = () => {
    store.connected = false;
    wasDown = true;
    changed('connection');
  };
  for (const kind of KINDS) {
    source.addEventListener(kind, (message) => {
      const event = JSON.parse(message.data);
      chain = chain.then(() => handle(event)).catch((err) => console.error(err));
    });
  }
  source.addEventListener('gap', () => {
    chain = chain.then(loadAll).catch((err) => console.error(err));
  });
  return source;
}

// Terminals of a session as a tree: who started whom (caller_id), the conductor first.
export function sessionTree(name) {
  const members = [...store.terminals.values()].filter((t) => t.session_name === name);
  const ids = new Set(members.map((t) => t.id));
  const children = new Map();
  const roots = [];
  members.sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
  for (const t of members) {
    if (t.caller_id && ids.has(t.caller_id)) {
      if (!children.has(t.caller_id)) children.set(t.caller_id, []);
      children.get(t.caller_id).push(t);
    } else {
      roots.push(t);
    }
  }
  const walk = (t, depth, out) => {
    out.push({ terminal: t, depth });
    for (const c of children.get(t.id) || []) walk(c, depth + 1, out);
    return out;
  };
  return roots.flatMap((t) => walk(t, 0, []));
}
