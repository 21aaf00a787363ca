// The alerts list: firing first, then pending, then recently resolved.

import { ago, clear, h, number, setText } from './dom.js';

const ORDER = { firing: 0, pending: 1, resolved: 2 };
const MAX_ROWS = 200;

export function alertKey(alert) {
  const labels = alert.labels || {};
  return JSON.stringify([alert.alertname, alert.service,
                         Object.keys(labels).sort().map((k) => [k, labels[k]])]);
}

export function renderAlerts(container, summary, alerts, status) {
  clear(container);
  if (status.unavailable) {
    container.append(h('p', { class: 'empty' }, 'No alerts: this server does not serve alerts yet.'));
    setText(summary, '');
    return;
  }
  if (status.error && !alerts.size) {
    container.append(h('p', { class: 'empty error' }, `Alerts could not be loaded: ${status.error}`));
    return;
  }
  const list = [...alerts.values()].sort((a, b) =>
    (ORDER[a.state] ?? 3) - (ORDER[b.state] ?? 3) ||
    (b.fired_at_ms || b.active_at_ms || 0) - (a.fired_at_ms || a.active_at_ms || 0));
  const firing = list.filter((a) => a.state === 'firing').length;
  setText(summary, list.length ? `${firing} firing · ${list.length} total` : '');
  if (!list.length) {
    container.append(h('p', { class: 'empty' }, 'No alerts.'));
    return;
  }
  const rows = list.slice(0, MAX_ROWS).map((a) => {
    const annotations = a.annotations || {};
    const since = a.state === 'resolved' ? a.resolved_at_ms : a.fired_at_ms || a.active_at_ms;
    return h('tr', { class: `state-${a.state}`, dataset: { alert: a.alertname, state: a.state } },
      h('td', {}, h('span', { class: 'badge' }, a.state)),
      h('td', {}, h('strong', {}, a.alertname), h('div', { class: 'muted' },
        annotations.summary || annotations.description || '')),
      h('td', {}, a.service || '—'),
      h('td', { class: 'num' }, a.value === undefined ? '' : number(a.value)),
      h('td', {}, ago(since)));
  });
  container.append(h('table', { class: 'list' },
    h('thead', {}, h('tr', {}, ['State', 'Alert', 'Service', 'Value', 'Since'].map((t) => h('th', {}, t)))),
    h('tbody', {}, rows)));
  if (list.length > MAX_ROWS)
    container.append(h('p', { class: 'muted' }, `${list.length - MAX_ROWS} more not shown`));
}
