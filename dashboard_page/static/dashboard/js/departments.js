// The departments the page knows: their codes (from every value and the user's own) and names
// (from the trends' department rows, remembered for this tab so a reload starts with them).
// Every breakdown lists all of them, zero where a value has none.

const STORAGE_KEY = "hospital-dashboard.departments";

export const departmentNames = new Map();
const known = new Set();
const listeners = new Set();

function restore() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "{}");
    for (const [code, name] of Object.entries(saved)) {
      if (typeof name === "string") departmentNames.set(code, name);
      known.add(code);
    }
  } catch {
    // Storage unavailable or spoiled: names arrive with the trends.
  }
}

function save() {
  try {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(Object.fromEntries(departmentNames)));
  } catch {
    // Memory only.
  }
}

/** Call `listener` when a new code or name is learned (tiles redraw with it). */
export function onDepartmentsChanged(listener) {
  listeners.add(listener);
}

/** Codes seen in a value (keys of its byDepartment), the user's own, or trends rows. */
export function learnCodes(codes) {
  let learned = false;
  for (const code of codes || []) {
    if (typeof code === "string" && code && !known.has(code)) {
      known.add(code);
      learned = true;
    }
  }
  if (learned) for (const listener of listeners) listener();
}

/** Names from `departmentMetrics` rows ({departmentId, name}). */
export function learnNames(rows) {
  let learned = false;
  for (const row of rows || []) {
    if (!row || !row.departmentId) continue;
    if (!known.has(row.departmentId)) {
      known.add(row.departmentId);
      learned = true;
    }
    if (row.name && departmentNames.get(row.departmentId) !== row.name) {
      departmentNames.set(row.departmentId, row.name);
      learned = true;
    }
  }
  if (learned) {
    save();
    for (const listener of listeners) listener();
  }
}

/** The user's scope: only these codes (an admin's departments), or null for every one known. */
let scope = null;

export function limitTo(codes) {
  scope = codes === null ? null : new Set(codes);
  learnCodes(codes || []);
}

/** Every department to list, sorted: the known ones within the user's scope, and `extra` codes. */
export function allDepartments(extra = []) {
  const codes = new Set([...known, ...extra].filter((code) => !scope || scope.has(code)));
  return [...codes].sort();
}

export function forgetDepartments() {
  known.clear();
  departmentNames.clear();
  scope = null;
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Nothing stored.
  }
}

restore();
