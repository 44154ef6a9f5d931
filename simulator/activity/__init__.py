"""Live hospital activity: each event is one realistic change to the hospital (a few writes at most).

Every event takes `(db, rng, now)`: the pymongo database, a `random.Random`
and the current moment as an aware datetime in the hospital's time zone. It
returns how many documents it wrote, 0 when there was nothing to do (no one
to discharge at night...). Each write is guarded by the state it expects
(`{"status": "admitted"}`...), so two simulators, or a simulator and a
person, never apply the same transition twice.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from .appointments import (
    book_appointment,
    check_in_appointment,
    complete_appointment,
    miss_appointment,
)
from .operations import (
    change_shift,
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
    advance_workflow,
    discharge_patient,
    raise_emergency,
    register_patient,
    resolve_emergency,
)

Event = Callable[[Any, random.Random, dt.datetime], int]

# Every kind of event and how often it happens relative to the others. They
# balance: discharges match arrivals, a pathway needs three or four advances.
EVENTS: dict[str, tuple[Event, float]] = {
    "register_patient": (register_patient, 8),
    "admit_patient": (admit_patient, 6),
    "discharge_patient": (discharge_patient, 9),
    "book_appointment": (book_appointment, 6),
    "check_in_appointment": (check_in_appointment, 10),
    "complete_appointment": (complete_appointment, 9),
    "miss_appointment": (miss_appointment, 2),
    "turn_over_room": (turn_over_room, 8),
    "replace_room": (replace_room, 1),
    "create_bill": (create_bill, 4),
    "pay_bill": (pay_bill, 11),
    "void_bill": (void_bill, 1),
    "advance_workflow": (advance_workflow, 28),
    "raise_emergency": (raise_emergency, 2),
    "resolve_emergency": (resolve_emergency, 3),
    "change_shift": (change_shift, 8),
    "soft_delete": (soft_delete, 1),
    "hard_delete": (hard_delete, 1),
}

__all__ = ["EVENTS", "MAX_OPEN_EMERGENCIES", "Event", *EVENTS]
