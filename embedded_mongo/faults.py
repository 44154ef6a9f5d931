"""The fault switch: make a store file unreachable, for every process that has it open."""

from __future__ import annotations

import os

from pymongo.errors import ServerSelectionTimeoutError


class FaultSwitch:
    """A flag file beside the store file (a flag in memory for ":memory:" stores).

    A file, so that a test or an operator can take the store away from a server
    running in another process, which then fails as pymongo does when no
    MongoDB server can be selected.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._flag = None if path == ":memory:" else path + ".unreachable"
        self._in_memory = False

    @property
    def unreachable(self) -> bool:
        return self._in_memory if self._flag is None else os.path.exists(self._flag)

    def set(self, unreachable: bool) -> None:
        if self._flag is None:
            self._in_memory = unreachable
        elif unreachable:
            with open(self._flag, "w") as handle:
                handle.write("unreachable\n")
        elif os.path.exists(self._flag):
            os.unlink(self._flag)

    def check(self) -> None:
        """Raise ServerSelectionTimeoutError (an AutoReconnect) while switched off."""
        if self.unreachable:
            raise ServerSelectionTimeoutError(
                f"embedded store {self._path} is unreachable (fault switch)"
            )
