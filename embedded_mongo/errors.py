"""Turning the query engine's failures into the errors pymongo raises for the same input."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pymongo.errors import OperationFailure, WriteError

# MongoDB's error codes that the embedded store raises itself.
BAD_VALUE = 2
FAILED_TO_PARSE = 9
TYPE_MISMATCH = 14
CONFLICTING_UPDATE_OPERATORS = 40
IMMUTABLE_FIELD = 66
INDEX_OPTIONS_CONFLICT = 85
INDEX_KEY_SPECS_CONFLICT = 86
COMMAND_NOT_SUPPORTED = 115
DUPLICATE_KEY = 11000


@contextmanager
def engine_errors(write: bool = False) -> Iterator[None]:
    """Run a mongomock call; anything it raises comes out as a pymongo error, never a bare TypeError.

    mongomock signals a stage or operator it lacks with NotImplementedError and
    some invalid input with plain Python exceptions; MongoDB answers both with a
    server error, which is what callers already handle.
    """
    failure = WriteError if write else OperationFailure
    try:
        yield
    except OperationFailure as exc:
        if exc.code is not None and (isinstance(exc, WriteError) or not write):
            raise
        message = str(exc)
        if message.startswith("Unrecognized expression"):
            # mongomock lacks many of MongoDB's expressions ($dateTrunc, $round, ...).
            raise failure(
                f"not supported by the embedded store: {message}", code=COMMAND_NOT_SUPPORTED
            ) from exc
        raise failure(message, code=exc.code or BAD_VALUE) from exc
    except NotImplementedError as exc:
        raise OperationFailure(
            f"not supported by the embedded store: {exc}", code=COMMAND_NOT_SUPPORTED
        ) from exc
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        raise failure(f"invalid operation: {exc}", code=BAD_VALUE) from exc
