// Small DOM and formatting helpers. Elements are always built with
// createElement/textContent (never innerHTML), so no server value can become markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function byId(id) {
  return document.getElementById(id);
}

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const percent = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 0 });
const moneyFormats = new Map();

export function formatCount(value) {
  return Number.isFinite(value) ? integer.format(value) : "–";
}

export function formatPercent(fraction) {
  return Number.isFinite(fraction) ? percent.format(fraction) : "–";
}

/** Cents as money; style "exact" (cents), "whole" (no cents) or "compact" ($12K). */
export function formatMoney(cents, currency = "USD", style = "exact") {
  if (!Number.isFinite(cents)) return "–";
  const key = `${currency}:${style}`;
  if (!moneyFormats.has(key)) {
    let format;
    try {
      format = new Intl.NumberFormat(undefined, {
        style: "currency",
        currency,
        notation: style === "compact" ? "compact" : "standard",
        minimumFractionDigits: style === "exact" ? undefined : 0,
        maximumFractionDigits: style === "exact" ? 2 : style === "compact" ? 1 : 0,
      });
    } catch {
      format = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
    }
    moneyFormats.set(key, format);
  }
  return moneyFormats.get(key).format(cents / 100);
}

const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const shortClock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayClock = new Intl.DateTimeFormat(undefined, {
  month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
});

export function parseTime(value) {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** "14:03:12" (or "14:03" without seconds) today, "May 3, 14:03" on another day. */
export function formatClock(value, seconds = true) {
  const date = value instanceof Date ? value : parseTime(value);
  if (!date) return "–";
  if (date.toDateString() !== new Date().toDateString()) return dayClock.format(date);
  return (seconds ? clock : shortClock).format(date);
}

/** "just now", "40 s ago", "5 min ago", "2 h ago", then the date. */
export function formatAge(value, now = Date.now()) {
  const date = value instanceof Date ? value : parseTime(value);
  if (!date) return "";
  const seconds = Math.max(0, Math.round((now - date.getTime()) / 1000));
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  return dayClock.format(date);
}

/** How long something has been open: "4 min", "2 h 5 min", then whole hours ("56 h"). */
export function formatDuration(since, now = Date.now()) {
  const date = since instanceof Date ? since : parseTime(since);
  if (!date) return "";
  const minutes = Math.max(0, Math.floor((now - date.getTime()) / 60_000));
  if (minutes < 1) return "under a minute";
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours >= 10) return `${hours} h`;
  const rest = minutes % 60;
  return rest ? `${hours} h ${rest} min` : `${hours} h`;
}

/** "checked_in" → "Checked in". */
export function humanize(key) {
  const text = String(key).replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** ISO 8601 with the browser's offset, e.g. 2025-03-08T14:00:00+01:00 (what the server asks for). */
export function isoWithOffset(date) {
  const pad = (n) => String(Math.trunc(Math.abs(n))).padStart(2, "0");
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(offset / 60)}:${pad(offset % 60)}`
  );
}

/** The value of an <input type="datetime-local"> for a date, in local time. */
export function toLocalInput(date) {
  return isoWithOffset(date).slice(0, 16);
}
