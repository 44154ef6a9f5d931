"""Who acknowledged which emergency alert: read from the dashboard's own database.

Acknowledgements are only ever added (the first one stands). A reader that
lives on (the listener's incremental state) remembers what it read: it asks
the database about an alert once, and again only after the table changed
(its row count or highest id moved), so a build of emergencyAlerts usually
costs one small aggregate query instead of one lookup per listed alert.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from metrics.models import AlertAcknowledgement
from metrics.values import iso_utc

# SQLite caps the parameters of one query; acknowledgements are read in chunks.
_CHUNK = 500


class Acknowledgements:
    """Merges acknowledgements into alerts; `remember`: keep what was read for the next merge."""

    def __init__(self, *, remember: bool = False) -> None:
        self.remember = remember
        self._known: dict[str, tuple[str, str]] = {}  # alert id -> (username, ISO time)
        self._asked: set[str] = set()  # alert ids read since the table last changed
        self._table: tuple | None = None

    def changed(self) -> bool:
        """Has an acknowledgement been added since the last look? (Then everything is read again.)"""
        table = _table_state() if self.remember else None
        if self.remember and table == self._table:
            return False
        self._known.clear()
        self._asked.clear()
        self._table = table
        return True

    def merge(self, alerts: list[dict]) -> None:
        """Add acknowledgedBy / acknowledgedAt to each acknowledged alert (in place)."""
        if not self.remember:
            self.changed()
        self._read(sorted({alert["id"] for alert in alerts} - self._asked))
        for alert in alerts:
            found = self._known.get(alert["id"])
            if found is not None:
                alert["acknowledgedBy"], alert["acknowledgedAt"] = found

    def keep_only(self, ids: Iterable[str]) -> None:
        """Forget the alerts no longer listed."""
        listed = set(ids)
        self._asked &= listed
        self._known = {key: value for key, value in self._known.items() if key in listed}

    def _read(self, ids: list[str]) -> None:
        for offset in range(0, len(ids), _CHUNK):
            chunk = ids[offset : offset + _CHUNK]
            for alert_id, username, moment in _query(
                f"SELECT alert_id, acknowledged_by_username, acknowledged_at FROM {_table()} "
                f"WHERE alert_id IN ({', '.join(['%s'] * len(chunk))})",
                chunk,
            ):
                # A naive time from the database is UTC (Django stores UTC with USE_TZ).
                self._known[alert_id] = (username, iso_utc(moment))
        self._asked.update(ids)


# Plain SQL: these queries run on every build of emergencyAlerts, and the ORM's compilation
# of them costs ten times the query itself.
def _table() -> str:
    return connection.ops.quote_name(AlertAcknowledgement._meta.db_table)


def _query(sql: str, parameters: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        return cursor.fetchall()


def _table_state() -> tuple:
    """(rows, highest id) of the acknowledgements table: it moves whenever one is added."""
    return tuple(_query(f"SELECT COUNT(*), MAX(id) FROM {_table()}")[0])
