// The types of dashboard-client.js. The messages' own types are in messages.d.ts, written from
// the server's AsyncAPI document by generate-types.mjs.

import type {
  Alert,
  ClientMessage,
  ErrorCode,
  LiveMetric,
  MetricData,
  ServerMessage,
  ServerMessages,
} from "./messages.js";

export * from "./messages.js";

export type Status = "idle" | "connecting" | "live" | "reconnecting" | "offline" | "closed";

export interface StatusEvent {
  status: Status;
  /** The server's last word on what it can serve ("recovered" reads as connected). */
  server: { status: "connected" | "degraded" | "stale"; detail: string | null };
  /** Failed attempts since the client was last live. */
  attempt: number;
  /** When the next attempt is due (ms since the epoch), or null. */
  nextRetryAt: number | null;
  /** How the last socket closed (null: live, or dropped by the client for silence). */
  closeCode: number | null;
}

export interface Access {
  user: { id: number; username: string } | null;
  kind: "user" | "display";
  level: "super_admin" | "admin" | "viewer";
  departments: string[];
  metrics: LiveMetric[];
}

export interface AccessEvent extends Access {
  reason: "authenticated" | "access_changed";
}

/** A metric's value as the client keeps it (a version never goes down). */
export type MetricValue<M extends LiveMetric = LiveMetric> = {
  [K in M]: { metric: K; data: MetricData[K]; updatedAt: string; stale: boolean; version: number };
}[M];

export interface AlertEvent {
  change: "opened" | "acknowledged";
  alert: Alert;
}

export interface DashboardError extends Error {
  /** The server's error or auth_error code, or the client's: token_unavailable,
   * access_revoked (closed with 4003), disconnected, closed. */
  code: ErrorCode | "different_user" | "invalid_token" | "user_inactive" | "no_dashboard_access"
    | "access_revoked" | "token_unavailable" | "disconnected" | "closed";
  /** The message it answers, if any (without a token). */
  request?: ClientMessage | null;
  retryAfter?: number;
  metrics?: string[];
  /** The session is over: the client stopped. */
  fatal?: boolean;
}

export interface Events {
  status: (event: StatusEvent) => void;
  access: (event: AccessEvent) => void;
  subscriptions: (metrics: LiveMetric[]) => void;
  update: (value: MetricValue, previous: MetricValue | null) => void;
  alert: (event: AlertEvent) => void;
  message: (message: ServerMessage, request: ClientMessage | null) => void;
  error: (error: DashboardError) => void;
}

export interface Tuning {
  retryBaseMs?: number;
  retryMaxMs?: number;
  quickRetries?: number;
  probeMs?: number;
  pingAfterMs?: number;
  dropAfterMs?: number;
  burst?: number;
  refillMs?: number;
  refreshLeadMs?: number;
}

export interface Options extends Tuning {
  /** The dashboard server (default: the page's origin). */
  url?: string | URL;
  /** An access token, asked on every (re)connect and renewal; `renew`: the last one was
   * refused or expires soon. */
  getToken(context: { renew: boolean }): string | Promise<string>;
  /** The metrics to keep subscribed (default "all": every metric the user may see). */
  metrics?: LiveMetric[] | "all";
  /** Node: the `ws` package's WebSocket. */
  WebSocket?: unknown;
  fetch?: typeof fetch;
  /** Passed to the WebSocket constructor (Node with `ws`: `{ origin }`). */
  socketOptions?: object;
}

export declare const DEFAULTS: Readonly<Required<Tuning>>;

/** When a JWT expires (ms since the epoch), or null. */
export declare function tokenExpiry(token: string): number | null;

export declare class DashboardClient {
  constructor(options: Options);
  readonly status: Status;
  readonly server: StatusEvent["server"];
  readonly access: Access | null;
  readonly values: ReadonlyMap<LiveMetric, MetricValue>;
  readonly subscribed: ReadonlySet<LiveMetric>;
  readonly closeCode: number | null;
  readonly nextRetryAt: number | null;
  on<E extends keyof Events>(type: E, listener: Events[E]): () => void;
  start(): this;
  stop(reason?: string): void;
  retryNow(): void;
  authenticate(): void;
  subscribe(metrics: LiveMetric[]): void;
  unsubscribe(metrics: LiveMetric[]): void;
  value<M extends LiveMetric>(metric: M): MetricValue<M> | undefined;
  send(message: ClientMessage): string;
  request(message: ClientMessage): Promise<ServerMessage>;
  acknowledge(alertId: string): Promise<ServerMessages["alert_acknowledged"]>;
}
