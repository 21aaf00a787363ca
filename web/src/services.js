// The services grid: one card per service, updated in place (cards and their sparklines survive
// updates, so a live event repaints text, not the whole grid).

import { Sparkline } from './charts.js';
import { ago, clear, h, number, setText } from './dom.js';
import { stateOf } from './state.js';


// Past this many cards the grid shows the worst services first and says how many it left out:
// thousands of live canvases would make the page itself the outage.
const MAX_CARDS = 300;
const SEVERITY = { down: 0, degraded: 1, unknown: 2, up: 3 };

function latencyText(ms) {
  return Number.isFinite(ms) ? `${number(ms, ms < 10 ? 1 : 0)} ms` : '';
}

export class ServicesView {
  constructor(container, summary, { onSelect }) {
    this.container = container;
    this.summary = summary;
    this.cards = new Map();
    this.selected = '';
    container.addEventListener('click', (event) => {
      const card = event.target.closest('[data-service]');
      if (card) onSelect(card.dataset.service);
    });
    container.addEventListener('keydown', (event) => {
      const card = event.target.closest('[data-service]');
      if (card && (event.key === 'Enter' || event.key === ' ')) {
        event.preventDefault();
        onSelect(card.dataset.service);
      }
    });
  }

  sparkline(name) {
    const card = this.cards.get(name);
    return card ? card.spark : null;
  }

  select(name) {
    this.selected = name;
    for (const [key, card] of this.cards) card.root.classList.toggle('selected', key === name);
  }

  // services: Map name -> service object as in /api/services.
  render(services, loadError) {
    if (loadError && !services.size) {
      this.reset();
      clear(this.container);
      this.container.append(h('p', { class: 'empty error' }, `Services could not be loaded: ${loadError}`));
      setText(this.summary, '');
      return;
    }
    if (!services.size) {
      this.reset();
      clear(this.container);
      this.container.append(h('p', { class: 'empty' }, 'No services are being watched.'));
      setText(this.summary, '');
      return;
    }
    const empty = this.container.querySelector(':scope > .empty');
    if (empty) empty.remove();
    let names = [...services.keys()].sort();
    const counts = { up: 0, down: 0, degraded: 0, unknown: 0 };
    for (const service of services.values()) counts[stateOf(service.state)] += 1;
    if (names.length > MAX_CARDS) {
      names = names.sort((a, b) => SEVERITY[stateOf(services.get(a).state)] -
                                   SEVERITY[stateOf(services.get(b).state)] || a.localeCompare(b))
        .slice(0, MAX_CARDS).sort();
    }
    const shown = new Set(names);
    for (const [name, card] of this.cards) {
      if (!shown.has(name)) {
        card.spark.destroy();
        card.root.remove();
        this.cards.delete(name);
      }
    }
    let previous = null;
    for (const name of names) {
      const service = services.get(name);
      let card = this.cards.get(name);
      if (!card) {
        card = this.createCard(name);
        this.cards.set(name, card);
      }
      this.updateCard(card, service);
      const expected = previous ? previous.nextSibling : this.container.firstChild;
      if (expected !== card.root) this.container.insertBefore(card.root, expected);
      previous = card.root;
    }
    const hidden = services.size - names.length;
    setText(this.summary, Object.entries(counts).filter(([, n]) => n)
      .map(([state, n]) => `${n} ${state}`).join(' · ') +
      (hidden ? ` · ${hidden} healthiest not shown` : ''));
  }

  reset() {
    for (const card of this.cards.values()) card.spark.destroy();
    this.cards.clear();
  }

  createCard(name) {
    const title = h('h3', {}, name);
    const badge = h('span', { class: 'badge' });
    const meta = h('div', { class: 'meta' });
    const checks = h('ul', { class: 'checks' });
    const sparkBox = h('div', { class: 'spark-box', title: 'probe latency' });
    const root = h('article', { class: 'card', tabindex: '0', dataset: { service: name } },
                   h('header', {}, h('span', { class: 'dot' }), title, badge), meta, checks, sparkBox);
    root.classList.toggle('selected', name === this.selected);
    return { root, badge, meta, checks, spark: new Sparkline(sparkBox), signature: '' };
  }

  updateCard(card, service) {
    const state = stateOf(service.state);
    if (card.root.dataset.state !== state) {
      card.root.dataset.state = state;
      card.root.className = `card state-${state}${service.name === this.selected ? ' selected' : ''}`;
    }
    setText(card.badge, state);
    const scrape = service.scrape || null;
    const parts = [service.source || ''];
    if (scrape) {
      if (scrape.up) parts.push(`scrape ok · ${scrape.series ?? 0} series`);
      else parts.push(`scrape failing${scrape.last_error ? `: ${scrape.last_error}` : ''}`);
      if (scrape.last_scrape_ms) parts.push(ago(scrape.last_scrape_ms));
    }
    if (service.restarts) parts.push(`${service.restarts} restarts`);
    if (Array.isArray(service.depends_on) && service.depends_on.length)
      parts.push(`needs ${service.depends_on.join(', ')}`);
    setText(card.meta, parts.filter(Boolean).join(' · '));

    const checks = Array.isArray(service.checks) ? service.checks : [];
    const signature = JSON.stringify(checks.map((c) => [c.name, c.state, c.reason, c.latency_ms,
                                                        c.tls_days_left]));
    if (signature === card.signature) return;
    card.signature = signature;
    clear(card.checks);
    if (!checks.length) card.checks.append(h('li', { class: 'muted' }, 'no health checks'));
    for (const check of checks) {
      const checkState = stateOf(check.state);
      const details = [check.type, latencyText(check.latency_ms)];
      if (Number.isFinite(check.tls_days_left)) details.push(`TLS ${check.tls_days_left} d`);
      card.checks.append(h('li', { class: `check state-${checkState}`,
                                   dataset: { check: check.name, state: checkState } },
        h('span', { class: 'dot' }),
        h('span', { class: 'check-name' }, check.name),
        h('span', { class: 'muted' }, details.filter(Boolean).join(' · ')),
        check.reason && checkState !== 'up' ? h('div', { class: 'reason' }, check.reason) : null));
    }
  }
}
