"""The pymongo-shaped surface of the embedded store: the client and its databases."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from pymongo.errors import OperationFailure

from .changestream import EmbeddedChangeStream, stream_options
from .collection import EmbeddedCollection
from .engine import Engine, OplogEntry
from .sessions import EmbeddedSession, cluster_time_document

_engines: dict[tuple[str, int, int], Engine] = {}
_engines_lock = threading.Lock()


def _engine_for(path: str, history: int) -> Engine:
    """One engine per file and process, shared by clients (like a connection pool).

    The process id is part of the key: a forked child must not use its parent's
    SQLite connection.
    """
    key = (path, history, os.getpid())
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None or path == ":memory:":
            engine = Engine(path, history)
            _engines[key] = engine
        return engine


class EmbeddedClient:
    """A MongoClient look-alike over one store file."""

    def __init__(self, path: str = ":memory:", history: int = 100_000) -> None:
        self._engine = _engine_for(path, history)
        self.path = path

    def __getitem__(self, name: str) -> EmbeddedDatabase:
        return EmbeddedDatabase(self, name)

    def __getattr__(self, name: str) -> EmbeddedDatabase:
        if name.startswith("_"):
            raise AttributeError(name)
        return EmbeddedDatabase(self, name)

    def get_database(self, name: str) -> EmbeddedDatabase:
        return EmbeddedDatabase(self, name)

    def start_session(
        self, causal_consistency: bool | None = None, **options: Any
    ) -> EmbeddedSession:
        """A session to pass as `session=`; its `operation_time` follows what ran in it."""
        return EmbeddedSession(self, self._engine, causal_consistency)

    def list_database_names(self, session: EmbeddedSession | None = None) -> list[str]:
        return self._engine.read(self._engine.database_names, session)

    def drop_database(
        self, name: str | EmbeddedDatabase, session: EmbeddedSession | None = None
    ) -> None:
        db_name = name.name if isinstance(name, EmbeddedDatabase) else name

        def operation():
            # As MongoDB: a drop event per collection, then dropDatabase; nothing if it is empty.
            colls = self._engine.collection_names(db_name)
            if not colls:
                return [], None
            entries = [OplogEntry(db_name, coll, "drop") for coll in colls]
            entries.append(OplogEntry(db_name, "", "dropDatabase"))
            return entries, None

        self._engine.write(operation, session)

    def watch(self, pipeline: list[dict] | None = None, **options: Any) -> EmbeddedChangeStream:
        return EmbeddedChangeStream(self._engine, None, None, pipeline, **stream_options(options))

    def server_info(self) -> dict:
        self._engine.check_reachable()
        return {"version": "embedded", "ok": 1.0}

    def set_unreachable(self, unreachable: bool) -> None:
        """Fault injection: every client of this store file fails as if MongoDB were down."""
        self._engine.set_unreachable(unreachable)

    def close(self) -> None:
        """Nothing to release: the engine is shared by the process's clients."""


class EmbeddedDatabase:
    def __init__(self, client: EmbeddedClient, name: str) -> None:
        self.client = client
        self.name = name

    @property
    def engine(self) -> Engine:
        return self.client._engine

    def __getitem__(self, name: str) -> EmbeddedCollection:
        return EmbeddedCollection(self, name)

    def __getattr__(self, name: str) -> EmbeddedCollection:
        if name.startswith("_"):
            raise AttributeError(name)
        return EmbeddedCollection(self, name)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, EmbeddedDatabase)
            and other.client._engine is self.client._engine
            and other.name == self.name
        )

    def __hash__(self) -> int:
        return hash((id(self.client._engine), self.name))

    def get_collection(self, name: str) -> EmbeddedCollection:
        return EmbeddedCollection(self, name)

    def list_collection_names(self, session: EmbeddedSession | None = None) -> list[str]:
        engine = self.client._engine
        return engine.read(lambda: engine.collection_names(self.name), session)

    def drop_collection(self, name: str, session: EmbeddedSession | None = None) -> None:
        EmbeddedCollection(self, name).drop(session=session)

    def command(
        self,
        command: str | Mapping[str, Any],
        session: EmbeddedSession | None = None,
        **kwargs: Any,
    ) -> dict:
        """`ping` and `hello`, answered with the store's position (`operationTime`), as a
        replica set answers every command."""
        name = command if isinstance(command, str) else next(iter(command))
        engine = self.client._engine
        if name == "ping":
            reply: dict[str, Any] = {"ok": 1.0}
        elif name in ("hello", "isMaster", "ismaster"):
            reply = {"isWritablePrimary": True, "ismaster": True, "setName": "embedded", "ok": 1.0}
        else:
            engine.check_reachable()
            raise OperationFailure(
                f"command {name!r} is not supported by the embedded store", code=59
            )
        position = engine.read(engine.position, session)
        return {**reply, "$clusterTime": cluster_time_document(position), "operationTime": position}

    def watch(self, pipeline: list[dict] | None = None, **options: Any) -> EmbeddedChangeStream:
        return EmbeddedChangeStream(
            self.client._engine, self.name, None, pipeline, **stream_options(options)
        )
