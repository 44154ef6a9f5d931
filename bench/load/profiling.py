"""Where a server process spends its time: a summary of py-spy's raw (collapsed-stack) output."""

from __future__ import annotations

import re
from collections import Counter

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
TOP = 15


def _parse(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip(), "?"
    return match["func"], match["file"]


def _package(path: str) -> str:
    path = path.replace("\\", "/")
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    head = path.split("/", 1)[0]
    return head[:-3] if head.endswith(".py") else head


def summarize(raw: str) -> dict:
    """Samples (busy only), top functions by own time, own time by package, top inclusive."""
    own: Counter = Counter()
    by_package: Counter = Counter()
    inclusive: Counter = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_parse(f) for f in stack.split(";") if f]
        if not frames:
            continue
        func, path = frames[-1]
        own[f"{func} ({path})"] += n
        by_package[_package(path)] += n
        for name in {f"{f} ({p})" for f, p in frames}:
            inclusive[name] += n
    if not total:
        return {"samples": 0}

    def share(counter: Counter, limit: int, skip_over: float = 1.01) -> list[list]:
        rows = [(name, n) for name, n in counter.most_common() if n / total <= skip_over]
        return [[name, round(100 * n / total, 1)] for name, n in rows[:limit]]

    return {
        "samples": total,
        "own_percent": share(own, TOP),
        "own_percent_by_package": share(by_package, TOP),
        # Frames on (nearly) every stack, such as the event loop's, say nothing: left out.
        "inclusive_percent": share(inclusive, 25, skip_over=0.9),
    }
