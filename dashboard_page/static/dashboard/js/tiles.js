// The live tiles other than the emergency panel, and the board that holds them all. Every
// department breakdown lists every department the page knows, zero where a value has none.

import { EmergencyPanel } from "./alerts.js";
import { allDepartments, onDepartmentsChanged } from "./departments.js";
import { clear, formatCount, formatMoney, formatPercent, h, humanize } from "./dom.js";
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
  constructor(context) {
    super("patientCount", "Patients in care", "now", context);
  }

  render(data, previous) {
    return [
      headline(formatCount(number(data.total)), "admitted or outpatient",
        { changed: Boolean(previous) && previous.total !== data.total }),
      countBars(data.byDepartment || {}, previous && previous.byDepartment, { label: "Patients by department" }),
    ];
  }
}

class RoomOccupancyTile extends Tile {
  constructor(context) {
    super("roomOccupancy", "Bed occupancy", "now", context);
  }

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
  constructor(context) {
    super("todayAppointments", "Appointments", "today", context);
  }

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
  constructor(context) {
    super("revenue", "Revenue", "today", context);
  }

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
  constructor(context) {
    super("staffActivity", "Staff", "now", context);
  }

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

const TILE_TYPES = {
  emergencyAlerts: EmergencyPanel,
  patientCount: PatientCountTile,
  roomOccupancy: RoomOccupancyTile,
  todayAppointments: AppointmentsTile,
  revenue: RevenueTile,
  staffActivity: StaffTile,
};
export const LIVE_METRICS = Object.keys(TILE_TYPES);

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
        const tile = new TILE_TYPES[metric](this.context);
        tile.setLive(this.liveness);
        this.tiles.set(metric, tile);
      }
    }
    const panel = this.tiles.has("emergencyAlerts") ? [this.tiles.get("emergencyAlerts").el] : [];
    place(this.emergencies, panel);
    this.emergencies.hidden = !panel.length;
    const inGrid = wanted.filter((m) => m !== "emergencyAlerts").map((m) => this.tiles.get(m).el);
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
    return Boolean(tile && value && typeof value === "object" && tile.update(value));
  }

  get(metric) {
    return this.tiles.get(metric);
  }

  redraw() {
    for (const tile of this.tiles.values()) tile.redraw();
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
