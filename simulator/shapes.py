"""The hospital's day in 24 numbers: how busy each local hour is, for each kind of event.

One table for the seeded history (`simulator.history`, `simulator.visits`)
and the live simulator (`simulator.day`), so that the weeks behind "now" and
the hours after it keep the same rhythm. Each shape is 24 relative weights by
local hour (00:00 first), scaled to average 1. Sources of each shape are in
docs/simulator.md.
"""

from __future__ import annotations

import datetime as dt
import random


def shape(*weights: float) -> tuple[float, ...]:
    """24 relative weights by local hour, scaled to average 1."""
    if len(weights) != 24:
        raise ValueError("a shape has one weight per hour")
    mean = sum(weights) / len(weights)
    return tuple(w / mean for w in weights)


# fmt: off
# Registrations: the emergency departments all night (their trough about 03:00-05:00, some two
# fifths of the late-morning peak), clinics and referrals in office hours on top.
ARRIVALS = shape(6, 5, 4.5, 4, 4, 4, 5, 6.5, 9, 11, 11, 10.5,
                 10, 10, 9.5, 9, 8.5, 8, 7.5, 7, 6.5, 6.5, 6, 6)
# Outpatients leave the emergency department at every hour: through the night it clears the
# evening's patients, and it is quietest early in the morning, before the day's arrivals are seen.
LEAVING = shape(9, 8.5, 8, 7.5, 7, 6, 5, 4.5, 5, 6, 7.5, 8.5,
                9.5, 10, 10, 10, 10, 10, 10, 10, 10, 10, 9.5, 9.5)
# Ward work that follows the day: admissions from clinics, charges, pathways moving on.
DAYTIME = shape(3, 2, 2, 2, 2, 3, 5, 8, 11, 13, 13, 12,
                12, 12, 12, 11, 11, 10, 9, 8, 7, 6, 5, 4)
# Inpatient discharges: after the morning round, around noon.
DISCHARGES = shape(1, 1, 1, 1, 1, 1, 2, 4, 8, 15, 22, 26,
                   26, 24, 22, 19, 15, 11, 8, 6, 4, 3, 2, 1)
# Clinics and the booking office.
OFFICE = shape(0, 0, 0, 0, 0, 0, 0, 1, 6, 10, 10, 10,
               8, 9, 10, 10, 9, 6, 2, 1, 0, 0, 0, 0)
# Payments: the billing office and online payments, mostly in the working day.
PAYMENTS = shape(1, 1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14,
                 12, 12, 13, 13, 12, 10, 7, 5, 4, 3, 2, 1)
# Emergency alerts never stop (deteriorations come at night as by day): a little more by day.
EMERGENCIES = shape(10, 10, 10, 10, 10, 10, 10, 10, 10.5, 11, 11, 11,
                    11, 11, 11, 11, 11, 11, 10.5, 10.5, 10.5, 10, 10, 10)
# Rooms turning over: emergency bays all night, theatres and consulting rooms by day.
ROOMS = shape(6, 5.5, 5, 5, 5, 5, 6, 8, 10, 11, 11, 11,
              11, 11, 11, 11, 10, 9, 8.5, 8, 7.5, 7, 6.5, 6)
# Record maintenance the night batch jobs do.
NIGHT = shape(1, 4, 4, 4, 4, 2, 1, 0, 0, 0, 0, 0,
              0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)
# fmt: on


def moment_in(
    rng: random.Random,
    weights: tuple[float, ...],
    start: dt.datetime,
    end: dt.datetime,
    tz: dt.tzinfo,
) -> dt.datetime:
    """A moment in [start, end), likelier in the local hours `weights` favours.

    Rejection sampling: a uniform moment is kept with the chance its hour's
    weight over the largest weight, so the moments follow the shape exactly
    (and a span that falls in quiet hours only still gets a moment).
    """
    span = (end - start).total_seconds()
    top = max(weights)
    for _ in range(1000):
        moment = start + dt.timedelta(seconds=rng.random() * span)
        if rng.random() * top < weights[moment.astimezone(tz).hour]:
            return moment
    return start + dt.timedelta(seconds=rng.random() * span)


def hour_on(
    rng: random.Random, weights: tuple[float, ...], day: dt.date, tz: dt.tzinfo
) -> dt.datetime:
    """A moment of the local `day`, likelier in the hours `weights` favours."""
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    return moment_in(rng, weights, midnight, midnight + dt.timedelta(days=1), tz)
