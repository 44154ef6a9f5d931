"""Change streams over the embedded store's oplog, shaped like pymongo's ChangeStream."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from mongomock.aggregate import process_pipeline
from pymongo.errors import ConnectionFailure, OperationFailure

from . import codec
from .engine import Engine
from .errors import engine_errors
from .events import events_for

HISTORY_LOST = 286  # ChangeStreamHistoryLost
INVALID_RESUME_TOKEN = 260
_ALLOWED_STAGES = {"$match", "$project", "$addFields", "$set", "$unset", "$replaceRoot"}
_FULL_DOCUMENT_MODES = {None, "default", "updateLookup"}
_OPTIONS = {"full_document", "resume_after", "start_after", "max_await_time_ms", "batch_size"}
# How often a waiting stream looks for writes made by other processes: two indexed SQLite reads,
# about 1 % of a core at this pace, and a change seen 2.5 ms after its commit on average.
_POLL_SECONDS = 0.005


def stream_options(options: dict[str, Any]) -> dict[str, Any]:
    """watch()'s keyword arguments that the store honours; any other one set is refused.

    A `session` is taken and has no effect: a stream's events carry their own positions.
    """
    unknown = {key for key, value in options.items() if value is not None} - _OPTIONS - {"session"}
    if unknown:
        raise OperationFailure(f"watch() options not supported: {sorted(unknown)}", code=2)
    return {key: value for key, value in options.items() if key in _OPTIONS}


class EmbeddedChangeStream:
    """A change stream on a collection (coll set), a database (coll None) or the whole store."""

    def __init__(
        self,
        engine: Engine,
        db: str | None,
        coll: str | None,
        pipeline: list[dict] | None = None,
        full_document: str | None = None,
        resume_after: dict | None = None,
        start_after: dict | None = None,
        max_await_time_ms: int | None = None,
        batch_size: int | None = None,
    ) -> None:
        if full_document not in _FULL_DOCUMENT_MODES:
            raise OperationFailure(
                f"fullDocument {full_document!r} is not supported by the embedded store", code=2
            )
        self._engine = engine
        self._db = db
        self._coll = coll
        self._pipeline = _checked_pipeline(pipeline)
        self._full_document = full_document
        self._max_await = (1000 if max_await_time_ms is None else max_await_time_ms) / 1000
        self._batch_size = batch_size or 1000
        self._buffer: deque[dict] = deque()
        self._alive = True
        low, high = engine.oplog_bounds()
        token = resume_after if resume_after is not None else start_after
        if token is None:
            self._pos = high
        else:
            try:
                seq, is_invalidate = codec.parse_token(token)
            except ValueError as exc:
                raise OperationFailure(
                    f"invalid resume token: {exc}", code=INVALID_RESUME_TOKEN
                ) from None
            if is_invalidate and resume_after is not None:
                raise OperationFailure(
                    "cannot resume after an invalidate event; use start_after",
                    code=INVALID_RESUME_TOKEN,
                )
            _check_history(seq, low)
            self._pos = seq
        self._resume_token = codec.make_token(self._pos)

    # --- pymongo's ChangeStream interface ------------------------------------------------------
    @property
    def alive(self) -> bool:
        """False once closed or invalidated (after the invalidate event was returned)."""
        return self._alive

    @property
    def resume_token(self) -> dict:
        """The token to resume after what was returned (the post-batch token when caught up)."""
        return self._resume_token

    def try_next(self) -> dict | None:
        """The next change, waiting at most max_await_time_ms for one; None if none came.

        An unreachable store raises ServerSelectionTimeoutError and leaves the
        stream open: the next call picks up where it stopped, as pymongo's
        resumable errors do.
        """
        if not self._alive:
            return None
        deadline = time.monotonic() + self._max_await
        while not self._buffer:
            self._fetch()
            if self._buffer:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._resume_token = codec.make_token(self._pos)
                return None
            with self._engine.changed:
                self._engine.changed.wait(min(remaining, _POLL_SECONDS))
        event = self._buffer.popleft()
        if event["operationType"] == "invalidate":
            self._resume_token = event["_id"]
            self.close()
        elif self._buffer:
            self._resume_token = event["_id"]
        else:
            self._resume_token = codec.make_token(self._pos)
        return event

    def next(self) -> dict:
        while self._alive:
            event = self.try_next()
            if event is not None:
                return event
        raise StopIteration

    __next__ = next

    def __iter__(self) -> EmbeddedChangeStream:
        return self

    def close(self) -> None:
        self._alive = False
        self._buffer.clear()

    def __enter__(self) -> EmbeddedChangeStream:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # --- internals ---------------------------------------------------------------------------------
    def _fetch(self) -> None:
        try:
            entries = self._engine.oplog_after(self._pos, self._batch_size)
            if entries and entries[0].seq != self._pos + 1:
                low, _ = self._engine.oplog_bounds()
                _check_history(self._pos, low)
        except ConnectionFailure:
            raise  # resumable: the stream stays open at its position
        except Exception:
            self.close()
            raise
        for entry in entries:
            events = events_for(
                entry, self._db, self._coll, self._full_document, self._engine.lookup
            )
            for event in events:
                shaped = self._apply_pipeline(event)
                if shaped is not None:
                    self._buffer.append(shaped)
            self._pos = entry.seq
            if self._buffer and self._buffer[-1]["operationType"] == "invalidate":
                break

    def _apply_pipeline(self, event: dict) -> dict | None:
        if not self._pipeline or event["operationType"] == "invalidate":
            return event
        with engine_errors():
            results = list(process_pipeline([event], None, self._pipeline, None))
        if not results:
            return None
        shaped = results[0]
        if shaped.get("_id") != event["_id"]:
            self.close()
            raise OperationFailure(
                "Encountered an event whose _id field, which contains the resume token, "
                "was modified by the pipeline",
                code=280,
            )
        return shaped


def _checked_pipeline(pipeline: list[dict] | None) -> list[dict]:
    stages = [codec.normalize_value(stage) for stage in (pipeline or [])]
    for stage in stages:
        if not isinstance(stage, dict):
            raise OperationFailure("a change stream pipeline stage must be a document", code=14)
        for name in stage:
            if name not in _ALLOWED_STAGES:
                raise OperationFailure(
                    f"{name} is not permitted in a $changeStream pipeline", code=40324
                )
    with engine_errors():
        # Fail at watch(), as MongoDB does, rather than on the first event.
        process_pipeline([{"_id": {}, "operationType": "insert"}], None, stages, None)
    return stages


def _check_history(seq: int, low: int) -> None:
    if seq < low - 1:
        raise OperationFailure(
            "Resume of change stream was not possible, as the resume point may no longer "
            "be in the oplog (ChangeStreamHistoryLost)",
            code=HISTORY_LOST,
        )
