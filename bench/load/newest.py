"""What each client of a fan-out round ended with: every value sent, or the newest in place of some.

The dashboard's rule for a socket that falls behind is conflation: only the
newest value of each metric waits for it (docs/websocket-api.md). A value a
client did not get counts as a loss only if the client never got that value
or a newer one of the same key; one it did not get while a newer one came is
conflated. The bare consumer never conflates, so for it both are losses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol


class Received(Protocol):
    # key (metric or "bare") -> the versions or sequence numbers received in the window
    keys: Mapping[str, Sequence[int]]


def newest_tally(clients: Iterable[Received], sent: Mapping[str, Mapping[str, float]]) -> dict:
    """Over every (client, value sent): how many were `conflated` (a newer one arrived) and how
    many `missed` (nothing as new arrived), and how many clients lacked the newest of a key."""
    conflated = missed = without_newest = 0
    for client in clients:
        for key, times in sent.items():
            received = set(client.keys.get(key, ()))
            newest = max(received, default=None)
            owed = [int(ident) for ident in times]
            if owed and (newest is None or newest < max(owed)):
                without_newest += 1
            for ident in owed:
                if ident in received:
                    continue
                if newest is not None and ident < newest:
                    conflated += 1
                else:
                    missed += 1
    return {"conflated": conflated, "missed": missed, "clients_without_newest": without_newest}
