"""Hypothesis strategies: random hospital states around local midnight and daylight-saving changes.

Documents spread over a few departments, some soft-deleted (isActive false,
null or missing), some without a departmentId, with times a few milliseconds
to a day and a half from local midnights and from "now".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

TIME_ZONE = "America/New_York"
ZONE = ZoneInfo(TIME_ZONE)
CODES = ("ER", "CARD", "NEURO", "PED")
# Spring forward (23 hours), fall back (25 hours), and an ordinary summer day.
DAYS = (dt.date(2026, 3, 8), dt.date(2026, 11, 1), dt.date(2026, 7, 14))
MISSING = object()


@dataclass
class HospitalState:
    now: dt.datetime
    documents: dict[str, list[dict]] = field(default_factory=dict)
    acknowledged: list[int] = field(default_factory=list)


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=ZONE).astimezone(dt.UTC)


def maybe(strategy: st.SearchStrategy, missing_weight: int = 1) -> st.SearchStrategy:
    """The strategy's value, or (sometimes) the field left out of the document."""
    return st.one_of(*([strategy] * (4 - missing_weight)), st.just(MISSING))


def document(**fields: st.SearchStrategy) -> st.SearchStrategy:
    return st.fixed_dictionaries(fields).map(
        lambda doc: {key: value for key, value in doc.items() if value is not MISSING}
    )


def moments(anchors: list[dt.datetime]) -> st.SearchStrategy:
    """Millisecond instants near the anchors: within seconds, or within a day and a half."""
    offsets = st.one_of(st.integers(-3_000, 3_000), st.integers(-36 * 3_600_000, 36 * 3_600_000))
    return st.builds(
        lambda anchor, ms: anchor + dt.timedelta(milliseconds=ms), st.sampled_from(anchors), offsets
    )


active = maybe(st.sampled_from([True, True, True, True, False, None]))
department = maybe(st.one_of(st.sampled_from(CODES), st.none()))


def documents(when: st.SearchStrategy) -> dict[str, st.SearchStrategy]:
    """One document of each hospital collection (departments apart), times drawn from `when`."""
    return {
        "patients": document(
            isActive=active,
            departmentId=department,
            status=maybe(st.sampled_from(["admitted", "outpatient", "discharged"])),
            name=st.just("Jane Secretname"),
            mrn=st.just("MRN-SECRET-1"),
            registeredAt=maybe(when),
            triageLevel=maybe(st.sampled_from([1, 2, 3, 4, 5])),
            seenAt=maybe(st.one_of(when, st.none())),
            admittedAt=maybe(st.one_of(when, st.none())),
            dischargedAt=maybe(st.one_of(when, st.none())),
        ),
        "appointments": document(
            isActive=active,
            departmentId=department,
            patientId=st.just("p-1"),
            status=maybe(
                st.sampled_from(["scheduled", "checked_in", "completed", "cancelled", "no_show"])
            ),
            scheduledAt=maybe(when),
        ),
        "rooms": document(
            isActive=active,
            departmentId=department,
            type=maybe(st.sampled_from(["ward", "icu", "er", "or", "consult"])),
            status=maybe(st.sampled_from(["available", "occupied", "cleaning", "maintenance"])),
            capacity=maybe(st.integers(0, 6)),
            occupiedBeds=maybe(st.integers(0, 6)),
        ),
        "bills": document(
            isActive=active,
            departmentId=department,
            amountCents=st.integers(0, 500_000),
            currency=maybe(st.sampled_from(["USD", "USD", "EUR"])),
            status=st.sampled_from(["pending", "paid", "void"]),
            paidAt=maybe(st.one_of(when, st.none())),
        ),
        "workflows": document(
            isActive=active,
            departmentId=department,
            patientId=maybe(st.sampled_from(["p-1", "p-2", "p-3"])),
            stage=maybe(st.sampled_from(["triage", "consultation", "treatment", "done"])),
            priority=st.sampled_from(["normal", "urgent", "emergency", "emergency"]),
            startedAt=maybe(when),
            resolvedAt=maybe(st.one_of(when, st.none()), missing_weight=2),
        ),
        "staff": document(
            isActive=active,
            departmentId=department,
            role=maybe(st.sampled_from(["doctor", "nurse", "technician", "admin"])),
            status=maybe(st.sampled_from(["on_duty", "off_duty", "on_break"])),
        ),
    }


def collections(when: st.SearchStrategy, size: int = 10) -> dict[str, st.SearchStrategy]:
    return {
        "departments": st.lists(
            st.sampled_from(CODES).flatmap(
                lambda code: document(
                    _id=st.just(code),
                    name=st.just(f"Dept {code}"),
                    isActive=active,
                )
            ),
            max_size=len(CODES),
            unique_by=lambda doc: doc["_id"],
        ),
        **{name: st.lists(one, max_size=size) for name, one in documents(when).items()},
    }


@st.composite
def hospital_states(draw) -> HospitalState:
    """A state of the hospital and a "now" somewhere in (or at the edges of) a chosen local day."""
    day = draw(st.sampled_from(DAYS))
    start, end = local_midnight(day), local_midnight(day + dt.timedelta(days=1))
    seconds = int((end - start).total_seconds())
    now = start + dt.timedelta(
        seconds=draw(
            st.one_of(
                st.integers(0, seconds - 1),
                st.sampled_from([0, 1, seconds - 1]),
            )
        )
    )
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=ZONE).astimezone(dt.UTC)
    when = moments([start, noon, end, now])
    documents = {name: draw(strategy) for name, strategy in collections(when).items()}
    acknowledged = draw(st.lists(st.integers(0, 9), unique=True, max_size=4))
    return HospitalState(now, documents, acknowledged)


@st.composite
def ranges(draw) -> tuple[dt.datetime, dt.datetime]:
    """A historical range starting near a chosen local day, from a minute to three days long."""
    day = draw(st.sampled_from(DAYS))
    start = local_midnight(day) + dt.timedelta(seconds=draw(st.integers(-6 * 3600, 30 * 3600)))
    return start, start + dt.timedelta(seconds=draw(st.integers(60, 3 * 86_400)))
