// The dashboard: a REST snapshot, then live events over the WebSocket. State lives in plain maps
// here; views render from them in one animation-frame batch.

import './style.css';
import { api, ApiError, loadToken, promString, queryRange, saveToken } from './api.js';
import { alertKey, renderAlerts } from './alerts.js';
import { MetricChart } from './charts.js';
import { clear, clock, FrameBatch, h, number, setText } from './dom.js';
import { GraphView } from './graph.js';
import { IncidentsView } from './incidents.js';
import { LiveConnection } from './live.js';
import { parseSelector, matchesSelector } from './selector.js';
import { ServicesView } from './services.js';

const BASE_TOPICS = ['services', 'health', 'alerts', 'incidents', 'anomalies'];
const PAGE_SIZE = 1000;
const MAX_PAGES = 50;
const MAX_BUFFERED_EVENTS = 20000;
const MAX_ANOMALIES = 30;
const MAX_KEPT_ITEMS = 1000;
const SPARK_SECONDS = 15 * 60;
const SPARK_CONCURRENCY = 4;
const SPARK_MAX_SERVICES = 100;
const REQUERY_INTERVAL_MS = 5000;
const MAX_TOPIC_BYTES = 256;  // the server's limit on a topic name
// Without the WebSocket the page still refreshes, slowly, over REST.
const OFFLINE_POLL_MS = 15000;

const $ = (id) => document.getElementById(id);

const state = {
  token: loadToken(),
  services: new Map(),
  servicesError: '',
  alerts: new Map(),
  alertsStatus: { unavailable: false, error: '' },
  incidents: new Map(),
  incidentsStatus: { unavailable: false, error: '' },
  anomalies: [],
  selected: '',
  metricsTopic: null,  // the chart's live stream: metrics:<selected>, or narrowed by a selector
  generation: 0,
  fetching: false,
  buffered: [],
  bufferOverflow: false,
  sparklinesFromRest: true,
  requeryTimer: null,
  lastQueryAt: 0,
  queryRun: 0,
  pollTimer: null,
};

const batch = new FrameBatch();
const servicesView = new ServicesView($('services'), $('services-summary'), { onSelect: selectService });
const incidentsView = new IncidentsView($('incidents'), $('incidents-summary'), {
  onAction: (id, action) => incidentWrite(id, action),
  onNote: (id, text) => incidentWrite(id, 'notes', { text }),
});
const graphView = new GraphView($('graph'));
const chart = new MetricChart($('chart'));

const renderers = {
  services: () => servicesView.render(state.services, state.servicesError),
  graph: () => graphView.render(state.services),
  alerts: () => renderAlerts($('alerts'), $('alerts-summary'), state.alerts, state.alertsStatus),
  incidents: () => incidentsView.render(state.incidents, state.incidentsStatus),
  anomalies: renderAnomalies,
  serviceOptions: renderServiceOptions,
};

function render(...parts) {
  for (const part of parts) batch.request(part, renderers[part]);
}

// --- banner and session ---------------------------------------------------------------------

function showError(message) {
  const banner = $('banner');
  clear(banner);
  banner.append(h('span', {}, message),
                h('button', { type: 'button', 'aria-label': 'dismiss', onclick: () => { banner.hidden = true; } }, '×'));
  banner.hidden = false;
}

function noteAuthFailure(error) {
  if (!(error instanceof ApiError)) return;
  if (error.status === 401)
    showError(state.token ? `The token was refused: ${error.message}` : `Sign in: ${error.message}`);
  else if (error.status === 403)
    showError(`Not allowed with this token: ${error.message}`);
}

function renderSession() {
  const signedIn = Boolean(state.token);
  $('login').hidden = signedIn;
  $('session').hidden = !signedIn;
}

$('login').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = $('token-input').value.trim();
  if (!token) return;
  $('token-input').value = '';
  state.token = token;
  saveToken(token);
  $('banner').hidden = true;
  renderSession();
  start();
});

$('logout-button').addEventListener('click', () => {
  state.token = '';
  saveToken('');
  renderSession();
  start();
});

// --- REST snapshot --------------------------------------------------------------------------

async function fetchServices() {
  const all = new Map();
  for (let page = 0, offset = 0; page < MAX_PAGES; ++page) {
    const data = await api('GET', `/api/services?limit=${PAGE_SIZE}&offset=${offset}`, { token: state.token });
    const list = data && Array.isArray(data.services) ? data.services : [];
    for (const s of list) if (s && typeof s.name === 'string') all.set(s.name, s);
    offset += list.length;
    if (!list.length || !(offset < Number(data.total))) break;
  }
  return all;
}

// Alerts and incidents are optional on older servers: 404 means "not here", not "broken".
async function fetchOptional(path, key) {
  try {
    const data = await api('GET', path, { token: state.token });
    return { items: data && Array.isArray(data[key]) ? data[key] : [], unavailable: false, error: '' };
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 501))
      return { items: [], unavailable: true, error: '' };
    noteAuthFailure(error);
    return { items: null, unavailable: false, error: error.message };
  }
}

async function fetchAll() {
  const generation = ++state.generation;
  state.fetching = true;
  state.buffered = [];
  state.bufferOverflow = false;
  const [services, alerts, incidents] = await Promise.all([
    fetchServices().then((s) => ({ s }), (error) => ({ error })),
    fetchOptional('/api/alerts', 'alerts'),
    fetchOptional('/api/incidents', 'incidents'),
  ]);
  if (generation !== state.generation) return;
  if (services.error) {
    noteAuthFailure(services.error);
    state.servicesError = services.error.message;
  } else {
    state.services = services.s;
    state.servicesError = '';
  }
  if (alerts.items) state.alerts = new Map(alerts.items.map((a) => [alertKey(a), a]));
  state.alertsStatus = { unavailable: alerts.unavailable, error: alerts.error };
  if (incidents.items) state.incidents = new Map(incidents.items.map((i) => [String(i.id), i]));
  state.incidentsStatus = { unavailable: incidents.unavailable, error: incidents.error };
  state.fetching = false;
  // Events that arrived while the snapshot was in flight are newer than (or equal to) it.
  const buffered = state.buffered;
  state.buffered = [];
  if (state.bufferOverflow) {
    fetchAll();
    return;
  }
  for (const event of buffered) applyEvent(event);
  render('services', 'graph', 'alerts', 'incidents', 'serviceOptions');
  if (!state.selected && state.services.size) selectService([...state.services.keys()].sort()[0]);
  requestAnimationFrame(() => loadSparklines(generation));
}

async function loadSparklines(generation) {
  const names = [...state.services.keys()].sort().slice(0, SPARK_MAX_SERVICES);
  let next = 0;
  const worker = async () => {
    while (state.sparklinesFromRest && next < names.length && generation === state.generation) {
      const name = names[next++];
      try {
        const result = await queryRange(`probe_duration_seconds{service=${promString(name)}}`,
                                        { token: state.token, seconds: SPARK_SECONDS, points: 120 });
        const spark = servicesView.sparkline(name);
        if (spark && generation === state.generation) spark.set(mergeMax(result));
      } catch (error) {
        // No PromQL API on this server: sparklines fill from live check latencies instead.
        if (error instanceof ApiError && (error.status === 404 || error.status === 501))
          state.sparklinesFromRest = false;
      }
    }
  };
  await Promise.all(Array.from({ length: SPARK_CONCURRENCY }, worker));
}

// One line per service: the slowest check at each step.
function mergeMax(result) {
  const byTime = new Map();
  for (const series of result)
    for (const [t, v] of series.points) byTime.set(t, Math.max(byTime.get(t) ?? -Infinity, v));
  return [...byTime.entries()].sort((a, b) => a[0] - b[0]);
}

// --- live events ----------------------------------------------------------------------------

function onEvent(event) {
  if (state.fetching) {
    if (state.buffered.length < MAX_BUFFERED_EVENTS) state.buffered.push(event);
    else state.bufferOverflow = true;
    return;
  }
  applyEvent(event);
}

function applyEvent(event) {
  const data = event.data;
  if (!data || typeof data !== 'object') return;
  const topic = String(event.topic || '');
  switch (event.kind) {
    case 'service_status':
      if (typeof data.name !== 'string') return;
      if (!state.services.has(data.name)) render('serviceOptions');
      state.services.set(data.name, data);
      pushCheckLatencies(data);
      render('services', 'graph');
      return;
    case 'check_transition':
      applyCheckTransition(data);
      return;
    case 'alert_transition':
      state.alerts.set(alertKey(data), data);
      prune(state.alerts, (a) => a.state === 'resolved', (a) => a.resolved_at_ms || 0);
      state.alertsStatus = { unavailable: false, error: '' };
      render('alerts');
      return;
    case 'incident_opened':
    case 'incident_updated':
    case 'incident_resolved':
      if (data.id === undefined) return;
      state.incidents.set(String(data.id), data);
      prune(state.incidents, (i) => i.status === 'resolved', (i) => i.resolved_at_ms || 0);
      state.incidentsStatus = { unavailable: false, error: '' };
      render('incidents');
      return;
    case 'anomaly':
      state.anomalies.unshift({ ...data, seq: event.seq });
      state.anomalies.length = Math.min(state.anomalies.length, MAX_ANOMALIES);
      render('anomalies');
      return;
    case 'samples':
      if (topic === state.metricsTopic) applySamples(data);
      return;
    default:
      break;
  }
}

// Resolved alerts and incidents pile up in a page left open for weeks: keep the newest.
function prune(map, isDone, time) {
  if (map.size <= MAX_KEPT_ITEMS) return;
  const done = [...map.entries()].filter(([, v]) => isDone(v)).sort((a, b) => time(a[1]) - time(b[1]));
  for (const [key] of done.slice(0, map.size - MAX_KEPT_ITEMS)) map.delete(key);
}

function applyCheckTransition(data) {
  const service = state.services.get(data.service);
  if (!service) return;
  const checks = Array.isArray(service.checks) ? service.checks : [];
  const check = checks.find((c) => c.name === data.check);
  if (check) {
    // A copy, so the card's change detection sees a new object.
    const updated = { ...check, state: data.to, reason: data.reason ?? check.reason,
                      latency_ms: data.latency_ms ?? null, since_ms: data.at_ms ?? check.since_ms };
    state.services.set(data.service, { ...service, checks: checks.map((c) => (c === check ? updated : c)) });
    render('services', 'graph');
  }
  const spark = servicesView.sparkline(data.service);
  if (spark && Number.isFinite(data.latency_ms)) spark.push(Number(data.at_ms), data.latency_ms / 1000);
}

function pushCheckLatencies(service) {
  const spark = servicesView.sparkline(service.name);
  if (!spark || !Array.isArray(service.checks)) return;
  let at = 0;
  let worst = -Infinity;
  for (const c of service.checks) {
    if (!Number.isFinite(c.latency_ms) || !Number.isFinite(c.last_check_ms)) continue;
    at = Math.max(at, c.last_check_ms);
    worst = Math.max(worst, c.latency_ms);
  }
  if (at > spark.lastTime() && Number.isFinite(worst)) spark.push(at, worst / 1000);
}

function renderAnomalies() {
  const list = $('anomalies');
  clear(list);
  if (!state.anomalies.length) {
    list.append(h('li', { class: 'empty' }, 'None seen since this page opened.'));
    return;
  }
  for (const a of state.anomalies) {
    const labels = a.labels && typeof a.labels === 'object'
      ? Object.entries(a.labels).map(([k, v]) => `${k}="${v}"`).join(', ') : '';
    list.append(h('li', {}, h('strong', {}, a.service || '?'), ` ${labels} `,
      h('span', { class: 'muted' }, `score ${number(a.score, 2)} · value ${number(a.value)} · ${clock(a.at_ms)}`)));
  }
}

// --- metric explorer ------------------------------------------------------------------------

function defaultQuery(name) {
  return `probe_duration_seconds{service=${promString(name)}}`;
}

function fallbackQuery(name) {
  return `up{service=${promString(name)}}`;
}

function renderServiceOptions() {
  const select = $('query-service');
  const names = [...state.services.keys()].sort();
  const current = [...select.options].map((o) => o.value);
  if (current.length === names.length && current.every((n, i) => n === names[i])) return;
  clear(select);
  for (const name of names) select.append(h('option', { value: name }, name));
  select.value = state.selected;
}

function selectService(name) {
  if (!name || name === state.selected) return;
  const input = $('query-input');
  const current = input.value.trim();
  if (!current || current === defaultQuery(state.selected) || current === fallbackQuery(state.selected))
    input.value = defaultQuery(name);
  state.selected = name;
  $('query-service').value = name;
  servicesView.select(name);
  runQuery();
}

// The chart's live stream. A plain selector is narrowed by the server (metrics:<service>{...}),
// so the page receives only the series it draws; anything else takes the service's whole stream
// and re-queries.
function metricsTopic(service, query) {
  const whole = `metrics:${service}`;
  const selector = parseSelector(query);
  if (!selector) return whole;
  const matchers = [...(selector.name ? [['__name__', selector.name]] : []), ...selector.matchers];
  if (!matchers.some(([, value]) => value !== '')) return whole;  // the server refuses these
  const topic = `${whole}{${matchers.map(([k, v]) => `${k}=${promString(v)}`).join(',')}}`;
  return new TextEncoder().encode(topic).length <= MAX_TOPIC_BYTES ? topic : whole;
}

function liveTopics() {
  state.metricsTopic = state.selected
    ? metricsTopic(state.selected, $('query-input').value.trim()) : null;
  $('query-status').dataset.topic = state.metricsTopic || '';
  return [...BASE_TOPICS, ...(state.metricsTopic ? [state.metricsTopic] : [])];
}

async function runQuery() {
  live.setTopics(liveTopics());
  const query = $('query-input').value.trim();
  const seconds = Number($('query-range').value) || 900;
  const status = $('query-status');
  clearTimeout(state.requeryTimer);
  state.requeryTimer = null;
  if (!query) {
    chart.clear();
    setText(status, 'Enter a PromQL query.');
    return;
  }
  state.lastQueryAt = Date.now();
  const run = ++state.queryRun;
  setText(status, 'Running…');
  status.classList.remove('error');
  try {
    let result = await queryRange(query, { token: state.token, seconds, points: 300 });
    if (!result.length && query === defaultQuery(state.selected)) {
      // Services without probe timings (no health checks yet) still have their scrape's `up`.
      const fallback = fallbackQuery(state.selected);
      result = await queryRange(fallback, { token: state.token, seconds, points: 300 });
      if (result.length && run === state.queryRun) {
        $('query-input').value = fallback;
        live.setTopics(liveTopics());
      }
    }
    if (run !== state.queryRun) return;  // a newer query owns the chart
    const dropped = chart.load(result, seconds * 1000);
    setText(status, result.length
      ? `${result.length} series${dropped ? ` (${dropped} not drawn)` : ''} · live`
      : 'No data for this query yet.');
  } catch (error) {
    if (run !== state.queryRun) return;
    chart.clear();
    status.classList.add('error');
    setText(status, error instanceof ApiError && error.status === 404
      ? 'This server has no PromQL API (/api/v1/query_range).' : `Query failed: ${error.message}`);
  }
}

// Plain selectors extend the chart point by point; anything computed is re-run, throttled.
function applySamples(data) {
  const query = $('query-input').value.trim();
  const selector = parseSelector(query);
  const series = Array.isArray(data.series) ? data.series : [];
  if (selector) {
    const samples = series.filter((s) => s && s.labels && matchesSelector(selector, s.labels))
      .map((s) => ({ metric: s.labels, value: Number(s.value) }));
    if (samples.length) {
      batch.request('chartAppend', () => chart.append(Number(data.t_ms), samples));
      const status = $('query-status');
      status.dataset.liveSamples = String(Number(status.dataset.liveSamples || 0) + samples.length);
    }
    return;
  }
  if (state.requeryTimer) return;
  const wait = Math.max(0, state.lastQueryAt + REQUERY_INTERVAL_MS - Date.now());
  state.requeryTimer = setTimeout(() => {
    state.requeryTimer = null;
    runQuery();
  }, wait);
}

$('query-form').addEventListener('submit', (event) => {
  event.preventDefault();
  runQuery();
});
$('query-range').addEventListener('change', runQuery);
$('query-service').addEventListener('change', (event) => selectService(event.target.value));

// --- incident writes ------------------------------------------------------------------------

async function incidentWrite(id, action, body) {
  try {
    const data = await api('POST', `/api/incidents/${encodeURIComponent(id)}/${action}`,
                           { token: state.token, body });
    const incident = data && (data.incident || data);
    if (incident && incident.id !== undefined && incident.status) {
      state.incidents.set(String(incident.id), incident);
      render('incidents');
    }
  } catch (error) {
    noteAuthFailure(error);
    throw error;
  }
}

// --- start ----------------------------------------------------------------------------------

const live = new LiveConnection({
  onConnected: (fresh) => {
    if (fresh) fetchAll();
  },
  onEvent,
  onResync: fetchAll,
  onStatus: (connState, text) => {
    const conn = $('conn');
    conn.dataset.state = connState;
    setText(conn, text);
    if (connState === 'live') {
      clearInterval(state.pollTimer);
      state.pollTimer = null;
    } else if (connState === 'offline' && !state.pollTimer) {
      state.pollTimer = setInterval(fetchAll, OFFLINE_POLL_MS);
    }
  },
  onError: showError,
});

function start() {
  live.lastSeq = null;
  live.setTopics(liveTopics());
  live.start(state.token);
  fetchAll();
}

// "3s ago" texts age even without events.
setInterval(() => render('services', 'alerts', 'incidents'), 5000);
renderSession();
start();
