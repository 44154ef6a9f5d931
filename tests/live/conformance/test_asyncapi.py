"""/api/asyncapi/ is a valid AsyncAPI 3.0 document, and it describes what clients send."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft7Validator
from pydantic import ValidationError
from pydantic_asyncapi import AsyncAPI

pytestmark = pytest.mark.slow

OFFICIAL_SCHEMA = json.loads(
    (Path(__file__).parent / "vendor" / "asyncapi-3.0.0.schema.json").read_text()
)


def official_problems(document: dict) -> list[str]:
    return [error.message for error in Draft7Validator(OFFICIAL_SCHEMA).iter_errors(document)]


def test_the_document_validates_as_asyncapi_3(protocol_document):
    document = protocol_document.document
    assert document["asyncapi"] == "3.0.0"
    assert AsyncAPI.model_validate(document).root.asyncapi == "3.0.0"
    assert official_problems(document) == []


def test_the_validators_refuse_a_broken_document(protocol_document):
    broken = copy.deepcopy(protocol_document.document)
    del broken["info"]
    with pytest.raises(ValidationError):
        AsyncAPI.model_validate(broken)
    assert official_problems(broken)


def test_client_messages_follow_the_document(protocol_document):
    valid = [
        {"type": "authenticate", "token": "t", "requestId": "a"},
        {"type": "subscribe_metrics", "metrics": ["patientCount"]},
        {"type": "unsubscribe_metrics", "metrics": ["patientCount"]},
        {"type": "request_snapshot"},
        {
            "type": "request_historical",
            "timeRange": {"start": "2026-03-08T00:00:00Z", "end": "2026-03-09T00:00:00Z"},
        },
        {"type": "acknowledge_alert", "alertId": "64af0c0c0c0c0c0c0c0c0c0c"},
        {"type": "ping"},
    ]
    assert protocol_document.problems(valid, "ClientMessage") == []
    invalid = [
        {"type": "dance"},
        {"type": "subscribe_metrics", "metrics": []},
        {"type": "ping", "requestId": "x" * 65},
    ]
    assert len(protocol_document.problems(invalid, "ClientMessage")) == len(invalid)
