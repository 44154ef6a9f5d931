"""Index specifications as MongoDB keeps them, and the one index rule the store enforces: uniqueness.

There are no index structures: queries scan the in-memory mirror. Indexes are
recorded (so index_information and idempotent creation behave) and unique ones
are checked on every write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mongomock.filtering import filter_applies
from pymongo.errors import DuplicateKeyError, OperationFailure

from . import codec
from .errors import DUPLICATE_KEY, INDEX_KEY_SPECS_CONFLICT, INDEX_OPTIONS_CONFLICT

# Arguments pymongo's create_index takes that are not part of the index.
_COMMAND_OPTIONS = {"session", "comment", "commitQuorum", "maxTimeMS"}
_MISSING = object()


def index_spec(keys: Any, options: Mapping[str, Any]) -> tuple[str, dict]:
    """(name, stored spec) for create_index's arguments; the default name is MongoDB's."""
    key_list = (
        [(keys, 1)] if isinstance(keys, str) else [(field, direction) for field, direction in keys]
    )
    if not key_list:
        raise OperationFailure("Index keys cannot be empty.", code=67)
    spec = {key: value for key, value in options.items() if key not in _COMMAND_OPTIONS}
    name = spec.pop("name", None) or "_".join(
        f"{field}_{direction}" for field, direction in key_list
    )
    return name, codec.normalize(
        {"key": [[field, direction] for field, direction in key_list], **spec}
    )


def already_exists(existing: Mapping[str, dict], name: str, spec: dict) -> bool:
    """True when the same index exists (creating it again is a no-op); raise on a conflict."""
    current = existing.get(name)
    if current is not None:
        if current == spec:
            return True
        if current["key"] == spec["key"]:
            raise OperationFailure(
                f"An index with name: {name} already exists with different options",
                code=INDEX_OPTIONS_CONFLICT,
            )
        raise OperationFailure(
            f"An existing index has the same name as the requested index: {name}",
            code=INDEX_KEY_SPECS_CONFLICT,
        )
    for other_name, other in existing.items():
        if other["key"] == spec["key"]:
            raise OperationFailure(
                f"Index already exists with a different name: {other_name}",
                code=INDEX_OPTIONS_CONFLICT,
            )
    return False


def information(specs: Mapping[str, dict]) -> dict[str, dict]:
    """index_information()'s shape: {name: {"v": 2, "key": [(field, direction)], ...options}}."""
    return {
        name: {**spec, "v": 2, "key": [tuple(pair) for pair in spec["key"]]}
        for name, spec in specs.items()
    }


class UniqueGuard:
    """Checks documents about to be written, one after another, against `_id` and unique indexes.

    `stored` gives the collection's documents as they were before this write;
    they are indexed once, on the first document admitted, only when the
    collection has a unique index.
    """

    def __init__(
        self,
        full_name: str,
        specs: Mapping[str, dict],
        exists: Callable[[Any], bool],
        stored: Callable[[], Iterable[dict]],
    ) -> None:
        self._full_name = full_name
        self._unique = {
            name: spec for name, spec in specs.items() if spec.get("unique") and name != "_id_"
        }
        self._exists = exists
        self._stored = stored
        self._inserted: set[bytes] = set()
        self._owners: dict[str, dict[bytes, bytes]] | None = None  # index -> value -> document
        self._held: dict[str, dict[bytes, bytes]] = {}  # index -> document -> value

    def admit(self, document: dict, insert: bool) -> None:
        """Record `document` as written, or raise DuplicateKeyError as MongoDB would."""
        key = codec.key_of(document["_id"])
        if insert and (key in self._inserted or self._exists(document["_id"])):
            self._duplicate("_id_", {"_id": document["_id"]})
        if self._unique:
            owners = self._index()
            values = {name: _index_value(spec, document) for name, spec in self._unique.items()}
            for name, value in values.items():
                if value is not None and owners[name].get(value, key) != key:
                    fields = {
                        field: _get(document, field) for field, _ in self._unique[name]["key"]
                    }
                    self._duplicate(name, fields)
            for name, value in values.items():
                self._hold(name, key, value)
        if insert:
            self._inserted.add(key)

    def _index(self) -> dict[str, dict[bytes, bytes]]:
        if self._owners is None:
            self._owners = {name: {} for name in self._unique}
            self._held = {name: {} for name in self._unique}
            for document in self._stored():
                key = codec.key_of(document["_id"])
                for name, spec in self._unique.items():
                    self._hold(name, key, _index_value(spec, document))
        return self._owners

    def _hold(self, name: str, key: bytes, value: bytes | None) -> None:
        owners, held = self._index()[name], self._held[name]
        previous = held.pop(key, None)
        if previous is not None and owners.get(previous) == key:
            del owners[previous]
        if value is not None:
            owners[value] = key
            held[key] = value

    def _duplicate(self, index: str, key: dict) -> None:
        shown = {field: None if value is _MISSING else value for field, value in key.items()}
        message = (
            f"E11000 duplicate key error collection: {self._full_name} index: {index} "
            f"dup key: {shown}"
        )
        raise DuplicateKeyError(
            message, DUPLICATE_KEY, {"code": DUPLICATE_KEY, "errmsg": message, "keyValue": shown}
        )


def _index_value(spec: dict, document: dict) -> bytes | None:
    """What the index holds for `document` (None when the index leaves it out)."""
    values = [_get(document, field) for field, _ in spec["key"]]
    if spec.get("sparse") and all(value is _MISSING for value in values):
        return None
    partial = spec.get("partialFilterExpression")
    if partial and not filter_applies(partial, document):
        return None
    # A missing field is indexed as null; numbers compare by value (1 == 1.0).
    return codec.encode({"k": [_comparable(value) for value in values]})


def _comparable(value: Any) -> Any:
    if value is _MISSING:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def _get(document: Any, dotted: str) -> Any:
    value = document
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value
