// The trend charts (uPlot): titled axes, a keyboard-usable legend, a readout of the hovered
// hour, and a scale that clips rare peaks (a burst, the hour in progress) so that the rest of
// a week stays readable; the clipped hours are named under the chart, and one click shows the
// full scale again.

import { byId, clear, h } from "./dom.js";

const AXIS = {
  stroke: "#334155",
  grid: { stroke: "#e2e8f0", width: 1 },
  ticks: { stroke: "#cbd5e1", width: 1 },
  font: "12px system-ui, sans-serif",
  labelFont: "600 12px system-ui, sans-serif",
};
// Clip when the highest hour is this many times the 90th percentile, and few hours are above.
const PEAK_FACTOR = 2.5;
const MAX_CLIPPED_SHARE = 0.05;

const hourFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
});

function niceCeil(value) {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return 10 * magnitude;
}

/** Where to clip the scale, or null: only when a few hours dwarf the rest. */
export function clipLevel(values) {
  const positive = values.filter((v) => v > 0).sort((a, b) => a - b);
  if (positive.length < 6) return null;
  const p90 = positive[Math.floor(positive.length * 0.9) - 1] || positive[0];
  const max = positive[positive.length - 1];
  if (max <= PEAK_FACTOR * p90) return null;
  const level = niceCeil(p90 * 1.5);
  const above = positive.filter((v) => v > level).length;
  return above <= Math.max(1, MAX_CLIPPED_SHARE * values.length) ? level : null;
}

export class HourlyChart {
  /** name: the ids chart-NAME, readout-NAME, legend-NAME, note-NAME; yLabel: the y axis title. */
  constructor(name, { yLabel, formatValue, legend = false, fill = null, floor = 4 }) {
    Object.assign(this, { name, yLabel, formatValue, fill, floor });
    this.target = byId(`chart-${name}`);
    this.readout = byId(`readout-${name}`);
    this.legendEl = legend ? byId(`legend-${name}`) : null;
    this.note = byId(`note-${name}`);
    this.chart = null;
    this.shown = null;
    this.full = false;
    this.data = null;
  }

  /** x: hour starts (seconds); series: [{label, color, values}]. */
  draw(x, series) {
    this.data = { x, series };
    if (!this.shown || this.shown.length !== series.length) this.shown = series.map(() => true);
    this.plot();
    if (this.legendEl) this.drawLegend();
  }

  plot() {
    const { x, series } = this.data;
    this.destroy();
    if (typeof window.uPlot !== "function") {
      clear(this.target).append(h("p", { class: "empty", text: "Charts are unavailable in this browser." }));
      return;
    }
    if (!x.length) {
      clear(this.target).append(h("p", { class: "empty", text: "No data in this range." }));
      this.describeClip(null, []);
      return;
    }
    clear(this.target);
    const visible = series.filter((_, i) => this.shown[i]);
    const clip = clipLevel(visible.flatMap((s) => s.values));
    const top = (max) => (clip && !this.full ? clip : Math.max(max * 1.1, this.floor));
    const format = this.formatValue;
    const options = {
      width: Math.max(240, this.target.clientWidth),
      height: 230,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 7 } },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, top(max)] } },
      axes: [
        { ...AXIS, label: "Hour (your time zone)", labelSize: 22 },
        { ...AXIS, size: 60, label: this.yLabel, labelSize: 22, values: (u, ticks) => ticks.map(format) },
      ],
      series: [{}, ...series.map((s, i) => ({
        label: s.label, stroke: s.color, width: 2, fill: this.fill, show: this.shown[i],
        points: { show: x.length <= 48, size: 5 },
      }))],
      hooks: { setCursor: [(u) => this.showReadout(u)] },
    };
    this.chart = new window.uPlot(options, [x, ...series.map((s) => s.values)], this.target);
    this.describeClip(clip, visible);
  }

  showReadout(u) {
    const index = u.cursor.idx;
    if (index === null || index === undefined) {
      this.readout.textContent = "";
      return;
    }
    const when = hourFormat.format(new Date(u.data[0][index] * 1000));
    const values = u.series.slice(1).filter((s) => s.show)
      .map((s) => `${s.label} ${this.formatValue(u.data[u.series.indexOf(s)][index])}`);
    this.readout.textContent = `${when} · ${values.join(" · ")}`;
  }

  /** Under the chart: which hours go above a clipped scale, and a button for the full scale. */
  describeClip(clip, visible) {
    if (!this.note) return;
    if (!clip) {
      this.note.hidden = true;
      clear(this.note);
      return;
    }
    const above = [];
    for (const s of visible) {
      s.values.forEach((v, i) => {
        if (v > clip) above.push({ v, label: s.label, at: this.data.x[i] });
      });
    }
    above.sort((a, b) => b.v - a.v);
    const peak = above[0];
    const hours = above.length === 1 ? "1 hour goes" : `${above.length} hours go`;
    const text = this.full
      ? "Full scale: the highest hours set it. "
      : `Scale clipped at ${this.formatValue(clip)} so the other hours stay readable: ${hours} above it (highest: ${peak.label} ${this.formatValue(peak.v)}, ${hourFormat.format(new Date(peak.at * 1000))}). `;
    const button = h("button", {
      type: "button",
      class: "button button-small button-quiet",
      onclick: () => {
        this.full = !this.full;
        this.plot();
        this.note.querySelector("button").focus();
      },
      text: this.full ? "Clip the peaks" : "Show the full scale",
    });
    this.note.hidden = false;
    this.note.replaceChildren(text, button);
  }

  /** Each series a toggle button. */
  drawLegend() {
    this.legendEl.replaceChildren(...this.data.series.map((s, i) => {
      const button = h("button", {
        type: "button",
        class: "legend-toggle",
        "aria-pressed": String(this.shown[i]),
        onclick: () => {
          this.shown[i] = !this.shown[i];
          button.setAttribute("aria-pressed", String(this.shown[i]));
          this.plot();
        },
      }, h("span", { class: "swatch" }), s.label);
      button.firstChild.style.background = s.color;
      return button;
    }));
  }

  destroy() {
    if (this.chart) {
      this.chart.destroy();
      this.chart = null;
    }
  }

  resize() {
    if (!this.chart) return;
    const width = Math.max(240, this.target.clientWidth);
    if (Math.abs(this.chart.width - width) > 1) this.chart.setSize({ width, height: this.chart.height });
  }
}
