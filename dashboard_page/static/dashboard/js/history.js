// Trends: the time-range picker, totals over the range, the hourly charts and the department
// table, all fed by `request_historical` / `historical_data`. Every figure says its period.

import { HourlyChart } from "./charts.js";
import { allDepartments, departmentNames, learnNames } from "./departments.js";
import { byId, formatCount, formatMoney, h, isoWithOffset, parseTime, toLocalInput } from "./dom.js";
import { barWidth } from "./tile.js";

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
const SUMMARY = [
  { key: "newPatients", label: "New patients" },
  { key: "appointments", label: "Appointments scheduled" },
  { key: "completedAppointments", label: "Appointments completed" },
  { key: "emergencies", label: "Emergencies started" },
];
const DEPARTMENT_COLUMNS = [
  { key: "newPatients", label: "New patients", tone: "blue" },
  { key: "appointments", label: "Appointments", tone: "teal" },
  { key: "emergencies", label: "Emergencies", tone: "red" },
  { key: "revenueCents", label: "Revenue paid", tone: "teal", money: true },
];
const RANGE_ERRORS = {
  invalid_time_range: "That is not a valid date and time.",
  time_range_order: "The start must be before the end.",
  time_range_too_long: "Choose a range of at most 31 days.",
  time_range_in_future: "The range cannot end in the future.",
};
const PERIODS = { "24h": "last 24 h", "7d": "last 7 days" };

const rangeFormat = new Intl.DateTimeFormat(undefined, {
  month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
});
const hourFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
});
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

/** The start of the next whole hour: a range may end with the hour in progress, not later. */
function latestEnd(now) {
  const end = new Date(now);
  end.setMinutes(0, 0, 0);
  return end.getTime() === now.getTime() ? end : new Date(end.getTime() + HOUR_MS);
}

export class History {
  constructor({ send, currency }) {
    this.send = send;
    this.currency = currency; // () => the currency revenue is shown in
    this.requestId = null;
    this.data = null;
    this.period = PERIODS["24h"];
    this.refreshTimer = null;
    this.form = byId("range-form");
    this.customFields = byId("range-custom-fields");
    this.startInput = byId("range-start");
    this.endInput = byId("range-end");
    this.status = byId("history-range");
    this.error = byId("history-error");
    this.section = byId("history");
    this.activity = new HourlyChart("activity", { yLabel: "Count per hour", formatValue: formatCount, legend: true });
    this.revenue = new HourlyChart("revenue", {
      yLabel: "Paid per hour",
      formatValue: (value) => formatMoney(value * 100, this.currency(), "compact"),
      fill: "rgba(15, 118, 110, 0.12)",
      floor: 1,
    });
    this.form.addEventListener("change", (event) => {
      if (event.target.name === "range") this.rangeChosen();
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.request();
    });
    const resizer = new ResizeObserver(() => [this.activity, this.revenue].forEach((c) => c.resize()));
    for (const id of ["chart-activity", "chart-revenue"]) resizer.observe(byId(id));
  }

  get choice() {
    return new FormData(this.form).get("range") || "24h";
  }

  rangeChosen() {
    const custom = this.choice === "custom";
    this.customFields.hidden = !custom;
    if (custom) {
      if (!this.startInput.value || !this.endInput.value) {
        const end = latestEnd(new Date());
        this.endInput.value = toLocalInput(end);
        this.startInput.value = toLocalInput(new Date(end.getTime() - 2 * DAY_MS));
      }
      this.startInput.focus();
    } else {
      this.request();
    }
  }

  /** The range to ask for, or an error message (the server's rules, checked before sending). */
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
    const latest = latestEnd(now);
    if (end > latest) {
      return { error: `The range cannot end in the future: choose an end no later than ${timeOnly.format(latest)} today.` };
    }
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
    this.pendingPeriod = PERIODS[this.choice] || null;
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
    if (request && request.requestId !== this.requestId) return;
    this.section.removeAttribute("aria-busy");
    this.showError(null);
    this.data = message;
    learnNames(message.departmentMetrics);
    const range = message.timeRange || {};
    const start = parseTime(range.start);
    const end = parseTime(range.end);
    this.period = this.pendingPeriod || (start && end ? `${rangeFormat.format(start)} – ${rangeFormat.format(end)}` : "the range");
    this.status.textContent = this.describe(start, end);
    this.draw();
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
    const x = rows.map((row) => row.at.getTime() / 1000);
    this.activity.draw(x, ACTIVITY_SERIES.map((s) => ({ ...s, values: rows.map((row) => Number(row[s.key]) || 0) })));
    if (withRevenue) {
      this.revenue.draw(x, [{ label: "Revenue paid", color: "#0f766e", values: rows.map((row) => (Number(row.revenueCents) || 0) / 100) }]);
    } else {
      this.revenue.destroy();
    }
    drawDepartments(this.data.departmentMetrics || [], withRevenue, this.currency(), this.period);
    drawTable(rows, withRevenue, this.currency());
  }

  drawSummary(rows, withRevenue) {
    const sum = (key) => rows.reduce((total, row) => total + (Number(row[key]) || 0), 0);
    const items = SUMMARY.map((s) => [s.label, formatCount(sum(s.key))]);
    if (withRevenue) items.push(["Revenue paid", formatMoney(sum("revenueCents"), this.currency(), "whole")]);
    byId("history-summary").replaceChildren(...items.map(([label, value]) =>
      h("div", { class: "summary-item" },
        h("dt", {}, label, h("span", { class: "summary-period" }, h("span", { class: "visually-hidden", text: ", " }), this.period)),
        h("dd", { text: value }))));
  }
}

/** The department table: every department the page knows, zero where the range has none. */
function drawDepartments(rows, withRevenue, currency, period) {
  const columns = DEPARTMENT_COLUMNS.filter((c) => withRevenue || !c.money);
  const byCode = new Map(rows.map((row) => [row.departmentId, row]));
  // Every department the page knows, zero where the range has nothing for it.
  const all = allDepartments(rows.map((row) => row.departmentId).filter(Boolean))
    .map((code) => byCode.get(code) || { departmentId: code, name: departmentNames.get(code) });
  const max = Object.fromEntries(columns.map((c) =>
    [c.key, Math.max(1, ...all.map((row) => Number(row[c.key]) || 0))]));
  const head = h("thead", {}, h("tr", {},
    h("th", { scope: "col", text: "Department" }),
    columns.map((c) => h("th", { scope: "col", class: "num", text: c.label }))));
  const body = h("tbody", {}, all.length ? all.map((row) => h("tr", { dataset: { department: row.departmentId } },
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
  byId("department-title").textContent = `By department, ${period}`;
  byId("department-table").replaceChildren(
    h("caption", { class: "visually-hidden", text: `Activity by department, ${period}` }), head, body);
}

/** Every hour's row, newest first: the charts' data for anyone who cannot use them. */
function drawTable(rows, withRevenue, currency) {
  const columns = [...ACTIVITY_SERIES, ...(withRevenue ? [{ key: "revenueCents", label: "Revenue paid", money: true }] : [])];
  byId("hourly-table").replaceChildren(
    h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Hour" }),
      columns.map((c) => h("th", { scope: "col", class: "num", text: c.label })))),
    h("tbody", {}, [...rows].reverse().map((row) => h("tr", {},
      h("th", { scope: "row", text: hourFormat.format(row.at) }),
      columns.map((c) => h("td", { class: "num", text: c.money ? formatMoney(Number(row[c.key]) || 0, currency, "whole") : formatCount(Number(row[c.key]) || 0) }))))));
}
