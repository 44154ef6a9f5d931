"""Update operators: checked and applied as MongoDB does, and described as its change events describe them."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import mongomock
from bson import Decimal128, Int64
from pymongo.errors import WriteError

from . import codec
from .errors import (
    CONFLICTING_UPDATE_OPERATORS,
    FAILED_TO_PARSE,
    IMMUTABLE_FIELD,
    TYPE_MISMATCH,
    engine_errors,
)

OPERATORS = {
    "$set",
    "$unset",
    "$inc",
    "$mul",
    "$min",
    "$max",
    "$currentDate",
    "$rename",
    "$push",
    "$addToSet",
    "$pull",
    "$pullAll",
    "$pop",
    "$setOnInsert",
    "$bit",
}
_ARITHMETIC = {"$inc", "$mul"}
_MISSING = object()
_scratch = threading.local()


def check_update(update: Any) -> None:
    """Reject what MongoDB rejects before touching any document."""
    if not isinstance(update, Mapping):
        raise WriteError(
            "pipeline-style updates are not supported by the embedded store", code=FAILED_TO_PARSE
        )
    for operator, fields in update.items():
        if operator not in OPERATORS:
            raise WriteError(f"Unknown modifier: {operator}", code=FAILED_TO_PARSE)
        if not isinstance(fields, Mapping):
            raise WriteError(
                f"Modifiers operate on fields but we found type {type(fields).__name__} instead",
                code=FAILED_TO_PARSE,
            )
        if operator in _ARITHMETIC:
            for path, amount in fields.items():
                if not _numeric(amount):
                    raise WriteError(
                        f"Cannot {operator[1:]} with non-numeric argument: {{{path}: {amount!r}}}",
                        code=TYPE_MISMATCH,
                    )
    seen: list[list[str]] = []
    for _, path in target_paths(update):
        parts = path.split(".")
        for other in seen:
            shorter = min(len(parts), len(other))
            if parts[:shorter] == other[:shorter]:
                raise WriteError(
                    f"Updating the path '{path}' would create a conflict at "
                    f"'{'.'.join(parts[:shorter])}'",
                    code=CONFLICTING_UPDATE_OPERATORS,
                )
        seen.append(parts)


def target_paths(update: Mapping) -> Iterator[tuple[str, str]]:
    """(operator, dotted path) for every path an update writes; $rename writes two."""
    for operator, fields in update.items():
        for path, argument in fields.items():
            yield operator, path
            if operator == "$rename" and isinstance(argument, str):
                yield operator, argument


def apply_update(before: dict | None, filter: Mapping, update: Mapping, upsert: bool) -> dict:
    """The document after `update` (an upsert's new document when `before` is None)."""
    if before is not None:
        _check_arithmetic_targets(before, update)
    scratch = _scratch_collection()
    scratch.delete_many({})
    try:
        with engine_errors(write=True):
            if before is not None:
                scratch.insert_one(copy.deepcopy(before))
            scratch.update_one(filter, update, upsert=upsert)
    except WriteError as exc:
        if before is not None and any(
            path.split(".")[0] == "_id" for _, path in target_paths(update)
        ):
            raise WriteError(
                f"Performing an update on the path '_id' would modify the immutable field '_id': {exc}",
                code=IMMUTABLE_FIELD,
            ) from exc
        raise
    updated = scratch.find_one({})
    assert updated is not None  # the one document just written
    return codec.normalize(updated)


def describe_update(before: dict, after: dict, update: Mapping) -> dict:
    """The change event's updateDescription for an operator update.

    As MongoDB logs it: each written path that existed is reported at that
    (dotted) path; a path that did not exist is reported from its first new
    component; a $push that only appends reports each new element as
    `path.index`. Paths with positional operators report the whole top-level field.
    """
    updated: dict[str, Any] = {}
    removed: list[str] = []
    for operator, path in target_paths(update):
        parts = path.split(".")
        if any(part.startswith("$") for part in parts):
            parts = parts[:1]
        old, new = _get(before, parts), _get(after, parts)
        if old is not _MISSING:
            if new is _MISSING:
                removed.append(".".join(parts))
            elif not codec.same(old, new):
                argument = update[operator].get(path)
                if operator == "$push" and _appended(old, new, argument):
                    for index in range(len(old), len(new)):
                        updated[f"{'.'.join(parts)}.{index}"] = new[index]
                else:
                    updated[".".join(parts)] = new
            continue
        created = parts[: _existing_depth(before, parts) + 1]
        value = _get(after, created)
        if value is not _MISSING:
            updated[".".join(created)] = value
    return {"updatedFields": updated, "removedFields": removed, "truncatedArrays": []}


def _appended(old: Any, new: Any, argument: Any) -> bool:
    if isinstance(argument, Mapping) and "$each" in argument and set(argument) != {"$each"}:
        return False  # $sort, $slice, $position: MongoDB logs the whole array
    return (
        isinstance(old, list)
        and bool(old)
        and isinstance(new, list)
        and len(new) > len(old)
        and codec.same(new[: len(old)], old)
    )


def _check_arithmetic_targets(before: dict, update: Mapping) -> None:
    for operator in _ARITHMETIC & set(update):
        for path in update[operator]:
            value = _get(before, path.split("."))
            if value is not _MISSING and not _numeric(value):
                raise WriteError(
                    f"Cannot apply {operator} to a value of non-numeric type. "
                    f"{{_id: {before.get('_id')!r}}} has the field '{path}' of non-numeric type "
                    f"{type(value).__name__}",
                    code=TYPE_MISMATCH,
                )


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float | Int64 | Decimal128) and not isinstance(value, bool)


def _get(document: Any, parts: list[str]) -> Any:
    value = document
    for part in parts:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _existing_depth(document: dict, parts: list[str]) -> int:
    depth = 0
    while depth < len(parts) and _get(document, parts[: depth + 1]) is not _MISSING:
        depth += 1
    return depth


def _scratch_collection() -> Any:
    # mongomock applies the operators; a one-document collection per thread keeps
    # it away from the mirror until the write is committed.
    if not hasattr(_scratch, "collection"):
        _scratch.collection = mongomock.MongoClient()["scratch"]["scratch"]
    return _scratch.collection
