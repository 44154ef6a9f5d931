"""The embedded store's collection: pymongo's read, index and watch methods on top of its writes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from pymongo import IndexModel

from . import codec
from .changestream import EmbeddedChangeStream, stream_options
from .cursors import EmbeddedCommandCursor, EmbeddedCursor
from .engine import Engine
from .errors import engine_errors
from .indexes import UniqueGuard, already_exists, index_spec, information
from .modifications import CollectionModifications
from .pipeline import run_pipeline
from .sessions import EmbeddedSession
from .writes import CollectionWrites, query_filter


class ParentDatabase(Protocol):
    """What a collection needs of its database (client.EmbeddedDatabase, which makes them)."""

    name: str

    @property
    def engine(self) -> Engine: ...


class EmbeddedCollection(CollectionWrites, CollectionModifications):
    def __init__(self, database: ParentDatabase, name: str) -> None:
        self.database = database
        self.name = name
        self.full_name = f"{database.name}.{name}"
        self._engine = database.engine

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EmbeddedCollection) and (
            other.database == self.database and other.name == self.name
        )

    def __hash__(self) -> int:
        return hash((hash(self.database), self.name))

    def __repr__(self) -> str:
        return f"EmbeddedCollection({self.full_name!r})"

    # --- reads ------------------------------------------------------------------------------------
    def find(self, filter: Mapping | None = None, projection: Any = None, **options: Any):
        return EmbeddedCursor(
            self._engine, lambda: self._mirror, query_filter(filter), projection, **options
        )

    def find_one(self, filter: Any = None, *args: Any, **kwargs: Any) -> dict | None:
        if filter is not None and not isinstance(filter, Mapping):
            filter = {"_id": filter}
        for document in self.find(filter, *args, **kwargs).limit(1):
            return document
        return None

    def count_documents(
        self, filter: Mapping, session: EmbeddedSession | None = None, **kwargs: Any
    ) -> int:
        filter = query_filter(filter)
        options = {key: kwargs[key] for key in ("skip", "limit") if kwargs.get(key)}

        def operation():
            with engine_errors():
                return self._mirror.count_documents(filter, **options)

        return self._engine.read(operation, session)

    def estimated_document_count(self, **kwargs: Any) -> int:
        return self._engine.read(lambda: len(self._mirror._store))

    def distinct(
        self,
        key: str,
        filter: Mapping | None = None,
        session: EmbeddedSession | None = None,
        **kwargs: Any,
    ) -> list:
        filter = query_filter(filter)

        def operation():
            with engine_errors():
                return self._mirror.distinct(key, filter)

        return self._engine.read(operation, session)

    def aggregate(
        self, pipeline: list[dict], session: EmbeddedSession | None = None, **kwargs: Any
    ) -> EmbeddedCommandCursor:
        pipeline = codec.normalize_value(pipeline) if isinstance(pipeline, list) else pipeline

        def operation():
            mirror = self._mirror
            stages = pipeline
            leading: Mapping = {}
            if (
                isinstance(stages, list)
                and stages
                and isinstance(stages[0], Mapping)
                and list(stages[0]) == ["$match"]
                and isinstance(stages[0]["$match"], Mapping)
            ):
                # A leading $match is the same query language as find(): filter the stored
                # documents before mongomock copies them, as a server uses its indexes there.
                leading, stages = stages[0]["$match"], stages[1:]
            with engine_errors():
                # The cursor's own list: iterating a mongomock cursor re-slices its results on
                # every step, which makes a full scan quadratic in the collection size.
                documents = mirror.find(query_filter(leading))._compute_results()
            return run_pipeline(documents, mirror.database, stages)

        return EmbeddedCommandCursor(self._engine.read(operation, session))

    def watch(self, pipeline: list[dict] | None = None, **options: Any) -> EmbeddedChangeStream:
        return EmbeddedChangeStream(
            self._engine, self.database.name, self.name, pipeline, **stream_options(options)
        )

    # --- indexes ----------------------------------------------------------------------------------
    def create_index(self, keys: Any, session: EmbeddedSession | None = None, **kwargs: Any) -> str:
        """Record an index; the same index again is a no-op, a conflicting one an OperationFailure."""
        name, spec = index_spec(keys, kwargs)
        if already_exists(self._engine.indexes(self.database.name, self.name), name, spec):
            return name
        if spec.get("unique"):
            self._engine.read(lambda: self._check_unique(name, spec))
        self._engine.save_index(self.database.name, self.name, name, spec)
        if session is not None:
            self._engine.read(lambda: None, session)
        return name

    def _check_unique(self, name: str, spec: dict) -> None:
        guard = UniqueGuard(self.full_name, {name: spec}, exists=lambda _: False, stored=list)
        for document in self._mirror._store.documents:
            guard.admit(document, insert=False)

    def create_indexes(
        self, indexes: list[IndexModel], session: EmbeddedSession | None = None, **kwargs: Any
    ) -> list[str]:
        names = []
        for model in indexes:
            document = dict(model.document)
            keys = list(document.pop("key").items())
            names.append(self.create_index(keys, session=session, **document))
        return names

    def index_information(
        self, session: EmbeddedSession | None = None, **kwargs: Any
    ) -> dict[str, dict]:
        engine = self._engine
        return information(
            engine.read(lambda: engine.indexes(self.database.name, self.name), session)
        )

    def list_indexes(self, session: EmbeddedSession | None = None, **kwargs: Any) -> Iterator[dict]:
        for name, spec in self.index_information(session=session).items():
            yield {"name": name, **spec}
