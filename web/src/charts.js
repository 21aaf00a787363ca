// uPlot wrappers: a tiny per-service latency sparkline and the metric explorer's chart. Both
// keep a bounded window of points, so a page left open for days stays the same size.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const SPARK_POINTS = 240;
const SPARK_WINDOW_MS = 15 * 60 * 1000;
const CHART_MAX_POINTS = 4000;
const CHART_MAX_SERIES = 12;
const PALETTE = ['#3b82f6', '#f97316', '#10b981', '#e11d48', '#a855f7', '#eab308',
                 '#06b6d4', '#84cc16', '#f43f5e', '#6366f1', '#14b8a6', '#d946ef'];

export class Sparkline {
  constructor(container) {
    this.times = [];
    this.values = [];
    this.plot = new uPlot({
      width: 220,
      height: 42,
      class: 'spark',
      pxAlign: false,
      cursor: { show: false },
      legend: { show: false },
      select: { show: false },
      scales: { x: { time: false }, y: { range: (u, min, max) => [0, Math.max(max * 1.15, 0.001)] } },
      axes: [{ show: false }, { show: false }],
      series: [{}, { stroke: '#3b82f6', width: 1.5, fill: 'rgba(59,130,246,0.12)', spanGaps: true }],
    }, [[], []], container);
  }

  // points: [[t_ms, seconds], ...] sorted by time.
  set(points) {
    this.times = points.map((p) => p[0]);
    this.values = points.map((p) => p[1]);
    this.trimAndDraw();
  }

  push(tMs, seconds) {
    if (!Number.isFinite(tMs) || !Number.isFinite(seconds)) return;
    const last = this.times.length ? this.times[this.times.length - 1] : -Infinity;
    if (tMs < last) return;
    if (tMs === last) this.values[this.values.length - 1] = seconds;
    else {
      this.times.push(tMs);
      this.values.push(seconds);
    }
    this.trimAndDraw();
  }

  lastTime() {
    return this.times.length ? this.times[this.times.length - 1] : 0;
  }

  trimAndDraw() {
    const cutoff = (this.times.length ? this.times[this.times.length - 1] : 0) - SPARK_WINDOW_MS;
    let drop = 0;
    while (drop < this.times.length && this.times[drop] < cutoff) ++drop;
    drop = Math.max(drop, this.times.length - SPARK_POINTS);
    if (drop > 0) {
      this.times.splice(0, drop);
      this.values.splice(0, drop);
    }
    this.plot.setData([this.times.map((t) => t / 1000), this.values]);
  }

  destroy() {
    this.plot.destroy();
  }
}

function seriesLabel(metric) {
  const name = metric.__name__ || '';
  const labels = Object.keys(metric).filter((k) => k !== '__name__').sort()
    .map((k) => `${k}="${metric[k]}"`).join(', ');
  return labels ? `${name}{${labels}}` : name || '{}';
}

export function labelKey(metric) {
  return JSON.stringify(Object.keys(metric).filter((k) => k !== '__name__').sort()
    .map((k) => [k, metric[k]]));
}

export class MetricChart {
  constructor(container) {
    this.container = container;
    this.plot = null;
    this.series = [];  // [{key, metric}]
    this.times = [];   // ms
    this.columns = []; // one array of values (or null) per series
    this.windowMs = 15 * 60 * 1000;
    this.resizeObserver = new ResizeObserver(() => {
      if (this.plot) this.plot.setSize(this.size());
    });
    this.resizeObserver.observe(container);
  }

  size() {
    return { width: Math.max(200, this.container.clientWidth), height: 260 };
  }

  // result: [{metric, points}] from queryRange; returns how many series were left out.
  load(result, windowMs) {
    this.windowMs = windowMs;
    const kept = result.slice(0, CHART_MAX_SERIES);
    this.series = kept.map((s) => ({ key: labelKey(s.metric), metric: s.metric }));
    const times = new Set();
    for (const s of kept) for (const [t] of s.points) times.add(t);
    this.times = [...times].sort((a, b) => a - b);
    const index = new Map(this.times.map((t, i) => [t, i]));
    this.columns = kept.map((s) => {
      const column = new Array(this.times.length).fill(null);
      for (const [t, v] of s.points) column[index.get(t)] = v;
      return column;
    });
    this.rebuild();
    return result.length - kept.length;
  }

  // samples: [{metric, value}] taken at tMs; only series already on the chart are extended.
  append(tMs, samples) {
    if (!this.plot || !this.series.length) return 0;
    const values = this.series.map(() => null);
    let matched = 0;
    for (const s of samples) {
      const i = this.series.findIndex((x) => x.key === labelKey(s.metric));
      if (i >= 0 && Number.isFinite(s.value)) {
        values[i] = s.value;
        ++matched;
      }
    }
    if (!matched) return 0;
    const last = this.times.length ? this.times[this.times.length - 1] : -Infinity;
    if (tMs < last) return 0;
    if (tMs === last) {
      values.forEach((v, i) => { if (v !== null) this.columns[i][this.columns[i].length - 1] = v; });
    } else {
      this.times.push(tMs);
      values.forEach((v, i) => this.columns[i].push(v));
    }
    const cutoff = tMs - this.windowMs;
    let drop = 0;
    while (drop < this.times.length && this.times[drop] < cutoff) ++drop;
    drop = Math.max(drop, this.times.length - CHART_MAX_POINTS);
    if (drop > 0) {
      this.times.splice(0, drop);
      for (const c of this.columns) c.splice(0, drop);
    }
    this.plot.setData(this.data());
    return matched;
  }

  data() {
    return [this.times.map((t) => t / 1000), ...this.columns];
  }

  rebuild() {
    if (this.plot) this.plot.destroy();
    this.plot = new uPlot({
      ...this.size(),
      legend: { live: true },
      scales: { x: { time: true } },
      series: [{}, ...this.series.map((s, i) => ({
        label: seriesLabel(s.metric),
        stroke: PALETTE[i % PALETTE.length],
        width: 1.5,
        spanGaps: true,
      }))],
    }, this.data(), this.container);
  }

  clear() {
    if (this.plot) this.plot.destroy();
    this.plot = null;
    this.series = [];
    this.times = [];
    this.columns = [];
  }
}
