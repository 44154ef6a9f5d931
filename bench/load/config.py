"""What a run measures with: sizes, rates and timings shared by the measurements."""

from __future__ import annotations

from dataclasses import dataclass

SIMULATOR_WARMUP = 3.0
WRITER_DRAIN = 3.0


@dataclass
class Settings:
    clients: int
    rate: float
    duration: float
    marker_rate: float
    generators: int
    burst_clients: int
    burst_count: int
    paced_rate: float
    paced_seconds: float
    fanout_rounds: int
    connect_concurrency: int
    profile: bool
    batch: bool = True  # clients ask for dashboard_updates frames, as the bundled page does
    # Clients sign in by a one-time ticket in the handshake, as the bundled page does (else with
    # an authenticate message once connected).
    tickets: bool = True
    lean_clients: bool = False  # signed-in clients parse frames themselves (generator.LeanReader)


def ready_timeout(clients: int) -> float:
    return 60 + clients / 20
