"""Live hospital activity: each event is one realistic change to the hospital (a few writes at most).

Every event takes `(db, rng, now)`: the pymongo database, a `random.Random`
and the current moment as an aware datetime in the hospital's time zone. It
returns how many documents it wrote, 0 when there was nothing to do (no one
to discharge...). Each write is guarded by the state it expects
(`{"status": "admitted"}`...), so two simulators, or a simulator and a
person, never apply the same transition twice.

Two kinds: the hospital's events, whose pace follows the hospital's day
(`simulator.day`), and routine record keeping, which fills the simulator's
rate between them and changes no figure the dashboard shows.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from .appointments import appointment_clock, book_appointment, cancel_appointment
from .operations import (
    create_bill,
    hard_delete,
    pay_bill,
    replace_room,
    soft_delete,
    turn_over_room,
    void_bill,
)
from .patients import (
    MAX_OPEN_EMERGENCIES,
    admit_patient,
    advance_emergency,
    advance_workflow,
    discharge_patient,
    raise_emergency,
    register_patient,
    resolve_emergency,
    see_patient,
    send_home,
)
from .routine import check_room, note_observation, scan_badge
from .staff import clock_in, clock_out, end_break, take_break

Event = Callable[[Any, random.Random, dt.datetime], int]

# The hospital's events by name; `simulator.day` says how often each happens.
HOSPITAL_EVENTS: dict[str, Event] = {
    "register_patient": register_patient,
    "see_patient": see_patient,
    "admit_patient": admit_patient,
    "send_home": send_home,
    "discharge_patient": discharge_patient,
    "book_appointment": book_appointment,
    "cancel_appointment": cancel_appointment,
    "appointment_clock": appointment_clock,
    "turn_over_room": turn_over_room,
    "replace_room": replace_room,
    "create_bill": create_bill,
    "pay_bill": pay_bill,
    "void_bill": void_bill,
    "advance_workflow": advance_workflow,
    "raise_emergency": raise_emergency,
    "advance_emergency": advance_emergency,
    "resolve_emergency": resolve_emergency,
    "clock_in": clock_in,
    "clock_out": clock_out,
    "take_break": take_break,
    "end_break": end_break,
    "soft_delete": soft_delete,
    "hard_delete": hard_delete,
}
# Events that follow the clock rather than a rate: each looks every so many seconds.
CLOCKED: dict[str, float] = {"appointment_clock": 120.0}
# Routine record keeping, weighted: what fills `--rate` between the hospital's events.
ROUTINE: dict[str, tuple[Event, float]] = {
    "note_observation": (note_observation, 3),
    "scan_badge": (scan_badge, 2),
    "check_room": (check_room, 1),
}

__all__ = ["CLOCKED", "HOSPITAL_EVENTS", "MAX_OPEN_EMERGENCIES", "ROUTINE", "Event"]
