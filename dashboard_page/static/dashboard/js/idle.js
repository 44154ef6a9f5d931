// Idle sign-out of a personal session (docs/sign-in.md): after the server's idle limit
// (the page's `data-idle-signout-seconds`, from DASHBOARD_IDLE_SIGNOUT_MINUTES) without a
// pointer, keyboard, touch or visibility event, the page signs out. Displays never run it.

// What counts as someone being at the screen.
const INTERACTIONS = ["pointerdown", "pointermove", "keydown", "wheel", "touchstart", "visibilitychange"];

export class IdleWatch {
  /** seconds: the limit (0 or less: never); onIdle(): sign out. */
  constructor({ seconds, onIdle }) {
    this.seconds = Number.isFinite(seconds) ? seconds : 0;
    this.onIdle = onIdle;
    this.last = 0;
    this.timer = null;
    this.running = false;
    this.interacted = () => this.touch();
  }

  get enabled() {
    return this.seconds > 0;
  }

  start() {
    if (!this.enabled || this.running) return;
    this.running = true;
    this.last = Date.now();
    for (const type of INTERACTIONS) {
      document.addEventListener(type, this.interacted, { capture: true, passive: true });
    }
    this.plan();
  }

  stop() {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.timer);
    this.timer = null;
    for (const type of INTERACTIONS) document.removeEventListener(type, this.interacted, { capture: true });
  }

  /** An interaction: the idle time starts again, unless the limit already passed (a tab
   * coming back into view after hours, whose timers the browser held back). */
  touch() {
    if (!this.running) return;
    if (this.expired()) {
      this.fire();
      return;
    }
    this.last = Date.now();
  }

  expired() {
    return Date.now() - this.last >= this.seconds * 1000;
  }

  plan() {
    clearTimeout(this.timer);
    const left = this.last + this.seconds * 1000 - Date.now();
    this.timer = setTimeout(() => (this.expired() ? this.fire() : this.plan()), Math.max(50, left));
  }

  fire() {
    this.stop();
    this.onIdle();
  }
}

/** "15 minutes", "1 minute", "30 seconds": the limit as the notice says it. */
export function describeLimit(seconds) {
  if (seconds >= 60 && Number.isInteger(seconds / 60)) {
    const minutes = seconds / 60;
    return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  }
  const whole = Math.max(1, Math.round(seconds));
  return `${whole} second${whole === 1 ? "" : "s"}`;
}
