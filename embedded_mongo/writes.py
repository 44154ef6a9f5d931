"""The write half of the embedded collection: inserts, deletes and drops (updates and replaces
are in modifications.py), and what every write shares.

Each write computes its oplog entries from the mirror inside the engine's write
transaction and leaves the mirror alone; the engine applies them once committed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from bson import ObjectId, Regex
from mongomock.filtering import filter_applies
from pymongo.errors import BulkWriteError, DuplicateKeyError
from pymongo.results import DeleteResult, InsertManyResult, InsertOneResult

from . import codec
from .cursors import sort_keys
from .engine import Engine, OplogEntry, PartialWrite
from .errors import engine_errors
from .indexes import UniqueGuard


class WriteBase:
    """What every write needs: the collection's mirror, its oplog entries, its unique indexes,
    the documents a filter selects."""

    database: Any
    name: str
    full_name: str
    _engine: Engine

    @property
    def _mirror(self) -> Any:
        return self._engine.mirror(self.database.name, self.name)

    def _entry(self, op: str, document_id: Any, doc: dict | None = None, desc: dict | None = None):
        return OplogEntry(self.database.name, self.name, op, document_id, doc, desc)

    def _guard(self) -> UniqueGuard:
        store = self._mirror._store
        return UniqueGuard(
            self.full_name,
            self._engine.indexes(self.database.name, self.name),
            exists=lambda document_id: self._engine.hashable(document_id) in store,
            stored=lambda: list(store.documents),
        )

    def _matches(self, filter: dict, limit: int = 0, sort: Any = None) -> list[dict]:
        """The stored documents a write's filter selects (not copies: never mutate them)."""
        document_id = filter.get("_id")
        if sort is None and is_plain_value(document_id):
            # Writes by _id are the common case: fetch the one candidate instead of scanning.
            store = self._mirror._store
            key = self._engine.hashable(document_id)
            candidates = [store[key]] if key in store else []
            with engine_errors():
                return [doc for doc in candidates if filter_applies(filter, doc)]
        with engine_errors():
            cursor = self._mirror.find(filter)
            if sort:
                cursor = cursor.sort(sort_keys(sort))
            if limit:
                cursor = cursor.limit(limit)
            return list(cursor)


class CollectionWrites(WriteBase):
    """pymongo's insert, delete and drop methods."""

    @staticmethod
    def _prepare_insert(document: Any) -> dict:
        if not isinstance(document, MutableMapping):
            raise TypeError("document must be an instance of dict")
        if "_id" not in document:
            document["_id"] = ObjectId()  # pymongo adds _id to the caller's document too
        return codec.normalize(dict(document))

    def insert_one(self, document: dict, session: Any = None) -> InsertOneResult:
        prepared = self._prepare_insert(document)

        def operation():
            self._guard().admit(prepared, insert=True)
            entry = self._entry("insert", prepared["_id"], prepared)
            return [entry], InsertOneResult(prepared["_id"], True)

        return self._engine.write(operation, session)

    def insert_many(
        self, documents: Iterable[dict], ordered: bool = True, session: Any = None
    ) -> InsertManyResult:
        if isinstance(documents, Mapping) or not isinstance(documents, Iterable):
            raise TypeError("documents must be a non-empty list")
        prepared = [self._prepare_insert(document) for document in documents]
        if not prepared:
            raise TypeError("documents must be a non-empty list")

        def operation():
            guard, entries, errors = self._guard(), [], []
            for index, document in enumerate(prepared):
                try:
                    guard.admit(document, insert=True)
                except DuplicateKeyError as exc:
                    errors.append(
                        {
                            "index": index,
                            "code": exc.code,
                            "errmsg": str(exc),
                            "keyValue": (exc.details or {}).get("keyValue"),
                            "op": document,
                        }
                    )
                    if ordered:
                        break
                    continue
                entries.append(self._entry("insert", document["_id"], document))
            if errors:
                # MongoDB keeps what was inserted besides the failures; so does the store.
                raise PartialWrite(entries, BulkWriteError(_bulk_details(errors, len(entries))))
            return entries, InsertManyResult([entry.document_id for entry in entries], True)

        return self._engine.write(operation, session)

    def _delete(self, filter: Any, many: bool, session: Any) -> DeleteResult:
        filter = query_filter(filter)

        def operation():
            matched = self._matches(filter, limit=0 if many else 1)
            entries = [self._entry("delete", document["_id"]) for document in matched]
            return entries, DeleteResult({"n": len(entries), "ok": 1.0}, True)

        return self._engine.write(operation, session)

    def delete_one(self, filter: Mapping, session: Any = None) -> DeleteResult:
        return self._delete(filter, many=False, session=session)

    def delete_many(self, filter: Mapping, session: Any = None) -> DeleteResult:
        return self._delete(filter, many=True, session=session)

    def drop(self, session: Any = None) -> None:
        """Drop the collection; dropping one that does not exist changes nothing (no event)."""

        def operation():
            if not self._engine.indexes(self.database.name, self.name):
                return [], None
            return [self._entry("drop", None)], None

        self._engine.write(operation, session)


def query_filter(filter: Any) -> dict:
    """A find/update/delete filter as the mirror compares it (aware datetimes to naive UTC)."""
    if filter is None:
        return {}
    if not isinstance(filter, Mapping):
        raise TypeError("filter must be an instance of dict")
    return codec.normalize_value(dict(filter))


def is_plain_value(value: Any) -> bool:
    """A filter value that matches by equality alone (not an operator document or a pattern)."""
    if value is None or isinstance(value, list | re.Pattern | Regex):
        return False
    return not (isinstance(value, dict) and any(str(key).startswith("$") for key in value))


def _bulk_details(errors: list[dict], inserted: int) -> dict:
    return {
        "writeErrors": errors,
        "writeConcernErrors": [],
        "nInserted": inserted,
        "nUpserted": 0,
        "nMatched": 0,
        "nModified": 0,
        "nRemoved": 0,
        "upserted": [],
    }
