// The dependency graph: services in columns by dependency depth (what others depend on sits on
// the left), edges from a service to what it needs. Laid out again only when the set of services
// or edges changes; state changes only recolour nodes.

import { clear, h } from './dom.js';
import { stateOf } from './state.js';

const SVG = 'http://www.w3.org/2000/svg';
const NODE_W = 140;
const NODE_H = 28;
const COL_GAP = 70;
const ROW_GAP = 14;
const PAD = 10;
const MAX_NODES = 300;

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

function truncate(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

// Depth = longest chain of dependencies below a node; a cycle is cut where it is found.
export function layout(services) {
  const names = [...services.keys()].sort();
  const deps = new Map();
  const all = new Set(names);
  for (const name of names) {
    const list = services.get(name).depends_on;
    const d = Array.isArray(list) ? [...new Set(list.filter((x) => typeof x === 'string' && x !== name))] : [];
    deps.set(name, d);
    for (const x of d) all.add(x);
  }
  for (const x of all) if (!deps.has(x)) deps.set(x, []);
  const depth = new Map();
  const visiting = new Set();
  const depthOf = (n) => {
    if (depth.has(n)) return depth.get(n);
    if (visiting.has(n)) return 0;
    visiting.add(n);
    let d = 0;
    for (const x of deps.get(n)) d = Math.max(d, depthOf(x) + 1);
    visiting.delete(n);
    depth.set(n, d);
    return d;
  };
  const columns = [];
  for (const n of [...all].sort()) {
    const d = depthOf(n);
    (columns[d] ||= []).push(n);
  }
  const row = new Map();
  columns.forEach((column, c) => {
    if (c > 0) {
      // Barycentre ordering: place each node near what it depends on, fewer crossings.
      const centre = (n) => {
        const rows = deps.get(n).filter((x) => row.has(x)).map((x) => row.get(x));
        return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : Infinity;
      };
      column.sort((a, b) => centre(a) - centre(b) || a.localeCompare(b));
    }
    column.forEach((n, r) => row.set(n, r));
  });
  const position = new Map();
  columns.forEach((column, c) => column.forEach((n, r) => position.set(n, {
    x: PAD + c * (NODE_W + COL_GAP), y: PAD + r * (NODE_H + ROW_GAP) })));
  const rows = Math.max(1, ...columns.map((c) => c.length));
  return {
    position, deps, known: new Set(names),
    width: PAD * 2 + columns.length * NODE_W + Math.max(0, columns.length - 1) * COL_GAP,
    height: PAD * 2 + rows * NODE_H + (rows - 1) * ROW_GAP + NODE_H,
  };
}

export class GraphView {
  constructor(container) {
    this.container = container;
    this.signature = null;
    this.nodes = new Map();
  }

  render(services) {
    const signature = JSON.stringify([...services.keys()].sort()
      .map((n) => [n, services.get(n).depends_on || []]));
    if (signature !== this.signature) {
      this.signature = signature;
      this.build(services);
    }
    for (const [name, node] of this.nodes) {
      const service = services.get(name);
      const state = service ? stateOf(service.state) : 'missing';
      node.setAttribute('class', `node state-${state}`);
      node.dataset.state = state;
    }
  }

  build(services) {
    clear(this.container);
    this.nodes.clear();
    if (!services.size) {
      this.container.append(h('p', { class: 'empty' }, 'No services.'));
      return;
    }
    if (services.size > MAX_NODES) {
      this.container.append(h('p', { class: 'empty' }, `${services.size} services: too many to draw.`));
      return;
    }
    const g = layout(services);
    const hasEdges = [...g.deps.values()].some((d) => d.length);
    const root = svg('svg', { viewBox: `0 0 ${g.width} ${g.height}`, width: g.width, height: g.height,
                              role: 'img', 'aria-label': 'service dependency graph' },
      svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 8 8', refX: 8, refY: 4,
                                      markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        svg('path', { d: 'M0,0 L8,4 L0,8 z', class: 'arrow' }))));
    for (const [from, targets] of g.deps) {
      const a = g.position.get(from);
      for (const to of targets) {
        const b = g.position.get(to);
        const x1 = a.x;
        const y1 = a.y + NODE_H / 2;
        const x2 = b.x + NODE_W;
        const y2 = b.y + NODE_H / 2;
        const bend = Math.max(20, Math.abs(x1 - x2) / 2);
        // An edge skipping columns arcs below the row so it does not run under the nodes between.
        const skips = Math.abs(x1 - x2) > NODE_W + COL_GAP + 1;
        const dip = skips ? NODE_H / 2 + ROW_GAP / 2 + 4 : 0;
        root.append(svg('path', { class: 'edge', 'marker-end': 'url(#arrow)',
          d: `M${x1},${y1} C${x1 - bend},${y1 + dip * 2} ${x2 + bend},${y2 + dip * 2} ${x2},${y2}` }));
      }
    }
    for (const [name, p] of g.position) {
      const title = svg('title', {});
      title.textContent = g.known.has(name) ? name : `${name} (not watched)`;
      const label = svg('text', { x: p.x + 22, y: p.y + NODE_H / 2 + 4 });
      label.textContent = truncate(name, 17);
      const node = svg('g', { class: 'node', 'data-node': name }, title,
        svg('rect', { x: p.x, y: p.y, width: NODE_W, height: NODE_H, rx: 6 }),
        svg('circle', { cx: p.x + 11, cy: p.y + NODE_H / 2, r: 5 }), label);
      this.nodes.set(name, node);
      root.append(node);
    }
    this.container.append(root);
    if (!hasEdges) this.container.append(h('p', { class: 'muted' }, 'No dependencies declared (depends_on).'));
  }
}
