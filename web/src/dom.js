// Small DOM helpers: element creation without innerHTML (server data is never parsed as HTML),
// time formatting, and one requestAnimationFrame batch for all rendering.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function setText(el, text) {
  const value = String(text);
  if (el.textContent !== value) el.textContent = value;
}

export function ago(ms, now = Date.now()) {
  if (!ms) return '—';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function clock(ms) {
  return ms ? new Date(ms).toLocaleTimeString() : '—';
}

export function number(value, digits = 3) {
  const n = Number(value);
  if (!Number.isFinite(n)) return String(value);
  if (n !== 0 && (Math.abs(n) >= 1e6 || Math.abs(n) < 1e-3)) return n.toExponential(2);
  return String(Number(n.toFixed(digits)));
}

// Collects render requests and runs each once in the next animation frame, so a burst of
// events costs one layout, not one per event.
export class FrameBatch {
  constructor() {
    this.pending = new Map();
    this.scheduled = false;
  }

  request(key, fn) {
    this.pending.set(key, fn);
    if (this.scheduled) return;
    this.scheduled = true;
    const run = () => this.flush();
    // Hidden tabs get no animation frames; a timer keeps the state current for when they return.
    if (document.hidden) setTimeout(run, 250);
    else requestAnimationFrame(run);
  }

  flush() {
    this.scheduled = false;
    const work = [...this.pending.values()];
    this.pending.clear();
    for (const fn of work) {
      try {
        fn();
      } catch (error) {
        console.error('render failed', error);
      }
    }
  }
}
