// chart.js: a small line chart on a <canvas>, no library.

const GRID_LINES = 4; // horizontal lines above zero

export class LineChart {
  // series: [{key, label, color}]; capacity: how many points it shows.
  constructor(canvas, series, capacity = 60) {
    this.canvas = canvas;
    this.series = series;
    this.capacity = capacity;
    this.points = []; // each {key: value}
    this.intervalSeconds = 0; // between points; 0 unknown
    // Redrawn at its new size when the page's width changes (a phone
    // turned, a window resized).
    if (typeof ResizeObserver === 'function') new ResizeObserver(() => this.draw()).observe(canvas);
  }

  push(point) {
    this.points.push(point);
    if (this.points.length > this.capacity) this.points.shift();
    this.draw();
  }

  clear() {
    this.points = [];
    this.draw();
  }

  // setInterval sets the time between points, which the window label and
  // the canvas's accessible name show.
  setInterval(seconds) {
    if (!(seconds > 0) || seconds === this.intervalSeconds) return;
    this.intervalSeconds = seconds;
    this.canvas.setAttribute('aria-label', `Messages per second, in and out, over the ${this.windowLabel()}`);
    this.draw();
  }

  // windowLabel is the time the full chart spans, e.g. "last 60 s", or ""
  // while the interval is unknown.
  windowLabel() {
    return this.intervalSeconds > 0 ? `last ${formatDuration(this.capacity * this.intervalSeconds)}` : '';
  }

  // gridLabels returns the labels of the horizontal grid lines, top first.
  gridLabels() {
    const { step } = gridScale(this.#max());
    return Array.from({ length: GRID_LINES + 1 }, (_, i) => formatNumber(step * (GRID_LINES - i)));
  }

  #max() {
    let max = 0;
    for (const p of this.points) for (const s of this.series) max = Math.max(max, p[s.key] || 0);
    return max;
  }

  draw() {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth || 300, h = c.clientHeight || 150;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const style = getComputedStyle(c);
    const pad = { l: 40, r: 8, t: 8, b: 18 };
    const { top } = gridScale(this.#max());
    const labels = this.gridLabels();
    // Axes and grid.
    g.strokeStyle = style.getPropertyValue('--grid') || '#ddd';
    g.fillStyle = style.getPropertyValue('--muted') || '#666';
    g.font = '11px system-ui, sans-serif';
    g.lineWidth = 1;
    for (let i = 0; i <= GRID_LINES; i++) {
      const y = pad.t + (h - pad.t - pad.b) * i / GRID_LINES;
      g.beginPath(); g.moveTo(pad.l, y); g.lineTo(w - pad.r, y); g.stroke();
      g.fillText(labels[i], 2, y + 4);
    }
    g.fillText(this.windowLabel(), pad.l, h - 4);
    const x = (i) => pad.l + (w - pad.l - pad.r) * i / Math.max(1, this.capacity - 1);
    const y = (v) => pad.t + (h - pad.t - pad.b) * (1 - v / top);
    const offset = this.capacity - this.points.length;
    for (const s of this.series) {
      g.strokeStyle = s.color;
      g.lineWidth = 2;
      g.beginPath();
      this.points.forEach((p, i) => {
        const px = x(offset + i), py = y(p[s.key] || 0);
        if (i === 0) g.moveTo(px, py); else g.lineTo(px, py);
      });
      g.stroke();
    }
  }
}

// gridScale picks the grid for values up to max: a step of 1, 2, 2.5 or 5
// times a power of ten, so that every line's label is short and exact, and
// the top line (GRID_LINES steps) at or above max. The smallest top is 1.
export function gridScale(max) {
  const want = Math.max(max, 1) / GRID_LINES;
  const e = 10 ** Math.floor(Math.log10(want));
  let step = 10 * e;
  for (const m of [1, 2, 2.5, 5]) {
    if (m * e >= want) { step = m * e; break; }
  }
  step = Number(step.toPrecision(12)); // 2.5 * 0.1 is 0.25, not 0.25000000000000006
  return { step, top: step * GRID_LINES };
}

// formatNumber formats a figure briefly: 1.5k, 2M, 0.25. Up to two
// decimals are kept, which is all the stream carries.
export function formatNumber(v) {
  const short = (x) => String(Number(x.toFixed(2)));
  if (Math.abs(v) >= 1e9) return short(v / 1e9) + 'G';
  if (Math.abs(v) >= 1e6) return short(v / 1e6) + 'M';
  if (Math.abs(v) >= 1e3) return short(v / 1e3) + 'k';
  return short(v);
}

// formatDuration formats a time span in seconds: "60 s", "5 min", "2 h".
export function formatDuration(seconds) {
  const short = (x) => String(Number(x.toFixed(1)));
  if (seconds < 120) return `${short(seconds)} s`;
  if (seconds < 7200) return `${short(seconds / 60)} min`;
  return `${short(seconds / 3600)} h`;
}
