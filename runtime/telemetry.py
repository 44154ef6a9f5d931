"""The service's own Prometheus metrics (beside django-prometheus's), one registry per process.

With several workers (`serve --workers`, live/sockets/workers.py) they run in
prometheus_client's multiprocess mode: counters and histograms add up over
the workers, and each gauge says how (`multiprocess_mode`: live sockets add
up, a state takes the highest).
"""

from prometheus_client import Counter, Gauge, Histogram

connections_active = Gauge(
    "dashboard_ws_connections_active",
    "Open dashboard WebSocket connections of this instance",
    multiprocess_mode="livesum",
)
connections_total = Counter(
    "dashboard_ws_connections_total", "Dashboard WebSocket connections accepted"
)
connections_failed = Counter(
    "dashboard_ws_connections_failed_total", "Dashboard WebSocket connections refused", ["reason"]
)
slow_sockets_closed = Counter(
    "dashboard_ws_slow_closed_total",
    "Sockets closed with 4008 for not reading their updates (DASHBOARD_SLOW_SOCKET_SECONDS)",
)
messages_in = Counter(
    "dashboard_ws_messages_in_total", "Client messages received, by type", ["type"]
)
messages_out = Counter("dashboard_ws_messages_out_total", "Server messages sent, by type", ["type"])
errors = Counter("dashboard_errors_total", "Errors, by kind", ["kind"])
update_latency = Histogram(
    "dashboard_update_latency_seconds",
    "From a change's commit in MongoDB to the broadcast of the values it changed",
    ["tier"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
flush_delivery = Histogram(
    "dashboard_flush_delivery_seconds",
    "From a server process starting to deliver a flush to offering it to its last socket",
    ["tier"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 1.0, 2.5),
)
changes_processed = Counter(
    "dashboard_changes_processed_total", "Change events processed, by collection", ["collection"]
)
batch_size = Histogram(
    "dashboard_listener_batch_size",
    "Changes per listener batch",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500),
)
listener_lag = Gauge(
    "dashboard_listener_lag_seconds",
    "Age of the oldest change of the last batch when processed",
    multiprocess_mode="livemax",
)
listener_active = Gauge(
    "dashboard_listener_active",
    "1 while this process holds the listener lease and follows the stream",
    multiprocess_mode="livemax",
)
listener_heartbeat_age = Gauge(
    "dashboard_listener_heartbeat_age_seconds",
    "Seconds since the active listener last read its change stream, as this server process sees "
    "it (since it started watching, when it has seen no heartbeat)",
    multiprocess_mode="livemax",
)
resyncs = Counter("dashboard_listener_resyncs_total", "Full resyncs, by reason", ["reason"])
broadcasts = Counter("dashboard_broadcasts_total", "Metric values broadcast, by metric", ["metric"])
cache_requests = Counter(
    "dashboard_cache_requests_total",
    "Metric cache lookups, by layer and result",
    ["layer", "result"],
)
circuit_state = Gauge(
    "dashboard_circuit_state",
    "Circuit breaker state (0 closed, 1 half-open, 2 open)",
    ["dependency"],
    multiprocess_mode="livemax",
)
metric_drift = Counter(
    "dashboard_metric_drift_total",
    "Verification recounts that found an incrementally kept metric differing (then corrected)",
    ["metric"],
)
metric_verifications = Counter(
    "dashboard_metric_verifications_total",
    "Verification recounts of incrementally kept metrics, by result (match, drift, busy)",
    ["metric", "result"],
)
shadow_documents = Gauge(
    "dashboard_listener_shadow_documents",
    "Documents in the listener's shadow (those that count in a live metric), by metric",
    ["metric"],
)
shadow_bytes = Gauge(
    "dashboard_listener_shadow_bytes",
    "Memory of the listener's incremental state (shadow and groups), by metric",
    ["metric"],
)
shadow_bytes_per_document = Gauge(
    "dashboard_listener_shadow_bytes_per_document",
    "Incremental state bytes per shadowed document, by metric",
    ["metric"],
)
shadow_bytes_per_collection_document = Gauge(
    "dashboard_listener_shadow_bytes_per_collection_document",
    "Incremental state bytes per document of the collections the metric reads (counted at the last build)",
    ["metric"],
)
state_rebuild_seconds = Gauge(
    "dashboard_listener_state_rebuild_seconds",
    "Duration of the last build of the listener's incremental state (one scan per collection)",
)
direct_writes = Gauge(
    "dashboard_direct_writes",
    "1 while broadcast frames are written straight to each socket's connection, 0 when the "
    "server's internals they rely on are missing and frames go through ASGI send (live/sockets/frames.py)",
    multiprocess_mode="livemin",
)
gc_frozen_objects = Gauge(
    "dashboard_gc_frozen_objects",
    "Objects of a serving process taken out of the garbage collector's sight, counted at start "
    "and after each full sweep (runtime/collector.py)",
    multiprocess_mode="livesum",
)
gc_full_sweep_seconds = Histogram(
    "dashboard_gc_full_sweep_seconds",
    "Pauses of the full garbage collections a serving process runs itself (runtime/collector.py)",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
socket_write_failures = Counter(
    "dashboard_ws_write_failures_total",
    "Sockets closed with 1011 because writing an update to them raised",
)
audit_dropped = Counter(
    "dashboard_audit_dropped_total",
    "Audit entries dropped because the audit queue was full (DASHBOARD_AUDIT_QUEUE_SIZE)",
)
audit_written = Counter("dashboard_audit_written_total", "Audit entries written to the audit trail")
