"""The pymongo-shaped surface of the embedded store: client, database, collection, cursors."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import mongomock
from bson import ObjectId
from pymongo import IndexModel
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure
from pymongo.results import DeleteResult, InsertManyResult, InsertOneResult, UpdateResult

from . import codec
from .changestream import EmbeddedChangeStream
from .engine import Engine, OplogEntry

_engines: dict[tuple[str, int], Engine] = {}
_engines_lock = threading.Lock()


def _engine_for(path: str, history: int) -> Engine:
    """One engine per file and process, shared by clients (like a connection pool)."""
    with _engines_lock:
        engine = _engines.get((path, history))
        if engine is None or path == ":memory:":
            engine = Engine(path, history)
            _engines[(path, history)] = engine
        return engine


def _unsupported(exc: NotImplementedError) -> OperationFailure:
    return OperationFailure(f"not supported by the embedded store: {exc}", code=115)


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

    def list_database_names(self) -> list[str]:
        return self._engine.database_names()

    def drop_database(self, name: str | EmbeddedDatabase) -> None:
        db_name = name.name if isinstance(name, EmbeddedDatabase) else name

        def operation():
            colls = self._engine.collection_names(db_name)
            entries = [OplogEntry(db_name, coll, "drop") for coll in colls]
            entries.append(OplogEntry(db_name, "", "dropDatabase"))
            return entries, None

        self._engine.write(operation)

    def watch(self, pipeline: list[dict] | None = None, **options: Any) -> EmbeddedChangeStream:
        return EmbeddedChangeStream(self._engine, None, None, pipeline, **_stream_options(options))

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

    def list_collection_names(self) -> list[str]:
        return self.client._engine.collection_names(self.name)

    def drop_collection(self, name: str) -> None:
        EmbeddedCollection(self, name).drop()

    def command(self, command: str | Mapping[str, Any], **kwargs: Any) -> dict:
        name = command if isinstance(command, str) else next(iter(command))
        self.client._engine.check_reachable()
        if name == "ping":
            return {"ok": 1.0}
        if name in ("hello", "isMaster", "ismaster"):
            return {"isWritablePrimary": True, "ismaster": True, "setName": "embedded", "ok": 1.0}
        raise OperationFailure(f"command {name!r} is not supported by the embedded store", code=59)

    def watch(self, pipeline: list[dict] | None = None, **options: Any) -> EmbeddedChangeStream:
        return EmbeddedChangeStream(
            self.client._engine, self.name, None, pipeline, **_stream_options(options)
        )


def _stream_options(options: dict[str, Any]) -> dict[str, Any]:
    known = {"full_document", "resume_after", "start_after", "max_await_time_ms", "batch_size"}
    unknown = {key for key, value in options.items() if value is not None} - known
    if unknown:
        raise OperationFailure(f"watch() options not supported: {sorted(unknown)}", code=2)
    return {key: value for key, value in options.items() if key in known}


def _index_name(keys: list[tuple[str, Any]]) -> str:
    return "_".join(f"{field}_{direction}" for field, direction in keys)


def _index_keys(keys: str | Iterable) -> list[tuple[str, Any]]:
    if isinstance(keys, str):
        return [(keys, 1)]
    return [(field, direction) for field, direction in keys]


def _update_description(before: dict, after: dict) -> dict:
    updated = {key: value for key, value in after.items() if key not in before or before[key] != value}
    removed = [key for key in before if key not in after]
    return {"updatedFields": updated, "removedFields": removed, "truncatedArrays": []}


class EmbeddedCollection:
    def __init__(self, database: EmbeddedDatabase, name: str) -> None:
        self.database = database
        self.name = name
        self.full_name = f"{database.name}.{name}"
        self._engine = database.client._engine
        # A one-document scratch collection applies update operators with mongomock.
        self._scratch_client = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EmbeddedCollection) and (
            other.database == self.database and other.name == self.name
        )

    def __hash__(self) -> int:
        return hash((hash(self.database), self.name))

    @property
    def _mirror(self) -> mongomock.Collection:
        return self._engine.mirror(self.database.name, self.name)

    def _entry(self, op: str, document_id: Any, doc: dict | None = None, desc: dict | None = None):
        return OplogEntry(self.database.name, self.name, op, document_id, doc, desc)

    # --- writes -----------------------------------------------------------------------------------
    def _prepare_insert(self, document: dict) -> dict:
        if not isinstance(document, Mapping):
            raise TypeError("document must be a mapping")
        if "_id" not in document:
            document["_id"] = ObjectId()  # pymongo adds _id to the caller's document too
        return codec.normalize(dict(document))

    def insert_one(self, document: dict) -> InsertOneResult:
        prepared = self._prepare_insert(document)

        def operation():
            if self._exists(prepared["_id"]):
                raise DuplicateKeyError(
                    f"E11000 duplicate key error collection: {self.full_name} index: _id_",
                    11000,
                )
            return [self._entry("insert", prepared["_id"], prepared)], InsertOneResult(
                prepared["_id"], True
            )

        return self._engine.write(operation)

    def insert_many(self, documents: Iterable[dict], ordered: bool = True) -> InsertManyResult:
        prepared = [self._prepare_insert(document) for document in documents]
        if not prepared:
            raise TypeError("documents must be a non-empty list")

        def operation():
            entries, seen, errors = [], set(), []
            for index, document in enumerate(prepared):
                key = codec.key_of(document["_id"])
                if key in seen or self._exists(document["_id"]):
                    errors.append({"index": index, "code": 11000, "errmsg": "E11000 duplicate key"})
                    if ordered:
                        break
                    continue
                seen.add(key)
                entries.append(self._entry("insert", document["_id"], document))
            if errors:
                # MongoDB keeps what was inserted before the error; so do we.
                raise _PartialWrite(entries, BulkWriteError(
                    {"writeErrors": errors, "nInserted": len(entries)}
                ))
            return entries, InsertManyResult([entry.document_id for entry in entries], True)

        try:
            return self._engine.write(operation)
        except _PartialWrite as partial:
            self._engine.write(lambda: (partial.entries, None))
            raise partial.error from None

    def _exists(self, document_id: Any) -> bool:
        return self._engine._hashable(document_id) in self._mirror._store

    def _matches(self, filter: Mapping | None, limit: int = 0, sort=None) -> list[dict]:
        try:
            cursor = self._mirror.find(codec.normalize_value(dict(filter or {})))
            if sort:
                cursor = cursor.sort(_index_keys(sort))
            if limit:
                cursor = cursor.limit(limit)
            return list(cursor)
        except NotImplementedError as exc:
            raise _unsupported(exc) from exc

    def _scratch(self) -> mongomock.Collection:
        if self._scratch_client is None:
            self._scratch_client = mongomock.MongoClient()
        scratch = self._scratch_client["scratch"]["scratch"]
        scratch.delete_many({})
        return scratch

    def _updated(self, before: dict | None, filter: Mapping, update: Any, upsert: bool) -> dict:
        scratch = self._scratch()
        try:
            if before is not None:
                scratch.insert_one(copy.deepcopy(before))
            scratch.update_one(filter, update, upsert=upsert)
        except NotImplementedError as exc:
            raise _unsupported(exc) from exc
        except mongomock.WriteError as exc:
            raise OperationFailure(str(exc), code=getattr(exc, "code", None)) from exc
        return codec.normalize(scratch.find_one({}))

    def _update(self, filter, update, upsert: bool, many: bool) -> UpdateResult:
        if not update:
            raise ValueError("update must not be empty")
        if isinstance(update, Mapping) and not all(key.startswith("$") for key in update):
            raise ValueError("update only works with $ operators")
        filter = codec.normalize_value(dict(filter or {}))
        update = codec.normalize_value(update)

        def operation():
            matched = self._matches(filter, limit=0 if many else 1)
            entries, modified = [], 0
            for before in matched:
                after = self._updated(before, filter, update, upsert=False)
                if after != codec.normalize(before):
                    modified += 1
                    entries.append(
                        self._entry("update", after["_id"], after, _update_description(before, after))
                    )
            raw = {"n": len(matched), "nModified": modified, "ok": 1.0}
            if not matched and upsert:
                created = self._updated(None, filter, update, upsert=True)
                entries.append(self._entry("insert", created["_id"], created))
                raw.update({"n": 1, "upserted": created["_id"]})
            return entries, UpdateResult(raw, True)

        return self._engine.write(operation)

    def update_one(self, filter: Mapping, update: Any, upsert: bool = False) -> UpdateResult:
        return self._update(filter, update, upsert, many=False)

    def update_many(self, filter: Mapping, update: Any, upsert: bool = False) -> UpdateResult:
        return self._update(filter, update, upsert, many=True)

    def replace_one(self, filter: Mapping, replacement: dict, upsert: bool = False) -> UpdateResult:
        if any(key.startswith("$") for key in replacement):
            raise ValueError("replacement can not include $ operators")
        filter = codec.normalize_value(dict(filter or {}))

        def operation():
            matched = self._matches(filter, limit=1)
            if matched:
                before = matched[0]
                if "_id" in replacement and replacement["_id"] != before["_id"]:
                    raise OperationFailure("the _id field cannot be changed", code=66)
                after = codec.normalize({**replacement, "_id": before["_id"]})
                if after == codec.normalize(before):
                    return [], UpdateResult({"n": 1, "nModified": 0, "ok": 1.0}, True)
                return [self._entry("replace", before["_id"], after)], UpdateResult(
                    {"n": 1, "nModified": 1, "ok": 1.0}, True
                )
            if not upsert:
                return [], UpdateResult({"n": 0, "nModified": 0, "ok": 1.0}, True)
            document_id = replacement.get("_id", filter.get("_id", ObjectId()))
            created = codec.normalize({**replacement, "_id": document_id})
            return [self._entry("insert", document_id, created)], UpdateResult(
                {"n": 1, "nModified": 0, "upserted": document_id, "ok": 1.0}, True
            )

        return self._engine.write(operation)

    def _delete(self, filter: Mapping, many: bool) -> DeleteResult:
        filter = codec.normalize_value(dict(filter or {}))

        def operation():
            matched = self._matches(filter, limit=0 if many else 1)
            entries = [self._entry("delete", document["_id"]) for document in matched]
            return entries, DeleteResult({"n": len(entries), "ok": 1.0}, True)

        return self._engine.write(operation)

    def delete_one(self, filter: Mapping) -> DeleteResult:
        return self._delete(filter, many=False)

    def delete_many(self, filter: Mapping) -> DeleteResult:
        return self._delete(filter, many=True)

    def find_one_and_update(
        self, filter: Mapping, update: Any, return_document: bool = False, upsert: bool = False,
        sort=None,
    ) -> dict | None:
        """pymongo's find_one_and_update; return_document True (ReturnDocument.AFTER) gives the post-image."""
        filter = codec.normalize_value(dict(filter or {}))
        update = codec.normalize_value(update)

        def operation():
            matched = self._matches(filter, limit=1, sort=sort)
            if not matched:
                if not upsert:
                    return [], None
                created = self._updated(None, filter, update, upsert=True)
                return [self._entry("insert", created["_id"], created)], (
                    created if return_document else None
                )
            before = matched[0]
            after = self._updated(before, filter, update, upsert=False)
            entries = []
            if after != codec.normalize(before):
                entries.append(
                    self._entry("update", after["_id"], after, _update_description(before, after))
                )
            return entries, (after if return_document else codec.normalize(before))

        return self._engine.write(operation)

    def drop(self) -> None:
        self._engine.write(lambda: ([self._entry("drop", None)], None))

    # --- reads ------------------------------------------------------------------------------------
    def find(self, filter: Mapping | None = None, projection: Any = None, **options: Any):
        return EmbeddedCursor(self, filter, projection, **options)

    def find_one(self, filter: Any = None, *args: Any, **kwargs: Any) -> dict | None:
        if filter is not None and not isinstance(filter, Mapping):
            filter = {"_id": filter}
        for document in self.find(filter, *args, **kwargs).limit(1):
            return document
        return None

    def count_documents(self, filter: Mapping, **kwargs: Any) -> int:
        filter = codec.normalize_value(dict(filter))
        return self._engine.read(lambda: self._mirror.count_documents(filter, **kwargs))

    def estimated_document_count(self) -> int:
        return self._engine.read(lambda: len(self._mirror._store))

    def distinct(self, key: str, filter: Mapping | None = None) -> list:
        filter = codec.normalize_value(dict(filter or {}))
        return self._engine.read(lambda: self._mirror.distinct(key, filter))

    def aggregate(self, pipeline: list[dict], **kwargs: Any) -> EmbeddedCommandCursor:
        pipeline = codec.normalize_value(list(pipeline))
        for stage in pipeline:
            if "$out" in stage or "$merge" in stage:
                raise OperationFailure("$out and $merge are not supported by the embedded store")

        def operation():
            try:
                return list(self._mirror.aggregate(pipeline))
            except NotImplementedError as exc:
                raise _unsupported(exc) from exc
            except mongomock.OperationFailure as exc:
                raise OperationFailure(str(exc), code=getattr(exc, "code", None)) from exc

        return EmbeddedCommandCursor(self._engine.read(operation))

    def watch(self, pipeline: list[dict] | None = None, **options: Any) -> EmbeddedChangeStream:
        return EmbeddedChangeStream(
            self._engine, self.database.name, self.name, pipeline, **_stream_options(options)
        )

    # --- indexes ----------------------------------------------------------------------------------
    def create_index(self, keys: Any, **kwargs: Any) -> str:
        key_list = _index_keys(keys)
        name = kwargs.pop("name", None) or _index_name(key_list)
        spec = {"key": [list(pair) for pair in key_list], **kwargs}
        existing = self._engine.indexes(self.database.name, self.name).get(name)
        if existing is not None and existing != codec.normalize(spec):
            raise OperationFailure(
                f"An existing index has the same name as the requested index: {name}", code=86
            )
        self._engine.save_index(self.database.name, self.name, name, spec)
        return name

    def create_indexes(self, indexes: list[IndexModel]) -> list[str]:
        names = []
        for model in indexes:
            document = dict(model.document)
            keys = list(document.pop("key").items())
            names.append(self.create_index(keys, **document))
        return names

    def index_information(self) -> dict[str, dict]:
        info = {"_id_": {"key": [("_id", 1)], "v": 2}}
        for name, spec in self._engine.indexes(self.database.name, self.name).items():
            info[name] = {**spec, "key": [tuple(pair) for pair in spec["key"]], "v": 2}
        return info

    def list_indexes(self) -> Iterator[dict]:
        for name, spec in self.index_information().items():
            yield {"name": name, **spec}


class _PartialWrite(Exception):
    def __init__(self, entries: list[OplogEntry], error: BulkWriteError) -> None:
        super().__init__(str(error))
        self.entries = entries
        self.error = error


class EmbeddedCursor:
    """A find() cursor: chain sort/skip/limit, then iterate (results are read at once)."""

    def __init__(self, collection: EmbeddedCollection, filter=None, projection=None, sort=None,
                 skip: int = 0, limit: int = 0) -> None:
        self._collection = collection
        self._filter = codec.normalize_value(dict(filter or {}))
        self._projection = projection
        self._sort = _index_keys(sort) if sort else None
        self._skip = skip
        self._limit = limit
        self._results: Iterator[dict] | None = None

    def sort(self, key_or_list: Any, direction: Any = None) -> EmbeddedCursor:
        self._sort = [(key_or_list, direction or 1)] if isinstance(key_or_list, str) else list(key_or_list)
        return self

    def skip(self, count: int) -> EmbeddedCursor:
        self._skip = count
        return self

    def limit(self, count: int) -> EmbeddedCursor:
        self._limit = count
        return self

    def _load(self) -> Iterator[dict]:
        def operation():
            try:
                cursor = self._collection._mirror.find(self._filter, self._projection)
                if self._sort:
                    cursor = cursor.sort(self._sort)
                if self._skip:
                    cursor = cursor.skip(self._skip)
                if self._limit:
                    cursor = cursor.limit(self._limit)
                return list(cursor)
            except NotImplementedError as exc:
                raise _unsupported(exc) from exc

        return iter(self._collection._engine.read(operation))

    def __iter__(self) -> Iterator[dict]:
        if self._results is None:
            self._results = self._load()
        return self._results

    def __next__(self) -> dict:
        return next(iter(self))

    def to_list(self, length: int | None = None) -> list[dict]:
        items = list(iter(self))
        return items if length is None else items[:length]

    def close(self) -> None:
        self._results = iter(())


class EmbeddedCommandCursor:
    """aggregate()'s result: an iterator over the materialized documents."""

    def __init__(self, documents: list[dict]) -> None:
        self._documents = iter(documents)

    def __iter__(self) -> Iterator[dict]:
        return self._documents

    def __next__(self) -> dict:
        return next(self._documents)

    def to_list(self, length: int | None = None) -> list[dict]:
        items = list(self._documents)
        return items if length is None else items[:length]

    def close(self) -> None:
        self._documents = iter(())

    def __enter__(self) -> EmbeddedCommandCursor:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
