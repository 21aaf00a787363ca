// The dashboard's pure modules under node's test runner: PromQL selector recognition, the
// dependency graph layout, alert identity, PromQL quoting and the WebSocket session's
// subscribe / resume / de-duplication logic (with a fake socket; no browser needed).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { promString } from '../../web/src/api.js';
import { alertKey } from '../../web/src/alerts.js';
import { layout } from '../../web/src/graph.js';
import { LiveConnection } from '../../web/src/live.js';
import { matchesSelector, parseSelector } from '../../web/src/selector.js';

test('parseSelector accepts plain equality selectors only', () => {
  assert.deepEqual(parseSelector('up'), { name: 'up', matchers: [] });
  assert.deepEqual(parseSelector(' probe_duration_seconds{service="a\\"b", check = "http",} '),
                   { name: 'probe_duration_seconds', matchers: [['service', 'a"b'], ['check', 'http']] });
  assert.deepEqual(parseSelector('{service="x"}'), { name: '', matchers: [['service', 'x']] });
  for (const q of ['rate(up[5m])', 'up{a=~"x"}', 'up{a!="x"}', 'up > 0', 'sum by (a) (up)', '{}',
                   'up{a="x"', 'up{a="x} ', '', 'by', 'up[5m]'])
    assert.equal(parseSelector(q), null, q);
});

test('matchesSelector compares the name and every matcher', () => {
  const s = parseSelector('up{service="shop"}');
  assert.ok(matchesSelector(s, { __name__: 'up', service: 'shop', job: 'x' }));
  assert.ok(!matchesSelector(s, { __name__: 'up', service: 'db' }));
  assert.ok(!matchesSelector(s, { __name__: 'down', service: 'shop' }));
  assert.ok(!matchesSelector(s, { service: 'shop' }));
  assert.ok(matchesSelector(parseSelector('{a=""}'), { __name__: 'x' }));  // absent label is ""
});

test('layout puts dependencies left of their dependents and survives cycles', () => {
  const services = new Map([
    ['web', { depends_on: ['api', 'db'] }],
    ['api', { depends_on: ['db', 'external'] }],
    ['db', { depends_on: [] }],
    ['a', { depends_on: ['b'] }],
    ['b', { depends_on: ['a', 'b'] }],
  ]);
  const g = layout(services);
  const x = (n) => g.position.get(n).x;
  assert.ok(x('db') < x('api') && x('api') < x('web'));
  assert.ok(x('external') < x('api'));
  assert.ok(!g.known.has('external') && g.known.has('db'));
  assert.deepEqual(g.deps.get('b'), ['a']);  // self edge dropped
  assert.ok(g.position.has('a') && g.position.has('b'));
  const spots = new Set([...g.position.values()].map((p) => `${p.x},${p.y}`));
  assert.equal(spots.size, g.position.size, 'no two nodes share a place');
  for (const p of g.position.values()) assert.ok(p.x < g.width && p.y < g.height);
});

test('layout copes with hostile depends_on values', () => {
  const g = layout(new Map([['x', { depends_on: 'db' }], ['y', { depends_on: [1, null, 'x', 'x'] }]]));
  assert.deepEqual(g.deps.get('x'), []);
  assert.deepEqual(g.deps.get('y'), ['x']);
});

test('alertKey identifies an alert by name, service and labels in any order', () => {
  const a = { alertname: 'Down', service: 's', labels: { a: '1', b: '2' }, state: 'firing' };
  const b = { alertname: 'Down', service: 's', labels: { b: '2', a: '1' }, state: 'resolved' };
  assert.equal(alertKey(a), alertKey(b));
  assert.notEqual(alertKey(a), alertKey({ ...a, service: 't' }));
});

test('promString quotes PromQL label values', () => {
  assert.equal(promString('a"b\\c\nd'), '"a\\"b\\\\c\\nd"');
});

function session() {
  globalThis.WebSocket = { OPEN: 1 };
  const seen = { events: [], resyncs: 0, connected: [], statuses: [], errors: [], sent: [] };
  const live = new LiveConnection({
    onConnected: (fresh) => seen.connected.push(fresh),
    onEvent: (e) => seen.events.push(e.seq),
    onResync: () => { seen.resyncs += 1; },
    onStatus: (s) => seen.statuses.push(s),
    onError: (m) => seen.errors.push(m),
  });
  live.socket = { readyState: 1, send: (m) => seen.sent.push(JSON.parse(m)) };
  live.setTopics(['services', 'alerts']);
  return { live, seen };
}

test('LiveConnection subscribes on hello, drops replayed events and resumes with since', () => {
  const { live, seen } = session();
  live.receive(JSON.stringify({ type: 'hello', version: '1', seq: 40 }));
  assert.deepEqual(seen.sent.at(-1), { type: 'subscribe', topics: ['services', 'alerts'] });
  assert.deepEqual(seen.connected, [true]);
  assert.equal(seen.statuses.at(-1), 'live');
  for (const seq of [41, 42, 42, 40, 43]) live.receive(JSON.stringify({ type: 'event', seq, topic: 'services' }));
  assert.deepEqual(seen.events, [41, 42, 43]);
  // A new socket after a drop: the hello is answered with since = the last seq seen.
  live.receive(JSON.stringify({ type: 'hello', seq: 50 }));
  assert.deepEqual(seen.sent.at(-1), { type: 'subscribe', topics: ['services', 'alerts'], since: 43 });
  assert.deepEqual(seen.connected, [true, false]);
  live.receive(JSON.stringify({ type: 'event', seq: 44 }));
  assert.deepEqual(seen.events, [41, 42, 43, 44]);
});

test('LiveConnection re-syncs when told its gap is too old, answers pings, survives junk', () => {
  const { live, seen } = session();
  live.receive(JSON.stringify({ type: 'hello', seq: 5 }));
  live.receive(JSON.stringify({ type: 'resync', seq: 900 }));
  assert.equal(seen.resyncs, 1);
  live.receive(JSON.stringify({ type: 'event', seq: 899 }));
  live.receive(JSON.stringify({ type: 'event', seq: 901 }));
  assert.deepEqual(seen.events, [901]);
  live.receive(JSON.stringify({ type: 'ping' }));
  assert.deepEqual(seen.sent.at(-1), { type: 'pong' });
  live.receive('not json');
  live.receive('null');
  live.receive('[1,2]');
  live.receive(JSON.stringify({ type: 'error', message: 'bad topic' }));
  assert.equal(seen.errors.length, 2);
  assert.match(seen.errors[1], /bad topic/);
});

test('LiveConnection changes topics with subscribe and unsubscribe once live', () => {
  const { live, seen } = session();
  live.setTopics(['services', 'metrics:a']);
  assert.equal(seen.sent.length, 0, 'nothing is sent before hello');
  live.receive(JSON.stringify({ type: 'hello', seq: 1 }));
  live.setTopics(['services', 'metrics:b']);
  assert.deepEqual(seen.sent.slice(-2), [{ type: 'unsubscribe', topics: ['metrics:a'] },
                                         { type: 'subscribe', topics: ['metrics:b'] }]);
});
