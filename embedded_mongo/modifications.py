"""Updates and replaces of the embedded collection (pymongo's update_one, update_many,
replace_one and find_one_and_update), computed from the mirror as every write is (writes.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bson import ObjectId
from pymongo.errors import WriteError
from pymongo.results import UpdateResult

from . import codec
from .errors import IMMUTABLE_FIELD
from .updates import apply_update, check_update, describe_update
from .writes import WriteBase, is_plain_value, query_filter


class CollectionModifications(WriteBase):
    def _update(
        self, filter: Any, update: Any, upsert: bool, many: bool, session: Any
    ) -> UpdateResult:
        filter = query_filter(filter)
        if not update:
            raise ValueError("update cannot be empty")
        if isinstance(update, Mapping) and not all(str(key).startswith("$") for key in update):
            raise ValueError("update only works with $ operators")
        update = codec.normalize_value(update)
        check_update(update)

        def operation():
            guard, entries, modified = self._guard(), [], 0
            matched = self._matches(filter, limit=0 if many else 1)
            for before in matched:
                after = apply_update(before, filter, update, upsert=False)
                if not codec.same(after, before):
                    guard.admit(after, insert=False)
                    modified += 1
                    description = describe_update(before, after, update)
                    entries.append(self._entry("update", after["_id"], after, description))
            raw = {
                "n": len(matched),
                "nModified": modified,
                "ok": 1.0,
                "updatedExisting": bool(matched),
            }
            if not matched and upsert:
                created = apply_update(None, filter, update, upsert=True)
                guard.admit(created, insert=True)
                entries.append(self._entry("insert", created["_id"], created))
                raw.update({"n": 1, "upserted": created["_id"]})
            return entries, UpdateResult(raw, True)

        return self._engine.write(operation, session)

    def update_one(
        self, filter: Mapping, update: Any, upsert: bool = False, session: Any = None
    ) -> UpdateResult:
        return self._update(filter, update, upsert, many=False, session=session)

    def update_many(
        self, filter: Mapping, update: Any, upsert: bool = False, session: Any = None
    ) -> UpdateResult:
        return self._update(filter, update, upsert, many=True, session=session)

    def replace_one(
        self, filter: Mapping, replacement: dict, upsert: bool = False, session: Any = None
    ) -> UpdateResult:
        filter = query_filter(filter)
        if not isinstance(replacement, Mapping):
            raise TypeError("replacement must be an instance of dict")
        if any(str(key).startswith("$") for key in replacement):
            raise ValueError("replacement can not include $ operators")
        replacement = codec.normalize_value(dict(replacement))

        def operation():
            guard = self._guard()
            matched = self._matches(filter, limit=1)
            if matched:
                before = matched[0]
                if "_id" in replacement and not codec.same(replacement["_id"], before["_id"]):
                    raise WriteError(
                        "After applying the update, the (immutable) field '_id' was found to "
                        "have been altered",
                        code=IMMUTABLE_FIELD,
                    )
                after = codec.normalize({**replacement, "_id": before["_id"]})
                if codec.same(after, before):
                    return [], UpdateResult({"n": 1, "nModified": 0, "ok": 1.0}, True)
                guard.admit(after, insert=False)
                return [self._entry("replace", before["_id"], after)], UpdateResult(
                    {"n": 1, "nModified": 1, "ok": 1.0, "updatedExisting": True}, True
                )
            if not upsert:
                return [], UpdateResult({"n": 0, "nModified": 0, "ok": 1.0}, True)
            document_id = replacement.get("_id", filter.get("_id"))
            if not is_plain_value(document_id):
                document_id = ObjectId()
            created = codec.normalize({**replacement, "_id": document_id})
            guard.admit(created, insert=True)
            return [self._entry("insert", document_id, created)], UpdateResult(
                {"n": 1, "nModified": 0, "upserted": document_id, "ok": 1.0}, True
            )

        return self._engine.write(operation, session)

    def find_one_and_update(
        self,
        filter: Mapping,
        update: Any,
        return_document: bool = False,
        upsert: bool = False,
        sort: Any = None,
        session: Any = None,
    ) -> dict | None:
        """pymongo's find_one_and_update; return_document True (ReturnDocument.AFTER) gives the post-image."""
        filter = query_filter(filter)
        update = codec.normalize_value(update)
        check_update(update)

        def operation():
            guard = self._guard()
            matched = self._matches(filter, limit=1, sort=sort)
            if not matched:
                if not upsert:
                    return [], None
                created = apply_update(None, filter, update, upsert=True)
                guard.admit(created, insert=True)
                returned = codec.normalize(created) if return_document else None
                return [self._entry("insert", created["_id"], created)], returned
            before = matched[0]
            after = apply_update(before, filter, update, upsert=False)
            entries = []
            if not codec.same(after, before):
                guard.admit(after, insert=False)
                description = describe_update(before, after, update)
                entries.append(self._entry("update", after["_id"], after, description))
            return entries, codec.normalize(after if return_document else before)

        return self._engine.write(operation, session)
