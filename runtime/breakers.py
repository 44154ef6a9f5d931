"""Circuit breakers around Redis and MongoDB (pybreaker: closed, open, half-open with one trial).

After `fail_max` consecutive failures a breaker opens and calls fail fast for
`reset_timeout` seconds; then one trial call decides between closing and
opening again. Their states show in /metrics and /health/.
"""

from __future__ import annotations

import datetime as dt
import logging

import pybreaker
from pymongo.errors import ConnectionFailure, ServerSelectionTimeoutError

from . import telemetry

logger = logging.getLogger("dashboard.breakers")

STATE_VALUES = {pybreaker.STATE_CLOSED: 0, pybreaker.STATE_HALF_OPEN: 1, pybreaker.STATE_OPEN: 2}


# breaker name -> when it last opened (while it is not closed).
_opened_at: dict[str, dt.datetime] = {}


class _Exporter(pybreaker.CircuitBreakerListener):
    def state_change(self, breaker, old, new) -> None:
        name = new.name if hasattr(new, "name") else str(new)
        telemetry.circuit_state.labels(dependency=breaker.name).set(STATE_VALUES.get(name, 0))
        if name == pybreaker.STATE_OPEN:
            _opened_at[str(breaker.name)] = dt.datetime.now(dt.UTC)
        elif name == pybreaker.STATE_CLOSED:
            _opened_at.pop(str(breaker.name), None)
        logger.warning("circuit %s: %s -> %s", breaker.name, getattr(old, "name", old), name)


def _breaker(name: str, exclude: list | None = None) -> pybreaker.CircuitBreaker:
    breaker = pybreaker.CircuitBreaker(
        fail_max=3, reset_timeout=5, name=name, listeners=[_Exporter()], exclude=exclude or []
    )
    telemetry.circuit_state.labels(dependency=name).set(0)
    return breaker


def _not_a_connection_problem(exc: BaseException) -> bool:
    """Only unreachability trips the MongoDB breaker; a bad query is not an outage."""
    return not isinstance(exc, ConnectionFailure | ServerSelectionTimeoutError)


redis_breaker = _breaker("redis")
mongodb_breaker = _breaker("mongodb", exclude=[_not_a_connection_problem])


def opened_at(breaker: pybreaker.CircuitBreaker) -> dt.datetime | None:
    """When `breaker` opened, while it is open or half-open; None while closed."""
    if breaker.current_state == pybreaker.STATE_CLOSED:
        return None
    return _opened_at.get(str(breaker.name))


def states() -> dict[str, str]:
    return {
        str(breaker.name): breaker.current_state for breaker in (redis_breaker, mongodb_breaker)
    }


CircuitOpen = pybreaker.CircuitBreakerError
