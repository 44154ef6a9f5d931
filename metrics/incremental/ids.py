"""Compact keys for document ids: what the shadow of each collection is keyed by."""

from __future__ import annotations

from typing import Any

import bson
from bson import ObjectId

# ObjectIds become integers above every 64-bit integer _id, so the two never meet.
_OBJECT_ID_BASE = 1 << 96


def compact_id(value: Any) -> Any:
    """A hashable key equal for equal `_id` values, smaller than an ObjectId (40 bytes, not 100)."""
    if type(value) is ObjectId:
        return _OBJECT_ID_BASE + int.from_bytes(value.binary, "big")
    if type(value) is bool:  # True == 1 in Python; MongoDB tells them apart
        return ("bool", value)
    if isinstance(value, dict | list):  # unhashable: their BSON encoding is the key
        return ("bson", bson.encode({"_id": value}))
    return value
