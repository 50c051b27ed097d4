// Tiny DOM helpers. Text always goes in as text (textContent), never as HTML: nothing an agent prints
// can become markup on this page.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// Server times: ISO strings (naive ones are UTC) or Unix seconds; returned as epoch milliseconds.
export function toMs(value) {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value * 1000;
  const text = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : value + 'Z';
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

export function ago(ms, now = Date.now()) {
  if (ms === null || ms === undefined) return '';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d`;
}

export function when(value) {
  const ms = toMs(value);
  return ms === null ? '—' : new Date(ms).toLocaleString();
}

export function badge(status) {
  return h('span', { class: 'badge', dataset: { status: status || 'unknown' } }, (status || 'unknown').replaceAll('_', ' '));
}

// A button that runs an async action, shows it is busy, and reports a failure next to itself.
export function action(label, run, attrs = {}) {
  const button = h('button', { type: 'button', ...attrs }, label);
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await run();
    } catch (err) {
      flash(String(err.message || err), 'error');
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

export function flash(text, kind = 'info') {
  let box = document.getElementById('flash');
  if (!box) {
    box = h('div', { id: 'flash', role: 'alert' });
    document.body.append(box);
  }
  const item = h('div', { class: `flash ${kind}` }, text);
  box.append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 3000);
}
