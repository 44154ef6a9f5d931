"""Cursors over the embedded store: find()'s chainable cursor and aggregate()'s command cursor."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .engine import Engine
from .errors import engine_errors

# find() options pymongo takes that change nothing when every result is read at once.
_NO_EFFECT = {"batch_size", "max_time_ms", "hint", "comment", "allow_disk_use", "no_cursor_timeout"}


def sort_keys(key_or_list: Any, direction: Any = None) -> list[tuple[str, Any]]:
    """pymongo's sort arguments ("field", direction / [(field, direction)] / {field: direction})."""
    if isinstance(key_or_list, str):
        return [(key_or_list, 1 if direction is None else direction)]
    items = key_or_list.items() if isinstance(key_or_list, Mapping) else key_or_list
    return [(field, order) for field, order in items]


class EmbeddedCursor:
    """A find() cursor: chain sort/skip/limit, then iterate (results are read at once)."""

    def __init__(
        self,
        engine: Engine,
        mirror: Callable[[], Any],
        filter: dict,
        projection: Any = None,
        sort: Any = None,
        skip: int = 0,
        limit: int = 0,
        session: Any = None,
        **options: Any,
    ) -> None:
        unknown = set(options) - _NO_EFFECT
        if unknown:
            raise TypeError(f"find() got unexpected keyword arguments: {sorted(unknown)}")
        self._engine = engine
        self._session = session  # advanced when the results are read
        self._mirror = mirror  # the collection's mongomock mirror, read inside the engine
        self._filter = filter
        self._projection = projection
        self._sort = sort_keys(sort) if sort else None
        self.skip(skip)
        self.limit(limit)
        self._results: Iterator[dict] | None = None

    def sort(self, key_or_list: Any, direction: Any = None) -> EmbeddedCursor:
        self._sort = sort_keys(key_or_list, direction)
        return self

    def skip(self, count: int) -> EmbeddedCursor:
        if not isinstance(count, int) or isinstance(count, bool):
            raise TypeError("skip must be an integer")
        if count < 0:
            raise ValueError("skip must be >= 0")
        self._skip = count
        return self

    def limit(self, count: int) -> EmbeddedCursor:
        if not isinstance(count, int) or isinstance(count, bool):
            raise TypeError("limit must be an integer")
        self._limit = abs(count)  # a negative limit is a single batch of that size
        return self

    def batch_size(self, size: int) -> EmbeddedCursor:
        return self

    def max_time_ms(self, ms: int | None) -> EmbeddedCursor:
        return self

    def _load(self) -> Iterator[dict]:
        def operation():
            with engine_errors():
                cursor = self._mirror().find(self._filter, self._projection)
                if self._sort:
                    cursor = cursor.sort(self._sort)
                if self._skip:
                    cursor = cursor.skip(self._skip)
                if self._limit:
                    cursor = cursor.limit(self._limit)
                return list(cursor)

        return iter(self._engine.read(operation, self._session))

    def __iter__(self) -> Iterator[dict]:
        if self._results is None:
            self._results = self._load()
        return self._results

    def __next__(self) -> dict:
        return next(iter(self))

    next = __next__

    def to_list(self, length: int | None = None) -> list[dict]:
        items = list(iter(self))
        return items if length is None else items[:length]

    def rewind(self) -> EmbeddedCursor:
        self._results = None
        return self

    def close(self) -> None:
        self._results = iter(())

    def __enter__(self) -> EmbeddedCursor:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class EmbeddedCommandCursor:
    """aggregate()'s result: an iterator over the materialized documents."""

    def __init__(self, documents: list[dict]) -> None:
        self._documents = iter(documents)

    def __iter__(self) -> Iterator[dict]:
        return self._documents

    def __next__(self) -> dict:
        return next(self._documents)

    next = __next__

    def to_list(self, length: int | None = None) -> list[dict]:
        items = list(self._documents)
        return items if length is None else items[:length]

    def close(self) -> None:
        self._documents = iter(())

    def __enter__(self) -> EmbeddedCommandCursor:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
