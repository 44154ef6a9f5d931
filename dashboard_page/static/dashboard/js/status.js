// What the connection's state means for a person: the status line (short enough for one line at
// 1366 px), whether the values on screen are live, the badge a tile shows when they are not, and
// whether actions (acknowledging) can go through.

// The server's `connection_status` detail: comma-separated codes. Most severe first.
const CODES = {
  mongodb_unreachable: { text: "Hospital database down: last known values.", badge: "Last known", blocks: true },
  // The servers read the values again every 5 s (critical) or 30 s (standard) meanwhile.
  listener_down: { text: "Live updates paused: values refresh every 5-30 s.", badge: "Delayed" },
  redis_unavailable: { text: "Message service down: values may lag.", badge: "May lag" },
};
const CLOSE_REASONS = {
  1008: "Refused by the server's limits.",
  1009: "A message was too large.",
  1011: "Server error.",
  1013: "Server full.",
};
const PAUSED = " Acknowledging paused.";

/** {codes: known codes, most severe first, other: any text that is not a known code}. */
export function parseDetail(detail) {
  const text = typeof detail === "string" ? detail.trim() : "";
  if (!text) return { codes: [], other: null };
  const parts = text.split(",").map((part) => part.trim()).filter(Boolean);
  if (!parts.every((part) => /^[a-z_]+$/.test(part))) return { codes: [], other: text };
  const codes = Object.keys(CODES).filter((code) => parts.includes(code));
  const unknown = parts.filter((part) => !(part in CODES));
  return { codes, other: unknown.length ? unknown.join(", ") : null };
}

function seconds(at, now) {
  return at ? Math.max(0, Math.ceil((at - now) / 1000)) : 0;
}

/**
 * info: {state, detail, attempt, attempts, nextRetryAt, slowRetryMs, closeCode}; mayAct: the user
 * may acknowledge. Returns {label, text, title, live, badge, blocked}.
 */
export function describe(info, mayAct, now = Date.now()) {
  const { state, detail } = info;
  let result;
  if (state === "connected") {
    result = {
      label: "Live",
      text: detail === "recovered" ? "Back to normal." : "Values update as they change.",
      live: true,
      badge: null,
      blocked: false,
    };
  } else if (state === "degraded" || state === "stale") {
    const { codes, other } = parseDetail(detail);
    if (state === "stale" && !codes.includes("mongodb_unreachable")) codes.unshift("mongodb_unreachable");
    const worst = codes.length ? CODES[codes[0]] : null;
    const more = codes.length - 1 + (other && worst ? 1 : 0);
    result = {
      label: state === "stale" ? "Stale" : "Degraded",
      text: worst
        ? `${worst.text}${more > 0 ? ` (+${more} more)` : ""}`
        : "The server reports a problem: values may lag.",
      title: [...codes.map((code) => CODES[code].text), ...(other ? [other] : [])].join(" "),
      live: false,
      badge: worst ? worst.badge : "May lag",
      blocked: codes.some((code) => CODES[code].blocks),
    };
  } else if (state === "reconnecting") {
    const wait = seconds(info.nextRetryAt, now);
    const reason = CLOSE_REASONS[info.closeCode] || "Connection lost.";
    result = {
      label: "Reconnecting",
      text: wait > 0
        ? `${reason} Retry in ${wait} s (${info.attempt} of ${info.attempts}).`
        : `${reason} Retrying (${info.attempt} of ${info.attempts})…`,
      live: false,
      badge: "Not live",
      blocked: true,
    };
  } else if (state === "offline") {
    const wait = seconds(info.nextRetryAt, now);
    const every = Math.round((info.slowRetryMs || 30_000) / 1000);
    result = {
      label: "Offline",
      text: info.nextRetryAt === null
        ? "The live connection is closed."
        : wait > 0
          ? `Next try in ${wait} s, then every ${every} s.`
          : "Trying to reconnect…",
      live: false,
      badge: "Not live",
      blocked: true,
    };
  } else {
    result = { label: "Connecting", text: "Opening the live connection…", live: false, badge: "Not live", blocked: true };
  }
  if (result.blocked && mayAct && state !== "connecting") result.text += PAUSED;
  result.title = result.title || result.text;
  return result;
}
