"""Aggregation pipelines run by mongomock, stage by stage, where it answers as MongoDB does.

mongomock turns empty input into a document in two stages where MongoDB
returns nothing: `$count` gives `{n: 0}` and `$group` by a constant gives one
group. Metrics that read "no document" as zero would still work, but ones that
test for presence would not, so those stages are answered here on empty input,
also inside `$facet`.
"""

from __future__ import annotations

from typing import Any

from mongomock.aggregate import process_pipeline
from pymongo.errors import OperationFailure

from .errors import engine_errors

_EMPTY_IN_EMPTY_OUT = {"$count", "$group"}
_WRITE_STAGES = {"$out", "$merge"}


def run_pipeline(documents: list[dict], database: Any, pipeline: list[dict]) -> list[dict]:
    """The result of `pipeline` over `documents` (copies), as MongoDB would return it."""
    if not isinstance(pipeline, list):
        raise OperationFailure("'pipeline' option must be specified as an array", code=14)
    for stage in pipeline:
        if not isinstance(stage, dict) or len(stage) != 1:
            raise OperationFailure(
                "A pipeline stage specification object must contain exactly one field.", code=40323
            )
        ((name, options),) = stage.items()
        if name in _WRITE_STAGES:
            raise OperationFailure(f"{name} is not supported by the embedded store", code=115)
        if name == "$facet" and isinstance(options, dict):
            documents = [
                {
                    title: run_pipeline(list(documents), database, sub)
                    for title, sub in options.items()
                }
            ]
        else:
            with engine_errors():
                # Run on empty input too, so a malformed stage still fails as on MongoDB.
                result = list(process_pipeline(documents, database, [stage], None))
            documents = [] if name in _EMPTY_IN_EMPTY_OUT and not documents else result
    return documents
