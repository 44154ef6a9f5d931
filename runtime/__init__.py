"""The shared runtime: what every app of the dashboard uses and no app owns.

Telemetry, circuit breakers, the Redis clients, off-loop execution, API and command errors,
throttling, the command line. It imports Django and third-party libraries, never an app
(accounts, metrics, live, simulator, dashboard_page) nor dashboard_project, which composes
them (docs/architecture.md; tests/foundation/test_layers.py).
"""
