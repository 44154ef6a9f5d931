// The live tiles other than the emergency panel, and the board that holds them all. Every
// department breakdown lists every department the page knows, zero where a value has none.

import { EmergencyPanel } from "./alerts.js";
import { allDepartments, onDepartmentsChanged } from "./departments.js";
import { clear, formatCount, formatMoney, formatPercent, h, humanize } from "./dom.js";
import { FirstScreen } from "./firstscreen.js";
import {
  Tile, barList, changedKeys, departmentLabel, headline, number, ordered, section, stackedBar,
} from "./tile.js";

const APPOINTMENT_STATUSES = ["scheduled", "checked_in", "completed", "cancelled", "no_show"];
const STAFF_STATUSES = ["on_duty", "on_break", "off_duty"];
const STAFF_ROLES = ["doctor", "nurse", "technician", "admin"];

function codesOf(byDepartment) {
  return allDepartments(Object.keys(byDepartment || {}));
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

/** Bars of one count per department, scaled to the largest. */
function countBars(byDepartment, previous, { label, tone = "blue", format = formatCount }) {
  const codes = codesOf(byDepartment);
  const max = Math.max(1, ...codes.map((c) => number(byDepartment[c])));
  return barList(codes.map((code) => ({
    key: code,
    label: departmentLabel(code),
    fraction: number(byDepartment[code]) / max,
    text: format(number(byDepartment[code])),
    tone,
  })), { changed: changedKeys(previous, byDepartment), label, empty: "No departments" });
}

class PatientCountTile extends Tile {
  render(data, previous) {
    return [
      headline(formatCount(number(data.total)), "admitted or outpatient",
        { changed: Boolean(previous) && previous.total !== data.total }),
      countBars(data.byDepartment || {}, previous && previous.byDepartment, { label: "Patients by department" }),
    ];
  }
}

class RoomOccupancyTile extends Tile {
  render(data, previous) {
    const totals = data.totals || {};
    const byDepartment = data.byDepartment || {};
    const rate = rateOf(totals);
    return [
      headline(formatPercent(rate),
        `${formatCount(number(totals.occupiedBeds))} of ${formatCount(number(totals.beds))} beds occupied · ${formatCount(number(totals.rooms))} rooms`,
        { changed: Boolean(previous) && JSON.stringify(previous.totals) !== JSON.stringify(totals), tone: occupancyTone(rate) === "red" ? "red" : null }),
      barList(codesOf(byDepartment).map((code) => {
        const entry = byDepartment[code] || {};
        const deptRate = rateOf(entry);
        return {
          key: code,
          label: departmentLabel(code),
          fraction: deptRate,
          text: `${formatPercent(deptRate)} · ${formatCount(number(entry.occupiedBeds))}/${formatCount(number(entry.beds))}`,
          tone: occupancyTone(deptRate),
        };
      }), { changed: changedKeys(previous && previous.byDepartment, byDepartment), label: "Occupancy by department", empty: "No rooms" }),
    ];
  }
}

class AppointmentsTile extends Tile {
  render(data, previous) {
    const byStatus = data.byStatus || {};
    const done = number(byStatus.completed);
    const total = number(data.total);
    return [
      headline(formatCount(total), total ? `scheduled today · ${formatPercent(done / total)} completed` : "scheduled today",
        { changed: Boolean(previous) && previous.total !== data.total }),
      stackedBar(byStatus, APPOINTMENT_STATUSES,
        { changed: changedKeys(previous && previous.byStatus, byStatus), label: "Today's appointments by status" }),
      section("By department, today", countBars(data.byDepartment || {}, previous && previous.byDepartment,
        { label: "Appointments today by department" })),
    ];
  }
}

class RevenueTile extends Tile {
  render(data, previous) {
    const currency = data.currency || "USD";
    return [
      headline(formatMoney(number(data.paidTodayCents), currency), "paid today (since midnight)",
        { changed: Boolean(previous) && previous.paidTodayCents !== data.paidTodayCents }),
      h("p", { class: "subtle" }, "Pending, all dates: ", h("strong", { text: formatMoney(number(data.pendingCents), currency) })),
      section("Paid today by department", countBars(data.byDepartment || {}, previous && previous.byDepartment,
        { label: "Paid today by department", tone: "teal", format: (cents) => formatMoney(cents, currency) })),
    ];
  }
}

class StaffTile extends Tile {
  render(data, previous) {
    const byStatus = data.byStatus || {};
    const byRole = data.byRole || {};
    const byDepartment = data.byDepartment || {};
    const changedRoles = changedKeys(previous && previous.byRole, byRole);
    const departments = codesOf(byDepartment).map((code) => {
      const counts = byDepartment[code] || {};
      const onDuty = number(counts.on_duty);
      const all = Object.values(counts).reduce((sum, n) => sum + number(n), 0);
      return { key: code, label: departmentLabel(code), fraction: all ? onDuty / all : 0, text: `${formatCount(onDuty)} of ${formatCount(all)}`, tone: "teal" };
    });
    return [
      headline(formatCount(number(byStatus.on_duty)), `on duty of ${formatCount(number(data.total))} staff`,
        { changed: Boolean(previous) && JSON.stringify(previous.byStatus) !== JSON.stringify(byStatus) }),
      stackedBar(byStatus, STAFF_STATUSES, { changed: changedKeys(previous && previous.byStatus, byStatus), label: "Staff by status" }),
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

/** Seconds as a waiting time: "under a minute", "12 min", "1 h 5 min". */
function formatSeconds(seconds) {
  const minutes = Math.floor(seconds / 60);
  if (minutes < 1) return "under a minute";
  if (minutes < 60) return `${minutes} min`;
  const rest = minutes % 60;
  return rest ? `${Math.floor(minutes / 60)} h ${rest} min` : `${Math.floor(minutes / 60)} h`;
}

/** A value formatted as a metric module's tile declares ("count", "money", "percent", "seconds"). */
function formatted(value, format, currency) {
  const n = number(value);
  switch (format) {
    case "money": return formatMoney(n, currency);
    case "percent": return formatPercent(n);
    case "seconds": return formatSeconds(n);
    default: return formatCount(n);
  }
}

function valueAt(data, path) {
  return String(path || "").split(".").reduce((value, key) => (value == null ? undefined : value[key]), data);
}

/**
 * The tile of a metric that declares no renderer of its own (metrics/definition.py, Tile):
 * a headline, a few labelled facts, and bars for each breakdown, all named by the module.
 */
class SummaryTile extends Tile {
  render(data, previous) {
    const { headline: top = {}, facts = [], bars = [] } = this.spec.options || {};
    const currency = data.currency || "USD";
    const parts = [
      headline(formatted(valueAt(data, top.field), top.format, currency), top.caption || "",
        { changed: Boolean(previous) && JSON.stringify(valueAt(previous, top.field)) !== JSON.stringify(valueAt(data, top.field)) }),
    ];
    if (facts.length) {
      parts.push(h("ul", { class: "chips", "aria-label": `${this.spec.title}: figures` },
        facts.map((fact) => h("li", { class: "chip", dataset: { key: fact.field } },
          h("span", { class: "chip-label", text: fact.label }),
          h("span", { class: "chip-value", text: formatted(valueAt(data, fact.field), fact.format, currency) })))));
    }
    for (const bar of bars) {
      const counts = valueAt(data, bar.field) || {};
      const before = previous ? valueAt(previous, bar.field) : null;
      const rows = bar.field === "byDepartment"
        ? countBars(counts, before, { label: bar.label, format: (n) => formatted(n, bar.format, currency) })
        : orderedBars(counts, before, bar, currency);
      parts.push(section(bar.label, rows));
    }
    return parts;
  }
}

/** Bars of a breakdown other than departments, in the order the module declares. */
function orderedBars(counts, previous, bar, currency) {
  const keys = ordered(counts, bar.order || []);
  const max = Math.max(1, ...keys.map((k) => number(counts[k])));
  return barList(keys.map((key) => ({
    key,
    label: h("span", { class: "bar-key", text: bar.labels && bar.labels[key] ? bar.labels[key] : humanize(key) }),
    fraction: number(counts[key]) / max,
    text: formatted(counts[key], bar.format, currency),
    tone: bar.tone || "blue",
  })), { changed: changedKeys(previous, counts), label: bar.label, empty: "None" });
}

// The page's tile renderers, by the `kind` a metric module declares.
const TILE_KINDS = {
  alerts: EmergencyPanel,
  patients: PatientCountTile,
  occupancy: RoomOccupancyTile,
  appointments: AppointmentsTile,
  revenue: RevenueTile,
  staff: StaffTile,
  summary: SummaryTile,
};

// Every live metric's tile, in catalogue order, as the server renders them into the page.
const SPECS = JSON.parse(document.body.dataset.tiles || "[]");
export const LIVE_METRICS = SPECS.map((spec) => spec.metric);
const SPEC_OF = new Map(SPECS.map((spec) => [spec.metric, spec]));

/** Put exactly `elements` in `container`, leaving it alone (and focus where it is) when they are. */
function place(container, elements) {
  const current = [...container.children];
  if (current.length !== elements.length || current.some((el, i) => el !== elements[i])) {
    container.replaceChildren(...elements);
  }
}

/** The emergency panel (its own place, first) and the grid of the other tiles a user may see. */
export class Tiles {
  constructor({ emergencies, grid }, context) {
    this.emergencies = emergencies;
    this.grid = grid;
    this.context = context;
    this.tiles = new Map();
    this.liveness = { live: true, badge: null, since: null };
    this.clock = setInterval(() => this.tick(), 5_000);
    this.firstScreen = new FirstScreen({ scroller: grid.closest("main"), emergencies, grid });
    onDepartmentsChanged(() => this.redraw());
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
      if (!this.tiles.has(metric)) {
        const spec = SPEC_OF.get(metric);
        const tile = new (TILE_KINDS[spec.kind] || SummaryTile)(spec, this.context);
        tile.setLive(this.liveness);
        this.tiles.set(metric, tile);
      }
    }
    // The alert panels have their own place, first; the other tiles fill the grid.
    const isPanel = (m) => SPEC_OF.get(m).kind === "alerts";
    const panel = wanted.filter(isPanel).map((m) => this.tiles.get(m).el);
    place(this.emergencies, panel);
    this.emergencies.hidden = !panel.length;
    const inGrid = wanted.filter((m) => !isPanel(m)).map((m) => this.tiles.get(m).el);
    place(this.grid, inGrid);
    this.grid.dataset.count = String(inGrid.length);
  }

  reset() {
    this.tiles.clear();
    clear(this.grid);
    clear(this.emergencies);
  }

  /** A value for a metric; false when it was older than the one shown. */
  update(metric, value) {
    const tile = this.tiles.get(metric);
    const updated = Boolean(tile && value && typeof value === "object" && tile.update(value));
    if (updated) this.firstScreen.schedule(); // a longer or shorter list may change what fits
    return updated;
  }

  get(metric) {
    return this.tiles.get(metric);
  }

  redraw() {
    for (const tile of this.tiles.values()) tile.redraw();
    this.firstScreen.schedule();
  }

  /** Another scope (departments changed): versions of the old one say nothing about the new. */
  resetVersions() {
    for (const tile of this.tiles.values()) tile.resetVersion();
  }

  setLive(liveness) {
    this.liveness = liveness;
    for (const tile of this.tiles.values()) tile.setLive(liveness);
  }

  tick() {
    const now = Date.now();
    for (const tile of this.tiles.values()) tile.tick(now);
  }
}
