"""The listener's periodic account: one INFO line every 30 s instead of one per flush."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

SUMMARY_SECONDS = 30.0


class PeriodSummary:
    """Changes, flushes, broadcasts, lag, drift corrections (and verifications) since the last line."""

    def __init__(
        self, every: float = SUMMARY_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.every = every
        self.clock = clock
        self._reset(clock())

    def _reset(self, now: float) -> None:
        self.started = now
        self.changes = 0
        self.flushes = 0
        self.broadcasts = 0
        self.lags_ms: list[float] = []
        self.verified = 0  # metrics compared with the full aggregation
        self.corrections = 0

    def flushed(self, broadcasts: int, lag: float | None) -> None:
        self.flushes += 1
        self.broadcasts += broadcasts
        if lag is not None:
            self.lags_ms.append(lag * 1000)

    def due(self) -> bool:
        return self.clock() - self.started >= self.every

    def line(self) -> str:
        """The period's line; the next period starts now."""
        now = self.clock()
        if self.lags_ms:
            lag = (
                f"lag p50 {statistics.median(self.lags_ms):.0f} ms, max {max(self.lags_ms):.0f} ms"
            )
        else:
            lag = "lag -"
        text = (
            f"listener, last {now - self.started:.0f} s: {self.changes} changes, "
            f"{self.flushes} flushes, {self.broadcasts} broadcasts, {lag}, "
            f"{self.corrections} drift corrections"
            + (f" ({self.verified} metrics verified)" if self.verified else "")
        )
        self._reset(now)
        return text
