// The incidents list with Acknowledge, Resolve and Note. Rows are rebuilt on change; the note
// form lives outside the table so typing survives live updates.

import { clear, clock, h, setText } from './dom.js';

const ORDER = { triggered: 0, acknowledged: 1, resolved: 2 };
const MAX_ROWS = 200;

export class IncidentsView {
  // handlers: onAction(id, action) -> Promise, onNote(id, text) -> Promise
  constructor(container, summary, handlers) {
    this.container = container;
    this.summary = summary;
    this.handlers = handlers;
    this.pending = new Set();
    this.noteFor = null;
    this.signature = null;
    this.table = h('div');
    this.feedback = h('p', { class: 'feedback', role: 'status' });
    this.noteInput = h('input', { type: 'text', maxlength: '4000', placeholder: 'what did you find?',
                                  'aria-label': 'note text' });
    this.noteTitle = h('span');
    this.noteForm = h('form', { class: 'note-form', hidden: true },
      this.noteTitle, this.noteInput,
      h('button', { type: 'submit' }, 'Add note'),
      h('button', { type: 'button', onclick: () => this.closeNote() }, 'Cancel'));
    this.noteForm.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submitNote();
    });
    clear(container);
    container.append(this.table, this.noteForm, this.feedback);
    this.table.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-action]');
      if (button) this.act(button.dataset.id, button.dataset.action);
    });
  }

  act(id, action) {
    if (action === 'note') {
      this.noteFor = id;
      setText(this.noteTitle, `Note on #${id}:`);
      this.noteForm.hidden = false;
      this.noteInput.focus();
      return;
    }
    this.run(id, action, () => this.handlers.onAction(id, action));
  }

  submitNote() {
    const id = this.noteFor;
    const text = this.noteInput.value.trim();
    if (!id || !text) return;
    this.run(id, 'note', () => this.handlers.onNote(id, text).then(() => this.closeNote()));
  }

  closeNote() {
    this.noteFor = null;
    this.noteInput.value = '';
    this.noteForm.hidden = true;
  }

  async run(id, action, fn) {
    const key = `${id}:${action}`;
    if (this.pending.has(key)) return;
    this.pending.add(key);
    this.setFeedback('', false);
    this.refreshButtons();
    try {
      await fn();
      this.setFeedback(`#${id}: ${action === 'note' ? 'note added' : `${action}d`}`, false);
    } catch (error) {
      this.setFeedback(`#${id} ${action} failed: ${error.message}`, true);
    } finally {
      this.pending.delete(key);
      this.refreshButtons();
    }
  }

  setFeedback(text, isError) {
    setText(this.feedback, text);
    this.feedback.classList.toggle('error', isError);
  }

  refreshButtons() {
    for (const button of this.table.querySelectorAll('button[data-action]'))
      button.disabled = this.pending.has(`${button.dataset.id}:${button.dataset.action}`);
  }

  render(incidents, status) {
    // Rebuilding rows under a pointer would swallow a click: only rebuild on real change.
    const signature = JSON.stringify([status, [...incidents.values()]]);
    if (signature === this.signature) return;
    this.signature = signature;
    clear(this.table);
    if (status.unavailable) {
      this.table.append(h('p', { class: 'empty' }, 'No incidents: this server does not manage incidents yet.'));
      setText(this.summary, '');
      return;
    }
    if (status.error && !incidents.size) {
      this.table.append(h('p', { class: 'empty error' }, `Incidents could not be loaded: ${status.error}`));
      return;
    }
    const list = [...incidents.values()].sort((a, b) =>
      (ORDER[a.status] ?? 3) - (ORDER[b.status] ?? 3) || (b.opened_at_ms || 0) - (a.opened_at_ms || 0));
    const open = list.filter((i) => i.status !== 'resolved').length;
    setText(this.summary, list.length ? `${open} open · ${list.length} total` : '');
    if (!list.length) {
      this.table.append(h('p', { class: 'empty' }, 'No incidents.'));
      return;
    }
    const rows = list.slice(0, MAX_ROWS).map((i) => {
      const id = String(i.id);
      const button = (action, label) => h('button', { type: 'button', dataset: { action, id },
        disabled: this.pending.has(`${id}:${action}`) }, label);
      return h('tr', { class: `state-${i.status}`, dataset: { incident: id, status: i.status } },
        h('td', {}, `#${id}`),
        h('td', {}, h('span', { class: 'badge status' }, i.status)),
        h('td', {}, h('strong', {}, i.title || '(untitled)'),
          h('div', { class: 'muted' }, [i.service, i.severity].filter(Boolean).join(' · '))),
        h('td', {}, clock(i.opened_at_ms)),
        h('td', { class: 'actions' },
          i.status === 'triggered' ? button('acknowledge', 'Acknowledge') : null,
          i.status !== 'resolved' ? button('resolve', 'Resolve') : null,
          button('note', 'Note')));
    });
    this.table.append(h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, ['', 'Status', 'Incident', 'Opened', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, rows)));
    if (list.length > MAX_ROWS)
      this.table.append(h('p', { class: 'muted' }, `${list.length - MAX_ROWS} more not shown`));
  }
}
