"""`python -m bench` (`make bench`): the live dashboard under load, and its fan-out limit.

See docs/bench-load.md for what is measured and how to read the report.
"""

from __future__ import annotations

import argparse
import os
import sys


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Start the real stack on 127.0.0.1 (server, listener, simulator, load "
        "generators), hold N authenticated dashboards, measure change-to-client latency, "
        "deliveries, CPU and memory, and compare the dashboard's fan-out with a bare Channels "
        "consumer. Writes bench/results/load-<timestamp>.json and .png.",
    )
    parser.add_argument("--clients", type=int, default=None, help="dashboards held (1000)")
    parser.add_argument(
        "--rate", type=float, default=20.0, help="simulated hospital changes per second (20)"
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds of measured load per configuration (30)",
    )
    parser.add_argument(
        "--instances",
        type=int,
        choices=[1, 2],
        default=1,
        help="2: measure one instance, then two sharing Redis, clients spread",
    )
    parser.add_argument(
        "--server",
        choices=["daphne", "uvicorn"],
        default="uvicorn",
        help="serve the dashboard with this server (uvicorn, the default); the fan-out "
        "measurement compares both",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes of each dashboard instance (serve's default: one per core)",
    )
    parser.add_argument(
        "--slow-clients",
        type=int,
        default=0,
        help="also measure the load with this many dashboards that never read; slow sockets "
        "are closed after DASHBOARD_SLOW_SOCKET_SECONDS=5 in both runs",
    )
    parser.add_argument(
        "--per-metric",
        action="store_true",
        help="clients take one dashboard_update frame per metric (default: dashboard_updates, "
        "as the bundled page asks)",
    )
    parser.add_argument(
        "--authenticate",
        action="store_true",
        help="clients sign in with an authenticate message after connecting (default: a "
        "one-time ticket in the handshake, as the bundled page does)",
    )
    parser.add_argument(
        "--lean-clients",
        action="store_true",
        help="once signed in, clients parse the server's frames themselves instead of through "
        "the websockets library (what 10,000 sockets need on two shared cores)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 200 dashboards, 10 s, 5 s paced fan-out"
    )
    parser.add_argument(
        "--generators",
        type=int,
        default=None,
        help="load generator processes sharing the clients (2)",
    )
    parser.add_argument(
        "--marker-rate", type=float, default=2.0, help="marker changes per second and tier (2)"
    )
    parser.add_argument(
        "--burst-clients", type=int, default=200, help="sockets in the fan-out runs"
    )
    parser.add_argument("--burst-count", type=int, default=200, help="messages in a burst")
    parser.add_argument(
        "--paced-rate", type=float, default=10.0, help="paced broadcasts per second"
    )
    parser.add_argument(
        "--paced-seconds",
        type=float,
        default=None,
        help="paced seconds per server, over all rounds (10)",
    )
    parser.add_argument(
        "--fanout-only",
        action="store_true",
        help="only the fan-out comparison (no listener, simulator or dashboards under load)",
    )
    parser.add_argument(
        "--fanout-servers",
        default="uvicorn,daphne",
        help="the servers of the fan-out comparison, in order (uvicorn,daphne)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="fan-out rounds, alternating between the servers (3)"
    )
    parser.add_argument(
        "--connect-concurrency",
        type=int,
        default=50,
        help="WebSocket handshakes in flight per generator",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the first server with py-spy during the first load window",
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--keep", action="store_true", help="keep the run's directory and logs")
    parser.add_argument(
        "--audit",
        choices=("on", "off"),
        default="on",
        help="the audit trail in every process of the run (DASHBOARD_AUDIT_ENABLED; on)",
    )
    options = parser.parse_args(argv)
    quick = options.quick
    if options.clients is None:
        options.clients = 200 if quick else 1000
    if options.duration is None:
        options.duration = 10.0 if quick else 30.0
    if options.paced_seconds is None:
        options.paced_seconds = 5.0 if quick else 10.0
    if options.generators is None:
        options.generators = 2
    if not options.redis_url.startswith(("redis://127.0.0.1", "redis://localhost")):
        parser.error("the benchmark only talks to a Redis on 127.0.0.1")
    if options.clients < 1 or options.duration <= 0 or options.rate <= 0:
        parser.error("--clients, --duration and --rate must be positive")
    if not 0 <= options.slow_clients < options.clients:
        parser.error("--slow-clients must be fewer than --clients")
    options.fanout_servers = [kind.strip() for kind in options.fanout_servers.split(",")]
    if not options.fanout_servers or not set(options.fanout_servers) <= {"daphne", "uvicorn"}:
        parser.error("--fanout-servers takes daphne, uvicorn or both, comma-separated")
    return options


def main() -> int:
    options = parse(sys.argv[1:])
    # The metric catalogue is derived from the configured metric modules (DASHBOARD_METRICS):
    # this process reads it for the names and tiers it measures.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
    import django

    django.setup()
    from bench.load.runner import run

    return run(options)


if __name__ == "__main__":
    sys.exit(main())
