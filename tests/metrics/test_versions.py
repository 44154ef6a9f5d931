"""A version is a database position (MongoDB's cluster time) as one integer: order kept, below
2^53 so that a JavaScript number holds it exactly, and read from the database itself."""

from __future__ import annotations

from bson.timestamp import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from metrics.versions import LIMIT, MAX_INCREMENT, position_now, position_of, version_of

seconds = st.integers(min_value=0, max_value=2**32 - 1)
increments = st.integers(min_value=0, max_value=2**32 - 1)
positions = st.builds(Timestamp, seconds, increments)


@given(positions, positions)
def test_a_later_position_never_has_a_smaller_version(a, b):
    if a < b:
        assert version_of(a) <= version_of(b)
        if a.inc <= MAX_INCREMENT and b.inc <= MAX_INCREMENT:
            assert version_of(a) < version_of(b)  # strictly, within the increments kept


@given(positions)
def test_every_version_is_a_safe_javascript_integer_and_names_its_position(position):
    version = version_of(position)
    assert 0 <= version < LIMIT == 2**53
    assert position_of(version) == Timestamp(position.time, min(position.inc, MAX_INCREMENT))


def test_the_encoding_is_seconds_shifted_by_21_bits_plus_the_increment():
    assert version_of(Timestamp(1_772_971_200, 1)) == 1_772_971_200 * 2**21 + 1
    assert version_of(Timestamp(5, 2**21 + 7)) == version_of(Timestamp(5, 2**21 - 1))
    assert version_of(Timestamp(5, 2**21 + 7)) < version_of(Timestamp(6, 1))


def test_the_position_now_is_the_last_write_and_never_before_it(hospital_db):
    with hospital_db.client.start_session() as session:
        hospital_db.rooms.insert_one({"number": "1"}, session=session)
        written = version_of(session.operation_time)
    assert position_now(hospital_db) == written  # the store's only writer: exactly its write
    hospital_db.rooms.insert_one({"number": "2"})
    assert position_now(hospital_db) > written
