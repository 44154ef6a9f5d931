// The emergency panel, first on the page: the alerts nobody has acknowledged yet, oldest first,
// each with how long it has been open, then the acknowledged ones, small. Acknowledging survives
// a reconnect (the message is sent again on the next socket) or fails with a message.

import { formatClock, formatCount, formatDuration, h, humanize, parseTime } from "./dom.js";
import { Tile, number } from "./tile.js";

// An acknowledgement unanswered this long on a working connection is reported as failed.
const ANSWER_WITHIN_MS = 20_000;

function acknowledgedBy(alert) {
  const by = alert.acknowledgedBy;
  return by && typeof by === "object" ? by.username : by;
}

function isAcknowledged(alert) {
  return Boolean(alert.acknowledgedAt || acknowledgedBy(alert));
}

function oldestFirst(a, b) {
  return String(a.startedAt || "").localeCompare(String(b.startedAt || "")) || String(a.id).localeCompare(String(b.id));
}

function shortPatient(alert) {
  const patient = String(alert.patientId || "");
  return patient.length > 8 ? `…${patient.slice(-6)}` : patient;
}

function age(alert) {
  const started = parseTime(alert.startedAt);
  return h("span", { class: "alert-age", dataset: { since: started ? started.toISOString() : "" } },
    started ? `open ${formatDuration(started)}` : "");
}

export class EmergencyPanel extends Tile {
  constructor(spec, context) {
    super(spec, context);
    this.el.classList.add("emergency-panel");
    this.sent = new Map(); // alert id → when the acknowledgement was clicked
    this.message = h("p", { class: "tile-message", role: "status" });
  }

  render(data) {
    const alerts = [...(data.alerts || [])];
    const waiting = alerts.filter((a) => !isAcknowledged(a)).sort(oldestFirst);
    const seen = alerts.filter(isAcknowledged).sort(oldestFirst);
    const total = number(data.total);
    const parts = [this.summary(waiting, seen, total)];
    if (total > alerts.length) {
      parts.push(h("p", { class: "subtle", text: `The server lists the newest ${formatCount(alerts.length)} of ${formatCount(total)} open emergencies; older ones are not shown.` }));
    }
    if (!alerts.length) {
      parts.push(h("p", { class: "all-clear", text: "No open emergencies." }));
    } else if (!waiting.length) {
      parts.push(h("p", { class: "all-clear", text: "Every open emergency has been acknowledged." }));
    }
    if (waiting.length) {
      parts.push(h("ol", { class: "alert-grid", "aria-label": "Waiting emergencies, oldest first" },
        waiting.map((alert) => this.waitingItem(alert))));
    }
    if (seen.length) {
      parts.push(h("div", { class: "acknowledged" },
        h("h3", { class: "tile-subtitle", text: `Acknowledged (${formatCount(seen.length)}), oldest first` }),
        h("ul", { class: "ack-list" }, seen.map((alert) => this.acknowledgedItem(alert)))));
    }
    parts.push(this.message);
    return parts;
  }

  summary(waiting, seen, total) {
    const oldest = waiting.length ? formatDuration(parseTime(waiting[0].startedAt)) : null;
    return h("div", { class: "emergency-summary" },
      h("p", { class: "headline" },
        h("span", { class: `headline-value${waiting.length ? " tone-text-red" : ""}`, dataset: { role: "headline" }, text: formatCount(waiting.length) }),
        h("span", { class: "headline-caption", text: waiting.length === 1 ? "alert waiting for acknowledgement" : "alerts waiting for acknowledgement" })),
      h("p", { class: "subtle" },
        `${formatCount(total)} open · ${formatCount(seen.length)} acknowledged`,
        oldest ? ` · oldest waiting: open ${oldest}` : ""));
  }

  waitingItem(alert) {
    const id = String(alert.id);
    const started = parseTime(alert.startedAt);
    return h("li", { class: "alert", tabindex: "-1", dataset: { alertId: id, department: alert.departmentId || "" } },
      h("div", { class: "alert-main" },
        h("span", { class: "alert-dept", text: alert.departmentId || "?" }),
        age(alert)),
      h("div", { class: "alert-detail" },
        h("span", { class: "alert-stage", text: humanize(alert.stage || "emergency") }),
        h("span", { class: "alert-patient", title: alert.patientId ? `Patient ${alert.patientId}` : null, text: shortPatient(alert) ? `Patient ${shortPatient(alert)}` : "" }),
        started ? h("span", { class: "alert-time" }, "since ", h("time", { dateTime: started.toISOString(), text: formatClock(started, false) })) : null),
      this.action(alert, id));
  }

  action(alert, id) {
    if (!this.context.mayAct()) return h("p", { class: "ack ack-waiting", text: "Not yet acknowledged" });
    const connected = this.context.connected();
    const sending = this.sent.has(id);
    const blocked = this.context.actionsBlocked();
    let text = "Acknowledge";
    if (sending) text = connected ? "Acknowledging…" : "Sends when reconnected";
    return h("button", {
      type: "button",
      class: "button button-small button-alert",
      disabled: sending || blocked,
      title: blocked && !sending ? "Paused until the connection is back" : null,
      "aria-label": sending ? `${text}: emergency in ${alert.departmentId}` : `Acknowledge emergency in ${alert.departmentId}, patient ${shortPatient(alert)}`,
      onclick: () => this.acknowledge(id),
      text,
    });
  }

  acknowledgedItem(alert) {
    const at = alert.acknowledgedAt ? ` at ${formatClock(alert.acknowledgedAt, false)}` : "";
    return h("li", { class: "alert is-acknowledged", tabindex: "-1", dataset: { alertId: String(alert.id), department: alert.departmentId || "" } },
      h("span", { class: "alert-dept", text: alert.departmentId || "?" }),
      age(alert),
      h("span", { class: "ack", dataset: { role: "acknowledgement" } },
        h("span", { class: "ack-mark", "aria-hidden": "true", text: "✓" }),
        `Acknowledged by ${acknowledgedBy(alert) || "someone"}${at}`));
  }

  acknowledge(id) {
    this.sent.set(id, Date.now());
    this.message.textContent = "";
    this.redrawKeepingFocus();
    this.context.send({ type: "acknowledge_alert", alertId: id });
  }

  /** The server confirmed: mark the alert at once (the broadcast follows). */
  acknowledged({ alertId, acknowledgedBy: by, acknowledgedAt }) {
    const id = String(alertId);
    this.sent.delete(id);
    if (this.value) {
      for (const alert of this.value.data.alerts || []) {
        if (String(alert.id) === id && !alert.acknowledgedAt) {
          alert.acknowledgedBy = by;
          alert.acknowledgedAt = acknowledgedAt;
        }
      }
    }
    this.redrawKeepingFocus();
  }

  failed(id, text) {
    this.sent.delete(String(id));
    this.redrawKeepingFocus();
    this.message.textContent = text;
  }

  /** The connection or the server's state changed: buttons follow it. */
  setLive(liveness) {
    super.setLive(liveness);
    if (this.value) this.redrawKeepingFocus();
  }

  tick(now = Date.now()) {
    super.tick(now);
    for (const el of this.body.querySelectorAll(".alert-age[data-since]")) {
      const since = parseTime(el.dataset.since);
      if (since) el.textContent = `open ${formatDuration(since, now)}`;
    }
    // An acknowledgement the server has not answered on a working connection: say so.
    if (!this.context.connected()) {
      for (const id of this.sent.keys()) this.sent.set(id, now);
      return;
    }
    for (const [id, at] of this.sent) {
      if (now - at > ANSWER_WITHIN_MS) this.failed(id, "The server did not answer the acknowledgement; try again.");
    }
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
