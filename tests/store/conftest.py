"""The store contract suite's fixtures: the same tests against the embedded store and, when
MONGODB_TEST_URI names a replica set, against real MongoDB.

`store_db` is a fresh database on each backend. `embedded_db` is for the few
behaviours only the embedded store can show (its fault switch, its history
size); tests that use it say so in their module.
"""

from __future__ import annotations

import uuid

import pytest
from pymongo import MongoClient

from embedded_mongo import EmbeddedClient

from .support import MONGODB_TEST_URI

BACKENDS = ["embedded"] + (["mongodb"] if MONGODB_TEST_URI else [])
DB_NAME = "contract"


@pytest.fixture(params=BACKENDS)
def store_db(request, hospital_store):
    """A fresh, empty database: the embedded store's test file, or a new database on MongoDB."""
    if request.param == "embedded":
        yield EmbeddedClient(hospital_store)[DB_NAME]
        return
    client = MongoClient(MONGODB_TEST_URI, serverSelectionTimeoutMS=10_000)
    name = f"contract_{uuid.uuid4().hex[:12]}"
    try:
        yield client[name]
    finally:
        client.drop_database(name)
        client.close()


@pytest.fixture
def embedded_db(hospital_store):
    """The embedded store alone."""
    return EmbeddedClient(hospital_store)[DB_NAME]
