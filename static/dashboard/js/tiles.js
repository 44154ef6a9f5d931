// The six live tiles. Each keeps its last value, redraws on change, marks what changed for a
// moment, and shows when the value was last updated and whether it is stale.

import { clear, formatAge, formatClock, formatCount, formatMoney, formatPercent, h, humanize, parseTime } from "./dom.js";

const HIGHLIGHT_MS = 1_600;

const APPOINTMENT_STATUSES = ["scheduled", "checked_in", "completed", "cancelled", "no_show"];
const STAFF_STATUSES = ["on_duty", "on_break", "off_duty"];
const STAFF_ROLES = ["doctor", "nurse", "technician", "admin"];
const STATUS_TONES = {
  scheduled: "blue",
  checked_in: "violet",
  completed: "teal",
  cancelled: "slate",
  no_show: "amber",
  on_duty: "teal",
  on_break: "amber",
  off_duty: "slate",
};

/** Department code → full name, filled in from departmentMetrics rows as they arrive. */
export const departmentNames = new Map();

function departmentLabel(code) {
  const name = departmentNames.get(code);
  return h("span", { class: "dept", title: name || null },
    h("span", { class: "dept-code", text: code }),
    name ? h("span", { class: "dept-name", text: name }) : null);
}

function changedKeys(previous, next) {
  const keys = new Set();
  if (!previous) return keys;
  for (const key of new Set([...Object.keys(previous || {}), ...Object.keys(next || {})])) {
    if (JSON.stringify(previous[key]) !== JSON.stringify(next[key])) keys.add(key);
  }
  return keys;
}

function ordered(object, preferred = []) {
  const keys = Object.keys(object || {});
  const known = preferred.filter((k) => keys.includes(k));
  const rest = keys.filter((k) => !preferred.includes(k)).sort();
  return [...known, ...rest];
}

function number(value) {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

/** A bar's width: a sliver for any non-zero value, nothing for zero. */
export function barWidth(fraction) {
  const clamped = Math.max(0, Math.min(1, Number(fraction) || 0));
  return clamped > 0 ? `max(3px, ${clamped * 100}%)` : "0";
}

function section(title, content) {
  return h("div", { class: "tile-section" }, h("h3", { class: "tile-subtitle", text: title }), content);
}

/** A list of labelled horizontal bars: rows [{key, label, value, text, fraction, tone}]. */
function barList(rows, { changed = new Set(), label, empty = "Nothing to show" } = {}) {
  if (!rows.length) return h("p", { class: "empty", text: empty });
  return h("ul", { class: "bars", "aria-label": label },
    rows.map((row) => {
      const fill = h("span", { class: `bar-fill tone-${row.tone || "blue"}` });
      fill.style.width = barWidth(row.fraction);
      return h("li", { class: changed.has(row.key) ? "bar-row is-changed" : "bar-row", dataset: { key: row.key } },
        h("span", { class: "bar-label" }, row.label),
        h("span", { class: "bar-track", "aria-hidden": "true" }, fill),
        h("span", { class: "bar-value", text: row.text }));
    }));
}

/** One bar split into segments, with a legend that carries the numbers. */
function stackedBar(counts, order, { changed = new Set(), label }) {
  const keys = ordered(counts, order);
  const total = keys.reduce((sum, key) => sum + number(counts[key]), 0);
  const bar = h("div", { class: "stack", "aria-hidden": "true" });
  const legend = h("ul", { class: "legend", "aria-label": label });
  for (const key of keys) {
    const value = number(counts[key]);
    const tone = STATUS_TONES[key] || "blue";
    if (value > 0 && total > 0) {
      const segment = h("span", { class: `stack-seg tone-${tone}` });
      segment.style.width = `${(value / total) * 100}%`;
      bar.append(segment);
    }
    legend.append(h("li", { class: changed.has(key) ? "legend-item is-changed" : "legend-item", dataset: { key } },
      h("span", { class: `swatch tone-${tone}`, "aria-hidden": "true" }),
      h("span", { class: "legend-label", text: humanize(key) }),
      h("span", { class: "legend-value", text: formatCount(value) })));
  }
  return h("div", { class: "stacked" }, bar, legend);
}

function headline(value, caption, { changed = false, tone = null } = {}) {
  return h("p", { class: "headline" },
    h("span", { class: `headline-value${changed ? " is-changed" : ""}${tone ? ` tone-text-${tone}` : ""}`, dataset: { role: "headline" }, text: value }),
    h("span", { class: "headline-caption", text: caption }));
}

function occupancyTone(rate) {
  if (rate >= 0.9) return "red";
  if (rate >= 0.75) return "amber";
  return "teal";
}

function rateOf(entry) {
  const beds = number(entry && entry.beds);
  if (beds > 0) return number(entry.occupiedBeds) / beds;
  const rate = number(entry && entry.occupancyRate);
  return rate > 1 ? rate / 100 : rate;
}

class Tile {
  constructor(metric, title, context) {
    this.metric = metric;
    this.context = context;
    this.value = null;
    this.changedAt = null;
    this.highlightTimer = null;
    const headingId = `tile-${metric}-title`;
    this.staleBadge = h("span", {
      class: "badge badge-stale",
      hidden: true,
      title: "Shown from cache: the hospital database is not answering right now",
      text: "Stale",
    });
    this.time = h("time", { class: "tile-time" });
    this.age = h("span", { class: "tile-age" });
    this.body = h("div", { class: "tile-body" }, h("p", { class: "loading", text: "Loading…" }));
    this.el = h("section", { class: `tile tile-${metric}`, "aria-labelledby": headingId, dataset: { metric, state: "loading" } },
      h("header", { class: "tile-head" },
        h("h2", { id: headingId, class: "tile-title", text: title }),
        this.staleBadge),
      this.body,
      h("footer", { class: "tile-foot" }, h("span", { text: "Updated " }), this.time, this.age));
  }

  update({ data, updatedAt, stale }) {
    const previous = this.value;
    const changed = previous !== null && JSON.stringify(previous.data) !== JSON.stringify(data);
    this.value = { data, updatedAt, stale: Boolean(stale) };
    if (previous === null || changed) this.changedAt = parseTime(updatedAt) || new Date();
    this.el.dataset.state = "ready";
    this.el.classList.toggle("is-stale", Boolean(stale));
    this.staleBadge.hidden = !stale;
    this.el.dataset.stale = stale ? "true" : "false";
    if (previous === null || changed) this.draw(data, changed ? previous.data : null);
    this.tick();
    if (changed) this.flash();
  }

  /** Redraw with the current value (e.g. after department names arrived). */
  redraw() {
    if (this.value) this.draw(this.value.data, null);
  }

  draw(data, previous) {
    clear(this.body).append(...[].concat(this.render(data || {}, previous)));
  }

  tick(now = Date.now()) {
    if (!this.changedAt) return;
    this.time.dateTime = this.changedAt.toISOString();
    this.time.textContent = formatClock(this.changedAt);
    this.age.textContent = ` · ${formatAge(this.changedAt, now)}`;
  }

  flash() {
    this.el.classList.remove("is-changed");
    void this.el.offsetWidth; // restart the animation
    this.el.classList.add("is-changed");
    clearTimeout(this.highlightTimer);
    this.highlightTimer = setTimeout(() => {
      for (const el of [this.el, ...this.el.querySelectorAll(".is-changed")]) el.classList.remove("is-changed");
    }, HIGHLIGHT_MS);
  }
}

class PatientCountTile extends Tile {
  constructor(context) {
    super("patientCount", "Patients in care", context);
  }

  render(data, previous) {
    const byDepartment = data.byDepartment || {};
    const changed = changedKeys(previous && previous.byDepartment, byDepartment);
    const codes = ordered(byDepartment);
    const max = Math.max(1, ...codes.map((c) => number(byDepartment[c])));
    return [
      headline(formatCount(number(data.total)), "admitted or outpatient",
        { changed: Boolean(previous) && previous.total !== data.total }),
      barList(codes.map((code) => ({
        key: code,
        label: departmentLabel(code),
        value: number(byDepartment[code]),
        text: formatCount(number(byDepartment[code])),
        fraction: number(byDepartment[code]) / max,
        tone: "blue",
      })), { changed, label: "Patients by department", empty: "No departments" }),
    ];
  }
}

class EmergencyAlertsTile extends Tile {
  constructor(context) {
    super("emergencyAlerts", "Emergency alerts", context);
    this.acknowledging = new Set();
    this.message = h("p", { class: "tile-message", role: "status" });
    this.list = null;
    this.more = null;
    window.addEventListener("resize", () => this.describeOverflow());
  }

  render(data) {
    const alerts = [...(data.alerts || [])].sort((a, b) =>
      String(b.startedAt || "").localeCompare(String(a.startedAt || "")));
    const total = number(data.total);
    const open = alerts.filter((a) => !a.acknowledgedAt).length;
    const caption = total === 1 ? "open emergency" : "open emergencies";
    const parts = [headline(formatCount(total), caption, { tone: total > 0 ? "red" : null })];
    if (alerts.length && open < alerts.length) {
      parts.push(h("p", { class: "subtle", text: `${formatCount(alerts.length - open)} acknowledged, ${formatCount(open)} waiting` }));
    }
    if (!alerts.length) {
      parts.push(h("p", { class: "empty", text: "No open emergencies" }));
    } else {
      this.list = h("ol", { class: "alerts", "aria-label": "Open emergencies, newest first" },
        alerts.map((alert) => this.alertItem(alert)));
      this.more = h("p", { class: "subtle alerts-more", hidden: true });
      this.more.dataset.listed = String(alerts.length);
      this.more.dataset.total = String(total);
      parts.push(this.list, this.more);
      requestAnimationFrame(() => this.describeOverflow());
    }
    parts.push(this.message);
    return parts;
  }

  /** Say so when the list scrolls, or when the server listed only the newest alerts. */
  describeOverflow() {
    if (!this.list || !this.list.isConnected) return;
    const listed = Number(this.more.dataset.listed);
    const total = Number(this.more.dataset.total);
    const scrolls = this.list.scrollHeight > this.list.clientHeight + 1;
    let text = "";
    if (total > listed) {
      text = `The newest ${formatCount(listed)} of ${formatCount(total)} are listed${scrolls ? "; scroll for more" : ""}.`;
    } else if (scrolls) {
      text = `Scroll the list to see all ${formatCount(listed)}.`;
    }
    this.more.hidden = !text;
    this.more.textContent = text;
  }

  alertItem(alert) {
    const id = String(alert.id);
    const acknowledgedBy = alert.acknowledgedBy && typeof alert.acknowledgedBy === "object"
      ? alert.acknowledgedBy.username : alert.acknowledgedBy;
    const acknowledged = Boolean(alert.acknowledgedAt || acknowledgedBy);
    const patient = String(alert.patientId || "");
    const shortPatient = patient.length > 8 ? `…${patient.slice(-6)}` : patient;
    const started = parseTime(alert.startedAt);
    let action = null;
    if (acknowledged) {
      action = h("p", { class: "ack", dataset: { role: "acknowledgement" } },
        h("span", { class: "ack-mark", "aria-hidden": "true", text: "✓" }),
        `Acknowledged by ${acknowledgedBy || "someone"}`,
        alert.acknowledgedAt ? ` at ${formatClock(alert.acknowledgedAt, false)}` : "");
    } else if (this.context.mayAct()) {
      const busy = this.acknowledging.has(id);
      action = h("button", {
        type: "button",
        class: "button button-small button-alert",
        disabled: busy,
        "aria-label": `Acknowledge emergency in ${alert.departmentId}, patient ${shortPatient}`,
        onclick: () => this.acknowledge(id),
        text: busy ? "Acknowledging…" : "Acknowledge",
      });
    } else {
      action = h("p", { class: "ack ack-waiting", text: "Not yet acknowledged" });
    }
    return h("li", {
      class: acknowledged ? "alert is-acknowledged" : "alert",
      tabindex: "-1",
      dataset: { alertId: id, department: alert.departmentId || "" },
    },
      h("div", { class: "alert-main" },
        h("span", { class: "alert-dept", text: alert.departmentId || "?" }),
        h("span", { class: "alert-stage", text: humanize(alert.stage || "emergency") }),
        h("span", { class: "alert-patient", title: patient ? `Patient ${patient}` : null, text: shortPatient ? `Patient ${shortPatient}` : "" })),
      h("div", { class: "alert-meta" },
        started ? h("span", { class: "alert-time" }, "Since ", h("time", { dateTime: started.toISOString(), text: formatClock(started, false) })) : null,
        action));
  }

  acknowledge(id) {
    this.acknowledging.add(id);
    this.message.textContent = "";
    this.redrawKeepingFocus();
    this.context.send({ type: "acknowledge_alert", alertId: id });
  }

  /** The server confirmed: mark the alert at once (the broadcast follows). */
  acknowledged({ alertId, acknowledgedBy, acknowledgedAt }) {
    const id = String(alertId);
    this.acknowledging.delete(id);
    if (this.value) {
      for (const alert of this.value.data.alerts || []) {
        if (String(alert.id) === id && !alert.acknowledgedAt) {
          alert.acknowledgedBy = acknowledgedBy;
          alert.acknowledgedAt = acknowledgedAt;
        }
      }
    }
    this.redrawKeepingFocus();
  }

  /** A new socket: acknowledgements sent on the old one got no answer and may be sent again. */
  reconnected() {
    if (!this.acknowledging.size) return;
    this.acknowledging.clear();
    this.redrawKeepingFocus();
  }

  failed(id, text) {
    this.acknowledging.delete(String(id));
    this.redrawKeepingFocus();
    this.message.textContent = text;
  }

  draw(data, previous) {
    this.redrawKeepingFocus(() => super.draw(data, previous));
  }

  /** Redraw without losing keyboard focus: it returns to the same alert's button or row. */
  redrawKeepingFocus(drawFn = null) {
    const active = document.activeElement;
    const item = active && this.body.contains(active) ? active.closest("[data-alert-id]") : null;
    const id = item ? item.dataset.alertId : null;
    if (drawFn) drawFn();
    else if (this.value) super.draw(this.value.data, null);
    if (!id) return;
    const next = [...this.body.querySelectorAll("[data-alert-id]")].find((el) => el.dataset.alertId === id);
    if (next) (next.querySelector("button:not([disabled])") || next).focus();
  }
}

class RoomOccupancyTile extends Tile {
  constructor(context) {
    super("roomOccupancy", "Bed occupancy", context);
  }

  render(data, previous) {
    const totals = data.totals || {};
    const byDepartment = data.byDepartment || {};
    const changed = changedKeys(previous && previous.byDepartment, byDepartment);
    const rate = rateOf(totals);
    return [
      headline(formatPercent(rate),
        `${formatCount(number(totals.occupiedBeds))} of ${formatCount(number(totals.beds))} beds occupied · ${formatCount(number(totals.rooms))} rooms`,
        { changed: Boolean(previous) && JSON.stringify(previous.totals) !== JSON.stringify(totals), tone: occupancyTone(rate) === "red" ? "red" : null }),
      barList(ordered(byDepartment).map((code) => {
        const entry = byDepartment[code] || {};
        const deptRate = rateOf(entry);
        return {
          key: code,
          label: departmentLabel(code),
          fraction: deptRate,
          text: `${formatPercent(deptRate)} · ${formatCount(number(entry.occupiedBeds))}/${formatCount(number(entry.beds))}`,
          tone: occupancyTone(deptRate),
        };
      }), { changed, label: "Occupancy by department", empty: "No rooms" }),
    ];
  }
}

class AppointmentsTile extends Tile {
  constructor(context) {
    super("todayAppointments", "Appointments today", context);
  }

  render(data, previous) {
    const byStatus = data.byStatus || {};
    const byDepartment = data.byDepartment || {};
    const codes = ordered(byDepartment);
    const max = Math.max(1, ...codes.map((c) => number(byDepartment[c])));
    const done = number(byStatus.completed);
    const total = number(data.total);
    return [
      headline(formatCount(total), total ? `${formatPercent(done / total)} completed` : "scheduled today",
        { changed: Boolean(previous) && previous.total !== data.total }),
      stackedBar(byStatus, APPOINTMENT_STATUSES,
        { changed: changedKeys(previous && previous.byStatus, byStatus), label: "Appointments by status" }),
      section("By department", barList(codes.map((code) => ({
        key: code,
        label: departmentLabel(code),
        fraction: number(byDepartment[code]) / max,
        text: formatCount(number(byDepartment[code])),
        tone: "blue",
      })), { changed: changedKeys(previous && previous.byDepartment, byDepartment), label: "Appointments today by department", empty: "No departments" })),
    ];
  }
}

class RevenueTile extends Tile {
  constructor(context) {
    super("revenue", "Revenue today", context);
  }

  render(data, previous) {
    const currency = data.currency || "USD";
    const byDepartment = data.byDepartment || {};
    const codes = ordered(byDepartment);
    const max = Math.max(1, ...codes.map((c) => number(byDepartment[c])));
    return [
      headline(formatMoney(number(data.paidTodayCents), currency), "paid today",
        { changed: Boolean(previous) && previous.paidTodayCents !== data.paidTodayCents }),
      h("p", { class: "subtle" }, "Pending ", h("strong", { text: formatMoney(number(data.pendingCents), currency) })),
      barList(codes.map((code) => ({
        key: code,
        label: departmentLabel(code),
        fraction: number(byDepartment[code]) / max,
        text: formatMoney(number(byDepartment[code]), currency),
        tone: "teal",
      })), { changed: changedKeys(previous && previous.byDepartment, byDepartment), label: "Paid today by department", empty: "No payments today" }),
    ];
  }
}

class StaffTile extends Tile {
  constructor(context) {
    super("staffActivity", "Staff", context);
  }

  render(data, previous) {
    const byStatus = data.byStatus || {};
    const byRole = data.byRole || {};
    const byDepartment = data.byDepartment || {};
    const changedRoles = changedKeys(previous && previous.byRole, byRole);
    const departments = ordered(byDepartment).map((code) => {
      const counts = byDepartment[code] || {};
      const onDuty = number(counts.on_duty);
      const all = Object.values(counts).reduce((sum, n) => sum + number(n), 0);
      return {
        key: code,
        label: departmentLabel(code),
        fraction: all ? onDuty / all : 0,
        text: `${formatCount(onDuty)} of ${formatCount(all)}`,
        tone: "teal",
      };
    });
    return [
      headline(formatCount(number(byStatus.on_duty)), `on duty of ${formatCount(number(data.total))} staff`,
        { changed: Boolean(previous) && JSON.stringify(previous.byStatus) !== JSON.stringify(byStatus) }),
      stackedBar(byStatus, STAFF_STATUSES,
        { changed: changedKeys(previous && previous.byStatus, byStatus), label: "Staff by status" }),
      h("ul", { class: "chips", "aria-label": "Staff by role" },
        ordered(byRole, STAFF_ROLES).map((role) =>
          h("li", { class: changedRoles.has(role) ? "chip is-changed" : "chip", dataset: { key: role } },
            h("span", { class: "chip-label", text: humanize(role) }),
            h("span", { class: "chip-value", text: formatCount(number(byRole[role])) })))),
      section("On duty by department", barList(departments,
        { changed: changedKeys(previous && previous.byDepartment, byDepartment), label: "Staff on duty by department", empty: "No departments" })),
    ];
  }
}

const TILE_TYPES = {
  patientCount: PatientCountTile,
  emergencyAlerts: EmergencyAlertsTile,
  roomOccupancy: RoomOccupancyTile,
  todayAppointments: AppointmentsTile,
  revenue: RevenueTile,
  staffActivity: StaffTile,
};
export const LIVE_METRICS = Object.keys(TILE_TYPES);

/** The grid of tiles for the metrics a user may see. */
export class Tiles {
  constructor(container, context) {
    this.container = container;
    this.context = context;
    this.tiles = new Map();
    this.clock = setInterval(() => this.tick(), 5_000);
  }

  /** Show exactly these metrics (in catalogue order); keeps the values of tiles that stay. */
  show(metrics) {
    const wanted = LIVE_METRICS.filter((m) => metrics.includes(m));
    for (const [metric, tile] of this.tiles) {
      if (!wanted.includes(metric)) {
        tile.el.remove();
        this.tiles.delete(metric);
      }
    }
    for (const metric of wanted) {
      if (!this.tiles.has(metric)) this.tiles.set(metric, new TILE_TYPES[metric](this.context));
    }
    this.container.replaceChildren(...wanted.map((m) => this.tiles.get(m).el));
    this.container.dataset.count = String(wanted.length);
  }

  reset() {
    this.tiles.clear();
    clear(this.container);
  }

  update(metric, value) {
    const tile = this.tiles.get(metric);
    if (tile && value && typeof value === "object") tile.update(value);
  }

  get(metric) {
    return this.tiles.get(metric);
  }

  redraw() {
    for (const tile of this.tiles.values()) tile.redraw();
  }

  reconnected() {
    const alerts = this.tiles.get("emergencyAlerts");
    if (alerts) alerts.reconnected();
  }

  tick() {
    const now = Date.now();
    for (const tile of this.tiles.values()) tile.tick(now);
  }
}
