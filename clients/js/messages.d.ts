// Hospital live dashboard: WebSocket protocol, version 1.0.0: every message, from the
// AsyncAPI document the server publishes at GET /api/asyncapi/ (written by generate-types.mjs).

export type LiveMetric = "patientCount" | "emergencyAlerts" | "roomOccupancy" | "erWaiting" | "todayAppointments" | "revenue" | "staffActivity" | "dischargesToday";

/** Each live metric's `data`. */
export interface MetricData {
  patientCount: PatientCount;
  emergencyAlerts: EmergencyAlerts;
  roomOccupancy: RoomOccupancy;
  erWaiting: ErWaiting;
  todayAppointments: TodayAppointments;
  revenue: Revenue;
  staffActivity: StaffActivity;
  dischargesToday: DischargesToday;
}

/** The messages the server sends, by type. */
export interface ServerMessages {
  connection_status: {
    type: "connection_status";
    status: "connected" | "degraded" | "stale" | "recovered";
    instance: string;
    serverTime: string;
    /** What stands in the way, comma-separated codes: redis_unavailable (updates are polled), listener_down (no change-stream listener is active; updates are polled), mongodb_unreachable (values are the last known) */
    detail?: string;
    requestId?: string;
  };
  authenticated: {
    type: "authenticated";
    success: true;
    user: {
      id: number;
      username: string;
    };
    /** a person, or a wall display (which never acknowledges alerts) */
    kind: "user" | "display";
    level: "super_admin" | "admin" | "viewer";
    departments: Array<string>;
    metrics: Array<"patientCount" | "emergencyAlerts" | "roomOccupancy" | "erWaiting" | "todayAppointments" | "revenue" | "staffActivity" | "dischargesToday">;
    expiresAt: string | null;
    requestId?: string;
  };
  /** The signed-in user's level, departments or metrics changed while the socket is open. No value computed over the new departments comes before it, and none of a metric the user may no longer see comes after it; subscriptions to such metrics are dropped (a `subscriptions` message follows). A user who lost access gets `auth_error` and close 4003 instead. */
  access_changed: {
    type: "access_changed";
    /** a person, or a wall display (which never acknowledges alerts) */
    kind: "user" | "display";
    level: "super_admin" | "admin" | "viewer";
    departments: Array<string>;
    metrics: Array<"patientCount" | "emergencyAlerts" | "roomOccupancy" | "erWaiting" | "todayAppointments" | "revenue" | "staffActivity" | "dischargesToday">;
    requestId?: string;
  };
  auth_error: {
    type: "auth_error";
    error: "different_user" | "invalid_ticket" | "invalid_token" | "no_dashboard_access" | "token_expired" | "user_inactive";
    requestId?: string;
  };
  subscriptions: {
    type: "subscriptions";
    metrics: Array<"patientCount" | "emergencyAlerts" | "roomOccupancy" | "erWaiting" | "todayAppointments" | "revenue" | "staffActivity" | "dischargesToday">;
    requestId?: string;
  };
  dashboard_update: {
    type: "dashboard_update";
    metric: "patientCount";
    data: PatientCount;
    updatedAt: string;
    stale: boolean;
    /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
    version: number;
    requestId?: string;
  } | {
    type: "dashboard_update";
    metric: "emergencyAlerts";
    data: EmergencyAlerts;
    updatedAt: string;
    stale: boolean;
    /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
    version: number;
    requestId?: string;
  } | {
    type: "dashboard_update";
    metric: "roomOccupancy";
    data: RoomOccupancy;
    updatedAt: string;
    stale: boolean;
    /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
    version: number;
    requestId?: string;
  } | {
    type: "dashboard_update";
    metric: "erWaiting";
    data: ErWaiting;
    updatedAt: string;
    stale: boolean;
    /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
    version: number;
    requestId?: string;
  } | {
    type: "dashboard_update";
    metric: "todayAppointments";
    data: TodayAppointments;
    updatedAt: string;
    stale: boolean;
    /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
    version: number;
    requestId?: string;
  } | {
    type: "dashboard_update";
    metric: "revenue";
    data: Revenue;
    updatedAt: string;
    stale: boolean;
    /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
    version: number;
    requestId?: string;
  } | {
    type: "dashboard_update";
    metric: "staffActivity";
    data: StaffActivity;
    updatedAt: string;
    stale: boolean;
    /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
    version: number;
    requestId?: string;
  } | {
    type: "dashboard_update";
    metric: "dischargesToday";
    data: DischargesToday;
    updatedAt: string;
    stale: boolean;
    /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
    version: number;
    requestId?: string;
  };
  dashboard_updates: {
    type: "dashboard_updates";
    updates: Array<{
      metric: "patientCount";
      data: PatientCount;
      updatedAt: string;
      stale: boolean;
      /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
      version: number;
    } | {
      metric: "emergencyAlerts";
      data: EmergencyAlerts;
      updatedAt: string;
      stale: boolean;
      /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
      version: number;
    } | {
      metric: "roomOccupancy";
      data: RoomOccupancy;
      updatedAt: string;
      stale: boolean;
      /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
      version: number;
    } | {
      metric: "erWaiting";
      data: ErWaiting;
      updatedAt: string;
      stale: boolean;
      /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
      version: number;
    } | {
      metric: "todayAppointments";
      data: TodayAppointments;
      updatedAt: string;
      stale: boolean;
      /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
      version: number;
    } | {
      metric: "revenue";
      data: Revenue;
      updatedAt: string;
      stale: boolean;
      /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
      version: number;
    } | {
      metric: "staffActivity";
      data: StaffActivity;
      updatedAt: string;
      stale: boolean;
      /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
      version: number;
    } | {
      metric: "dischargesToday";
      data: DischargesToday;
      updatedAt: string;
      stale: boolean;
      /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
      version: number;
    }>;
    requestId?: string;
  };
  metrics_snapshot: {
    type: "metrics_snapshot";
    metrics: SnapshotMetrics;
    requestId?: string;
  };
  historical_data: {
    type: "historical_data";
    timeRange: TimeRange;
    hourlyStats: Array<HourlyStat>;
    departmentMetrics: Array<DepartmentMetric>;
    requestId?: string;
  };
  alert_acknowledged: {
    type: "alert_acknowledged";
    alertId: string;
    acknowledgedBy: string;
    acknowledgedAt: string;
    requestId?: string;
  };
  error: {
    type: "error";
    code: "alert_not_found" | "forbidden" | "invalid_json" | "invalid_message" | "invalid_time_range" | "metrics_unavailable" | "not_authenticated" | "rate_limited" | "server_error" | "time_range_in_future" | "time_range_order" | "time_range_too_long" | "unknown_event" | "unknown_metric";
    message: string;
    retryAfter?: number;
    metrics?: Array<string>;
    requestId?: string;
  };
  pong: {
    type: "pong";
    serverTime: string;
    requestId?: string;
  };
}

/** The messages a client sends, by type. */
export interface ClientMessages {
  authenticate: {
    type: "authenticate";
    token: string;
    batch?: boolean;
    requestId?: string;
  };
  subscribe_metrics: {
    type: "subscribe_metrics";
    metrics: Array<string>;
    requestId?: string;
  };
  unsubscribe_metrics: {
    type: "unsubscribe_metrics";
    metrics: Array<string>;
    requestId?: string;
  };
  request_snapshot: {
    type: "request_snapshot";
    requestId?: string;
  };
  request_historical: {
    type: "request_historical";
    timeRange: {
      start: string;
      end: string;
    };
    requestId?: string;
  };
  acknowledge_alert: {
    type: "acknowledge_alert";
    alertId: string;
    requestId?: string;
  };
  ping: {
    type: "ping";
    requestId?: string;
  };
}

export type ServerMessage = ServerMessages[keyof ServerMessages];
export type ClientMessage = ClientMessages[keyof ClientMessages];
export type DashboardUpdate = ServerMessages["dashboard_update"];
export type ErrorCode = ServerMessages["error"]["code"];
export type AuthErrorCode = ServerMessages["auth_error"]["error"];

/**
 * The codes the server closes a socket with:
 * - 1008: 30 messages refused by the rate limit within a minute
 * - 1009: a frame over 16384 bytes
 * - 1013: the server is full, or a newer socket needed the slot of this one, which had not authenticated
 * - 4001: no authenticate within 10 s, three failed ones, or an expired token not renewed within 10 s
 * - 4003: the user lost dashboard access (after an auth_error)
 * - 4008: the socket did not read its updates for DASHBOARD_SLOW_SOCKET_SECONDS (30 s)
 * - 4029: over a fair share: too many sockets for this user, or from this address (signed in, or waiting to sign in)
 */
export type CloseCode = 1008 | 1009 | 1013 | 4001 | 4003 | 4008 | 4029;

export interface PatientCount {
  total: number;
  /** Department code -> value; documents without a department appear as "unassigned" in the all-departments scope only. */
  byDepartment: { [key: string]: number };
}

export interface EmergencyAlerts {
  /** Every open emergency in scope. */
  total: number;
  /** Newest first, at most 50. */
  alerts: Array<Alert>;
}

export interface Alert {
  id: string;
  patientId: string | null;
  departmentId: string | null;
  stage: string | null;
  startedAt: string | null;
  acknowledgedBy?: string;
  acknowledgedAt?: string;
}

export interface RoomOccupancy {
  totals: Occupancy;
  /** Department code -> value; documents without a department appear as "unassigned" in the all-departments scope only. */
  byDepartment: { [key: string]: DepartmentOccupancy };
}

export interface Occupancy {
  rooms: number;
  beds: number;
  occupiedBeds: number;
  /** occupiedBeds / beds, 4 decimals; 0 without beds. */
  occupancyRate: number;
}

export interface DepartmentOccupancy {
  rooms: number;
  beds: number;
  occupiedBeds: number;
  /** occupiedBeds / beds, 4 decimals; 0 without beds. */
  occupancyRate: number;
  byType: { [key: string]: BedCounts };
  /** Rooms per status. */
  byStatus: { [key: string]: number };
}

export interface BedCounts {
  rooms: number;
  beds: number;
  occupiedBeds: number;
}

export interface ErWaiting {
  /** Patients waiting to be seen. */
  total: number;
  /** Since the registration of the one waiting longest; 0 when nobody waits. */
  longestWaitSeconds: number;
  oldestRegisteredAt: string | null;
  /** Triage level ("1" most urgent .. "5"), zeros included. */
  byTriage: { [key: string]: number };
  /** Department code -> value; documents without a department appear as "unassigned" in the all-departments scope only. */
  byDepartment: { [key: string]: number };
}

export interface TodayAppointments {
  total: number;
  /** Every status, zeros included. */
  byStatus: { [key: string]: number };
  /** Department code -> value; documents without a department appear as "unassigned" in the all-departments scope only. */
  byDepartment: { [key: string]: number };
}

export interface Revenue {
  currency: string;
  paidTodayCents: number;
  pendingCents: number;
  /** Department code -> cents paid today. Department code -> value; documents without a department appear as "unassigned" in the all-departments scope only. */
  byDepartment: { [key: string]: number };
}

export interface StaffActivity {
  total: number;
  /** Every status, zeros included. */
  byStatus: { [key: string]: number };
  /** Every role, zeros included. */
  byRole: { [key: string]: number };
  /** Department code -> value; documents without a department appear as "unassigned" in the all-departments scope only. */
  byDepartment: { [key: string]: { [key: string]: number } };
}

export interface DischargesToday {
  /** Inpatients discharged since local midnight. */
  total: number;
  /** Of those, discharged before local noon. */
  beforeNoon: number;
  /** beforeNoon / total, 4 decimals; 0 if none. */
  beforeNoonShare: number;
  /** Department code -> value; documents without a department appear as "unassigned" in the all-departments scope only. */
  byDepartment: { [key: string]: number };
}

/** Only the metrics the caller may see are present (viewers get no revenue). */
export interface SnapshotMetrics {
  patientCount?: PatientCountValue;
  emergencyAlerts?: EmergencyAlertsValue;
  roomOccupancy?: RoomOccupancyValue;
  erWaiting?: ErWaitingValue;
  todayAppointments?: TodayAppointmentsValue;
  revenue?: RevenueValue;
  staffActivity?: StaffActivityValue;
  dischargesToday?: DischargesTodayValue;
}

export interface PatientCountValue {
  data: PatientCount;
  /** When the value's computation started. */
  updatedAt: string;
  /** True when served from cache while the hospital database is unreachable. */
  stale: boolean;
  /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
  version: number;
}

export interface EmergencyAlertsValue {
  data: EmergencyAlerts;
  /** When the value's computation started. */
  updatedAt: string;
  /** True when served from cache while the hospital database is unreachable. */
  stale: boolean;
  /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
  version: number;
}

export interface RoomOccupancyValue {
  data: RoomOccupancy;
  /** When the value's computation started. */
  updatedAt: string;
  /** True when served from cache while the hospital database is unreachable. */
  stale: boolean;
  /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
  version: number;
}

export interface ErWaitingValue {
  data: ErWaiting;
  /** When the value's computation started. */
  updatedAt: string;
  /** True when served from cache while the hospital database is unreachable. */
  stale: boolean;
  /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
  version: number;
}

export interface TodayAppointmentsValue {
  data: TodayAppointments;
  /** When the value's computation started. */
  updatedAt: string;
  /** True when served from cache while the hospital database is unreachable. */
  stale: boolean;
  /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
  version: number;
}

export interface RevenueValue {
  data: Revenue;
  /** When the value's computation started. */
  updatedAt: string;
  /** True when served from cache while the hospital database is unreachable. */
  stale: boolean;
  /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
  version: number;
}

export interface StaffActivityValue {
  data: StaffActivity;
  /** When the value's computation started. */
  updatedAt: string;
  /** True when served from cache while the hospital database is unreachable. */
  stale: boolean;
  /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
  version: number;
}

export interface DischargesTodayValue {
  data: DischargesToday;
  /** When the value's computation started. */
  updatedAt: string;
  /** True when served from cache while the hospital database is unreachable. */
  stale: boolean;
  /** The hospital database's position (cluster time, seconds << 21 | increment) of the state the value reflects; the same clock for every server and the listener. Compare numerically: keep a value whose version is greater than or equal to the one you hold (equal: the same state computed again later). Below 2^53, exact as a JavaScript number. */
  version: number;
}

export interface TimeRange {
  /** Widened outward to a whole hour (hospital time zone). */
  start: string;
  end: string;
}

/** The counts a historical row carries, per hour or per department. */
export interface HourlyStat {
  newPatients: number;
  appointments: number;
  completedAppointments: number;
  /** Absent for viewers. */
  revenueCents?: number;
  emergencies: number;
  /** Start of the local hour, with the hospital's offset. */
  hour: string;
}

/** The counts a historical row carries, per hour or per department. */
export interface DepartmentMetric {
  newPatients: number;
  appointments: number;
  completedAppointments: number;
  /** Absent for viewers. */
  revenueCents?: number;
  emergencies: number;
  departmentId: string;
  name: string;
}
