// Trends: the time-range picker, the hourly charts (uPlot) and the department table, all fed by
// `request_historical` / `historical_data`.

import { byId, clear, formatCount, formatMoney, h, isoWithOffset, parseTime, toLocalInput } from "./dom.js";
import { barWidth, departmentNames } from "./tiles.js";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const MAX_RANGE_MS = 31 * DAY_MS;
// Relative ranges slide forward on their own; historical values are cached for 5 minutes.
const AUTO_REFRESH_MS = 5 * 60_000;

const ACTIVITY_SERIES = [
  { key: "newPatients", label: "New patients", color: "#1d4ed8" },
  { key: "appointments", label: "Appointments", color: "#0f766e" },
  { key: "completedAppointments", label: "Completed", color: "#7c3aed" },
  { key: "emergencies", label: "Emergencies", color: "#b91c1c" },
];
const REVENUE_COLOR = "#0f766e";
const DEPARTMENT_COLUMNS = [
  { key: "newPatients", label: "New patients", tone: "blue" },
  { key: "appointments", label: "Appointments", tone: "teal" },
  { key: "emergencies", label: "Emergencies", tone: "red" },
  { key: "revenueCents", label: "Revenue", tone: "teal", money: true },
];
const RANGE_ERRORS = {
  invalid_time_range: "That is not a valid date and time.",
  time_range_order: "The start must be before the end.",
  time_range_too_long: "Choose a range of at most 31 days.",
  time_range_in_future: "The range must not start in the future.",
};

const rangeFormat = new Intl.DateTimeFormat(undefined, {
  month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
});
const hourFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
});

export class History {
  constructor({ send, currency }) {
    this.send = send;
    this.currency = currency; // () => the currency revenue is shown in
    this.requestId = null;
    this.data = null;
    this.charts = {};
    this.refreshTimer = null;
    this.form = byId("range-form");
    this.customFields = byId("range-custom-fields");
    this.startInput = byId("range-start");
    this.endInput = byId("range-end");
    this.status = byId("history-range");
    this.error = byId("history-error");
    this.section = byId("history");
    this.form.addEventListener("change", (event) => {
      if (event.target.name === "range") this.rangeChosen();
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.request();
    });
    this.resizer = new ResizeObserver(() => this.resize());
    for (const id of ["chart-activity", "chart-revenue"]) this.resizer.observe(byId(id));
  }

  get choice() {
    return new FormData(this.form).get("range") || "24h";
  }

  rangeChosen() {
    const custom = this.choice === "custom";
    this.customFields.hidden = !custom;
    if (custom) {
      if (!this.startInput.value || !this.endInput.value) {
        const end = new Date();
        end.setMinutes(0, 0, 0);
        this.endInput.value = toLocalInput(new Date(end.getTime() + HOUR_MS));
        this.startInput.value = toLocalInput(new Date(end.getTime() - 2 * DAY_MS));
      }
      this.startInput.focus();
    } else {
      this.request();
    }
  }

  /** The range to ask for, or an error message. */
  range() {
    const now = new Date();
    if (this.choice === "24h") return { start: new Date(now.getTime() - DAY_MS), end: now };
    if (this.choice === "7d") return { start: new Date(now.getTime() - 7 * DAY_MS), end: now };
    const start = this.startInput.value ? new Date(this.startInput.value) : null;
    const end = this.endInput.value ? new Date(this.endInput.value) : null;
    if (!start || !end || Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) {
      return { error: "Enter a start and an end date and time." };
    }
    if (start >= end) return { error: RANGE_ERRORS.time_range_order };
    if (end - start > MAX_RANGE_MS) return { error: RANGE_ERRORS.time_range_too_long };
    if (start > now) return { error: RANGE_ERRORS.time_range_in_future };
    return { start, end };
  }

  /** Ask the server for the chosen range (also on every (re)connect). */
  request() {
    const range = this.range();
    if (range.error) {
      this.showError(range.error);
      return;
    }
    this.showError(null);
    this.section.setAttribute("aria-busy", "true");
    this.status.textContent = `Loading ${this.describe(range.start, range.end)}…`;
    this.requestId = this.send({
      type: "request_historical",
      timeRange: { start: isoWithOffset(range.start), end: isoWithOffset(range.end) },
    });
    clearTimeout(this.refreshTimer);
    if (this.choice !== "custom") this.refreshTimer = setTimeout(() => this.request(), AUTO_REFRESH_MS);
  }

  stop() {
    clearTimeout(this.refreshTimer);
    this.requestId = null;
  }

  /** A server `error` answering one of our requests. */
  failed(message, request) {
    if (!request || request.requestId !== this.requestId) return;
    this.section.removeAttribute("aria-busy");
    this.showError(RANGE_ERRORS[message.code] || message.message || "The trends could not be loaded.");
  }

  received(message, request) {
    // Only the answer to the latest request counts (an older one may arrive after it).
    if (request && request.requestId !== this.requestId) return false;
    this.section.removeAttribute("aria-busy");
    this.showError(null);
    this.data = message;
    let learned = false;
    for (const row of message.departmentMetrics || []) {
      if (row.departmentId && row.name && departmentNames.get(row.departmentId) !== row.name) {
        departmentNames.set(row.departmentId, row.name);
        learned = true;
      }
    }
    const range = message.timeRange || {};
    this.status.textContent = this.describe(parseTime(range.start), parseTime(range.end));
    this.draw();
    return learned;
  }

  describe(start, end) {
    if (!start || !end) return "";
    return `${rangeFormat.format(start)} – ${rangeFormat.format(end)}`;
  }

  showError(text) {
    this.error.hidden = !text;
    this.error.textContent = text || "";
  }

  // --- drawing -----------------------------------------------------------------------------------
  draw() {
    if (!this.data) return;
    const rows = (this.data.hourlyStats || [])
      .map((row) => ({ ...row, at: parseTime(row.hour) }))
      .filter((row) => row.at)
      .sort((a, b) => a.at - b.at);
    const withRevenue = rows.some((row) => "revenueCents" in row) ||
      (this.data.departmentMetrics || []).some((row) => "revenueCents" in row);
    this.section.classList.toggle("has-revenue", withRevenue);
    byId("chart-card-revenue").hidden = !withRevenue;
    this.drawSummary(rows, withRevenue);
    this.drawActivity(rows);
    if (withRevenue) this.drawRevenue(rows);
    else this.destroy("revenue");
    this.drawDepartments(this.data.departmentMetrics || [], withRevenue);
    this.drawTable(rows, withRevenue);
  }

  drawSummary(rows, withRevenue) {
    const sum = (key) => rows.reduce((total, row) => total + (Number(row[key]) || 0), 0);
    const items = ACTIVITY_SERIES.map((s) => [s.label, formatCount(sum(s.key))]);
    if (withRevenue) items.push(["Revenue", formatMoney(sum("revenueCents"), this.currency(), "whole")]);
    byId("history-summary").replaceChildren(...items.map(([label, value]) =>
      h("div", { class: "summary-item" }, h("dt", { text: label }), h("dd", { text: value }))));
  }

  drawActivity(rows) {
    const x = rows.map((row) => row.at.getTime() / 1000);
    const data = [x, ...ACTIVITY_SERIES.map((s) => rows.map((row) => Number(row[s.key]) || 0))];
    this.plot("activity", data, ACTIVITY_SERIES.map((s) => ({
      label: s.label, stroke: s.color, width: 2, points: { show: rows.length <= 48, size: 5 },
    })), (value) => formatCount(value));
    this.legend("activity", ACTIVITY_SERIES);
  }

  drawRevenue(rows) {
    const x = rows.map((row) => row.at.getTime() / 1000);
    const currency = this.currency();
    const data = [x, rows.map((row) => (Number(row.revenueCents) || 0) / 100)];
    this.plot("revenue", data, [{
      label: "Revenue", stroke: REVENUE_COLOR, width: 2, fill: "rgba(15, 118, 110, 0.12)", points: { show: false },
    }], (value) => formatMoney(value * 100, currency, "compact"));
  }

  plot(name, data, series, formatValue) {
    const target = byId(`chart-${name}`);
    if (typeof window.uPlot !== "function") {
      clear(target).append(h("p", { class: "empty", text: "Charts are unavailable in this browser." }));
      return;
    }
    const shown = this.charts[name] ? this.charts[name].series.slice(1).map((s) => s.show) : null;
    this.destroy(name);
    if (!data[0].length) {
      clear(target).append(h("p", { class: "empty", text: "No data in this range." }));
      return;
    }
    clear(target);
    const readout = byId(`readout-${name}`);
    const axis = { stroke: "#334155", grid: { stroke: "#e2e8f0", width: 1 }, ticks: { stroke: "#cbd5e1", width: 1 }, font: "12px system-ui, sans-serif" };
    const options = {
      width: Math.max(240, target.clientWidth),
      height: 220,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 7 } },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(max * 1.1, name === "revenue" ? 1 : 4)] } },
      axes: [axis, { ...axis, size: 56, values: (u, ticks) => ticks.map(formatValue) }],
      series: [{}, ...series.map((s, i) => ({ ...s, show: shown ? shown[i] !== false : true }))],
      hooks: {
        setCursor: [(u) => {
          const index = u.cursor.idx;
          if (index === null || index === undefined) {
            readout.textContent = "";
            return;
          }
          const when = hourFormat.format(new Date(u.data[0][index] * 1000));
          const values = u.series.slice(1).filter((s) => s.show)
            .map((s) => `${s.label} ${formatValue(u.data[u.series.indexOf(s)][index])}`);
          readout.textContent = `${when} · ${values.join(" · ")}`;
        }],
      },
    };
    this.charts[name] = new window.uPlot(options, data, target);
  }

  /** A keyboard-usable legend: each series is a toggle button. */
  legend(name, series) {
    const container = byId(`legend-${name}`);
    const chart = this.charts[name];
    container.replaceChildren(...series.map((s, i) => {
      const shown = !chart || chart.series[i + 1].show;
      const button = h("button", {
        type: "button",
        class: "legend-toggle",
        "aria-pressed": String(shown),
        onclick: () => {
          const current = this.charts[name];
          if (!current) return;
          const show = !current.series[i + 1].show;
          current.setSeries(i + 1, { show });
          button.setAttribute("aria-pressed", String(show));
        },
      }, h("span", { class: "swatch" }), s.label);
      button.firstChild.style.background = s.color;
      return button;
    }));
  }

  destroy(name) {
    if (this.charts[name]) {
      this.charts[name].destroy();
      delete this.charts[name];
    }
  }

  resize() {
    for (const [name, chart] of Object.entries(this.charts)) {
      const width = Math.max(240, byId(`chart-${name}`).clientWidth);
      if (Math.abs(chart.width - width) > 1) chart.setSize({ width, height: chart.height });
    }
  }

  drawDepartments(rows, withRevenue) {
    const columns = DEPARTMENT_COLUMNS.filter((c) => withRevenue || !c.money);
    const currency = this.currency();
    const max = Object.fromEntries(columns.map((c) =>
      [c.key, Math.max(1, ...rows.map((row) => Number(row[c.key]) || 0))]));
    const table = byId("department-table");
    const head = h("thead", {}, h("tr", {},
      h("th", { scope: "col", text: "Department" }),
      columns.map((c) => h("th", { scope: "col", class: "num", text: c.label }))));
    const body = h("tbody", {}, rows.length ? rows.map((row) => h("tr", { dataset: { department: row.departmentId } },
      h("th", { scope: "row" },
        h("span", { class: "dept-code", text: row.departmentId }),
        row.name ? h("span", { class: "dept-name", text: row.name }) : null),
      columns.map((c) => {
        const value = Number(row[c.key]) || 0;
        const fill = h("span", { class: `bar-fill tone-${c.tone}` });
        fill.style.width = barWidth(value / max[c.key]);
        return h("td", { class: "num" },
          h("span", { class: "cell-bar" },
            h("span", { class: "bar-track", "aria-hidden": "true" }, fill),
            h("span", { class: "cell-value", text: c.money ? formatMoney(value, currency, "whole") : formatCount(value) })));
      }))) : h("tr", {}, h("td", { colspan: columns.length + 1, class: "empty", text: "No departments" })));
    table.replaceChildren(h("caption", { class: "visually-hidden", text: "Activity by department over the chosen range" }), head, body);
  }

  drawTable(rows, withRevenue) {
    const columns = [...ACTIVITY_SERIES, ...(withRevenue ? [{ key: "revenueCents", label: "Revenue", money: true }] : [])];
    const currency = this.currency();
    byId("hourly-table").replaceChildren(
      h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Hour" }),
        columns.map((c) => h("th", { scope: "col", class: "num", text: c.label })))),
      h("tbody", {}, [...rows].reverse().map((row) => h("tr", {},
        h("th", { scope: "row", text: hourFormat.format(row.at) }),
        columns.map((c) => h("td", { class: "num", text: c.money ? formatMoney(Number(row[c.key]) || 0, currency, "whole") : formatCount(Number(row[c.key]) || 0) }))))));
  }
}
