"""BSON round trips and resume tokens for the embedded store."""

import datetime as dt
from typing import Any

import bson
from bson.codec_options import CodecOptions

# Naive UTC datetimes, as pymongo returns them with its default codec options.
CODEC = CodecOptions(document_class=dict, tz_aware=False)
_EPOCH = dt.datetime(1970, 1, 1)
_TOKEN_PREFIX = "82"
_INVALIDATE_SUFFIX = "04"
_EVENT_SUFFIX = "01"


def encode(document: dict) -> bytes:
    return bson.encode(document, codec_options=CODEC)


def decode(data: bytes) -> dict:
    return bson.decode(data, codec_options=CODEC)


def normalize(document: dict) -> dict:
    """What MongoDB would store: BSON types only, millisecond dates, naive UTC."""
    return decode(encode(document))


def same(a: Any, b: Any) -> bool:
    """BSON equality, as MongoDB decides whether a write changed a value (1 and 1.0 differ)."""
    return encode({"v": a}) == encode({"v": b})


def datetime_of_ms(ms: int) -> dt.datetime:
    """A naive UTC datetime from milliseconds since the epoch, exactly (no float rounding)."""
    return _EPOCH + dt.timedelta(milliseconds=ms)


def normalize_value(value: Any) -> Any:
    """Make query values comparable with stored ones (aware datetimes to naive UTC)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    if isinstance(value, dict):
        return {key: normalize_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [normalize_value(item) for item in value]
    return value


def key_of(document_id: Any) -> bytes:
    """A stable byte key for an `_id` value (the row key in SQLite)."""
    return encode({"_id": document_id})


def id_of(key: bytes) -> Any:
    return decode(key)["_id"]


def make_token(seq: int, invalidate: bool = False) -> dict:
    """A resume token shaped like MongoDB's: {"_data": "<hex string>"}, ordered by position."""
    suffix = _INVALIDATE_SUFFIX if invalidate else _EVENT_SUFFIX
    return {"_data": f"{_TOKEN_PREFIX}{seq:016X}{suffix}"}


def parse_token(token: Any) -> tuple[int, bool]:
    """Return (oplog position, is_invalidate) or raise ValueError."""
    if not isinstance(token, dict) or not isinstance(token.get("_data"), str):
        raise ValueError("resume token must be a document with a string _data field")
    data = token["_data"]
    if len(data) != 20 or not data.startswith(_TOKEN_PREFIX):
        raise ValueError("resume token was not produced by this store")
    seq = int(data[2:18], 16)
    return seq, data[18:] == _INVALIDATE_SUFFIX
