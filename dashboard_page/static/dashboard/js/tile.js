// A live tile: keeps its metric's newest value (an older version never replaces a newer one),
// redraws on change, marks what changed for a moment, and says how old its values are, loudly
// when they are not live. Also the small pieces tiles are drawn with.

import { departmentNames, learnCodes } from "./departments.js";
import { clear, formatAge, formatClock, formatCount, h, humanize, parseTime } from "./dom.js";

const HIGHLIGHT_MS = 1_200;
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

export function number(value) {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

/** A bar's width: a sliver for any non-zero value, nothing for zero. */
export function barWidth(fraction) {
  const clamped = Math.max(0, Math.min(1, Number(fraction) || 0));
  return clamped > 0 ? `max(3px, ${clamped * 100}%)` : "0";
}

export function changedKeys(previous, next) {
  const keys = new Set();
  if (!previous) return keys;
  for (const key of new Set([...Object.keys(previous || {}), ...Object.keys(next || {})])) {
    if (JSON.stringify(previous[key]) !== JSON.stringify(next[key])) keys.add(key);
  }
  return keys;
}

/** Keys of `object` with `preferred` first (in that order, even when absent), the rest sorted. */
export function ordered(object, preferred = []) {
  const rest = Object.keys(object || {}).filter((k) => !preferred.includes(k)).sort();
  return [...preferred, ...rest];
}

export function departmentLabel(code) {
  const name = departmentNames.get(code);
  // The name may be cut with an ellipsis in a narrow column: its title keeps it whole.
  return h("span", { class: "dept", title: name || null },
    h("span", { class: "dept-code", text: code }),
    h("span", { class: "dept-name", title: name || null, text: name || "" }));
}

export function section(title, content) {
  return h("div", { class: "tile-section" }, h("h3", { class: "tile-subtitle", text: title }), content);
}

/** A list of labelled horizontal bars: rows [{key, label, text, fraction, tone}]. */
export function barList(rows, { changed = new Set(), label, empty = "Nothing to show" } = {}) {
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

/** One bar split into segments, with a legend that carries the numbers (every status listed). */
export function stackedBar(counts, order, { changed = new Set(), label }) {
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

export function headline(value, caption, { changed = false, tone = null } = {}) {
  return h("p", { class: "headline" },
    h("span", { class: `headline-value${changed ? " is-changed" : ""}${tone ? ` tone-text-${tone}` : ""}`, dataset: { role: "headline" }, text: value }),
    h("span", { class: "headline-caption", text: caption }));
}

export class Tile {
  /** `spec` is the metric's tile as its module declares it: {metric, title, period, kind,
   * options}; `period` says what time the figures cover ("now", "today"). */
  constructor(spec, context) {
    const { metric, title, period } = spec;
    this.spec = spec;
    this.metric = metric;
    this.context = context;
    this.value = null;
    this.version = null;
    this.changedAt = null;
    this.liveness = { live: true, badge: null, since: null };
    this.highlightTimer = null;
    const headingId = `tile-${metric}-title`;
    this.badge = h("span", { class: "badge badge-not-live", hidden: true });
    this.footLabel = h("span", { class: "tile-foot-label", text: "Updated " });
    this.time = h("time", { class: "tile-time" });
    this.age = h("span", { class: "tile-age" });
    this.body = h("div", { class: "tile-body" }, h("p", { class: "loading", text: "Loading…" }));
    this.el = h("section", { class: `tile tile-${metric}`, "aria-labelledby": headingId, dataset: { metric, state: "loading", live: "true" } },
      h("header", { class: "tile-head" },
        h("h2", { id: headingId, class: "tile-title" }, title, " ", h("span", { class: "tile-period", text: period })),
        this.badge),
      this.body,
      h("footer", { class: "tile-foot" }, this.footLabel, this.time, this.age));
  }

  /** A value from the server; false when it is older than the one shown (and so ignored). */
  update({ data, updatedAt, stale, version }) {
    if (typeof version === "number" && this.version !== null && version < this.version) return false;
    if (typeof version === "number") this.version = version;
    const previous = this.value;
    const changed = previous !== null && JSON.stringify(previous.data) !== JSON.stringify(data);
    this.value = { data, updatedAt, stale: Boolean(stale) };
    if (data && data.byDepartment) learnCodes(Object.keys(data.byDepartment));
    if (previous === null || changed) this.changedAt = parseTime(updatedAt) || new Date();
    this.el.dataset.state = "ready";
    this.el.dataset.stale = stale ? "true" : "false";
    if (previous === null || changed) this.draw(data, changed ? previous.data : null);
    this.showLiveness();
    if (changed) this.flash();
    return true;
  }

  /** The page's liveness: {live, badge ("Not live", "Frozen"...), since (when it stopped)}. */
  setLive(liveness) {
    this.liveness = liveness;
    this.showLiveness();
  }

  showLiveness() {
    const stale = Boolean(this.value && this.value.stale);
    const live = this.liveness.live && !stale;
    this.el.dataset.live = live ? "true" : "false";
    this.el.classList.toggle("is-stale", stale);
    this.badge.hidden = live || !this.value;
    this.badge.textContent = stale && this.liveness.live ? "Stale" : this.liveness.badge || "Not live";
    this.tick();
  }

  /** When the values on screen were last known to be current. */
  asOf() {
    if (this.value && this.value.stale) return parseTime(this.value.updatedAt) || this.changedAt;
    if (!this.liveness.live) return this.liveness.since || this.changedAt;
    return this.changedAt;
  }

  /** Redraw with the current value (e.g. after department names arrived). */
  redraw() {
    if (this.value) this.draw(this.value.data, null);
  }

  resetVersion() {
    this.version = null;
  }

  draw(data, previous) {
    clear(this.body).append(...[].concat(this.render(data || {}, previous)));
  }

  tick(now = Date.now()) {
    const live = this.el.dataset.live === "true";
    const at = live ? this.changedAt : this.asOf();
    if (!at) return;
    this.footLabel.textContent = live ? "Updated " : "As of ";
    this.time.dateTime = at.toISOString();
    this.time.textContent = formatClock(at);
    this.age.textContent = ` · ${formatAge(at, now)}`;
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
