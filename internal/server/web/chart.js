// chart.js: a small line chart on a <canvas>, no library.

export class LineChart {
  // series: [{key, label, color}]
  constructor(canvas, series, capacity = 60) {
    this.canvas = canvas;
    this.series = series;
    this.capacity = capacity;
    this.points = []; // each {key: value}
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
    let max = 1;
    for (const p of this.points) for (const s of this.series) max = Math.max(max, p[s.key] || 0);
    max = niceCeil(max);
    // Axes and grid.
    g.strokeStyle = style.getPropertyValue('--grid') || '#ddd';
    g.fillStyle = style.getPropertyValue('--muted') || '#666';
    g.font = '11px system-ui, sans-serif';
    g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = pad.t + (h - pad.t - pad.b) * i / 4;
      g.beginPath(); g.moveTo(pad.l, y); g.lineTo(w - pad.r, y); g.stroke();
      g.fillText(formatNumber(max * (4 - i) / 4), 2, y + 4);
    }
    g.fillText(`last ${this.capacity} s`, pad.l, h - 4);
    const x = (i) => pad.l + (w - pad.l - pad.r) * i / Math.max(1, this.capacity - 1);
    const y = (v) => pad.t + (h - pad.t - pad.b) * (1 - v / max);
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

function niceCeil(v) {
  const e = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * e >= v) return m * e;
  return 10 * e;
}

export function formatNumber(v) {
  if (v >= 1e9) return (v / 1e9).toFixed(1) + 'G';
  if (v >= 1e6) return (v / 1e6).toFixed(1) + 'M';
  if (v >= 1e3) return (v / 1e3).toFixed(1) + 'k';
  return String(Math.round(v * 10) / 10);
}
