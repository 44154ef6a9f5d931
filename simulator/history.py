"""A week of patients: who came, when, how long they stayed, and their care pathways.

Times are computed in UTC; the hospital's time zone (that of "now") only
decides what a local day, an office hour or a night is. Every document is
consistent with "now": nothing is discharged or resolved in the future.
Appointments and bills are in `visits.py`.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

from .hospital import (
    DEFAULT_PATIENTS,
    DEPARTMENT_CODES,
    EMERGENCIES_PER_REGISTRATION,
    EMERGENCY_MINUTES,
    EMERGENCY_STAGE_MINUTES,
    HISTORY_DAYS,
    building_scale,
    new_id,
    utc,
)
from .names import person_name
from .shapes import ARRIVALS, DISCHARGES, EMERGENCIES, hour_on, moment_in

UTC = dt.UTC
OCCUPANCY = (0.72, 0.90)  # share of each department's beds its admitted patients fill
OUTPATIENT_SHARE = 0.025  # patients with an open outpatient visit (the last few hours)
OUTPATIENT_HOURS = 8  # how far back an outpatient still in the building may have registered
# Open emergencies in the seed: as many as the simulator keeps open at that hour (`simulator.day`),
# each raised within the last EMERGENCY_SEED_MINUTES.
EMERGENCY_SEED_MINUTES = 30
EMERGENCY_STAGES = ("triage", "consultation", "diagnostics", "treatment", "discharge")
# Mean minutes from registration to a clinician, by triage level (1: at once).
SEEN_WITHIN_MINUTES = {
    1: 2,
    2: 10,
    3: 30,
    4: 45,
    5: 60,
}  # a handful, as a dashboard would show on a normal day


@dataclass(frozen=True)
class Profile:
    share: float  # of all patients
    inpatient: float  # chance that a past patient was admitted
    stay_days: float  # mean length of an inpatient stay
    appointments: int  # per weekday at the default size
    triage: tuple[int, int, int, int, int]  # weights of levels 1..5
    visit_fee: tuple[int, int]  # dollars, a consultation or a visit


PROFILES: dict[str, Profile] = {
    "ER": Profile(0.22, 0.12, 1.5, 0, (4, 14, 38, 28, 16), (250, 2500)),
    "CARD": Profile(0.13, 0.35, 5.0, 60, (1, 10, 45, 32, 12), (120, 400)),
    "NEURO": Profile(0.09, 0.35, 6.0, 45, (1, 10, 45, 32, 12), (120, 400)),
    "ORTHO": Profile(0.13, 0.30, 4.0, 60, (0, 6, 40, 38, 16), (100, 350)),
    "PED": Profile(0.13, 0.25, 3.0, 55, (1, 8, 40, 33, 18), (90, 300)),
    "ONC": Profile(0.11, 0.35, 6.0, 50, (1, 10, 45, 32, 12), (150, 450)),
    "RAD": Profile(0.13, 0.0, 0.0, 70, (0, 2, 20, 43, 35), (150, 1200)),
    "ICU": Profile(0.06, 1.0, 5.0, 0, (25, 45, 25, 5, 0), (400, 900)),
}


def split(total: int, shares: dict[str, float]) -> dict[str, int]:
    """`total` divided by `shares`, largest remainders first, summing to exactly `total`."""
    exact = {key: total * share / sum(shares.values()) for key, share in shares.items()}
    counts = {key: math.floor(value) for key, value in exact.items()}
    by_remainder = sorted(exact, key=lambda key: counts[key] - exact[key])
    for key in by_remainder[: total - sum(counts.values())]:
        counts[key] += 1
    return counts


def triage_level(rng: random.Random, department: str) -> int:
    return rng.choices((1, 2, 3, 4, 5), PROFILES[department].triage)[0]


def priority_for(triage: int, rng: random.Random) -> str:
    if triage == 1:
        return "emergency"
    if triage == 2 or rng.random() < 0.05:
        return "urgent"
    return "normal"


def busy_hour_time(
    rng: random.Random, start: dt.datetime, end: dt.datetime, tz: dt.tzinfo
) -> dt.datetime:
    """A registration time in [start, end) (UTC), following the local day's arrivals."""
    return moment_in(rng, ARRIVALS, start, end, tz)


def birth_date(rng: random.Random, department: str, now: dt.datetime) -> dt.datetime:
    age = rng.uniform(0, 17.9) if department == "PED" else rng.triangular(18, 95, 62)
    born = (now - dt.timedelta(days=age * 365.25)).date()
    return dt.datetime(born.year, born.month, born.day, tzinfo=UTC)


def new_mrn(rng: random.Random) -> str:
    return f"MRN{rng.randrange(10**7, 10**8)}"


def door_to_provider(rng: random.Random, triage: int) -> dt.timedelta:
    """How long a patient of this triage level waits to be seen (the most urgent at once)."""
    mean = SEEN_WITHIN_MINUTES[triage]
    # Triage sees that nobody waits past about three times their level's mean.
    return dt.timedelta(minutes=min(rng.expovariate(1 / mean), 3 * mean))


def _patient(rng: random.Random, code: str, status: str, now: dt.datetime, tz: dt.tzinfo) -> dict:
    profile = PROFILES[code]
    admitted_at = discharged_at = None
    if status == "admitted":
        elapsed = min(max(rng.expovariate(1 / profile.stay_days), 0.1), HISTORY_DAYS - 1)
        # Registered that day at an hour the day's arrivals favour (and before now).
        day = (now - dt.timedelta(days=elapsed)).astimezone(tz).date()
        registered = min(
            hour_on(rng, ARRIVALS, day, tz).astimezone(UTC),
            now - dt.timedelta(hours=rng.uniform(2, 6)),
        )
        admitted_at = registered + dt.timedelta(minutes=rng.uniform(10, 120))
    elif status == "outpatient":
        registered = busy_hour_time(rng, now - dt.timedelta(hours=OUTPATIENT_HOURS), now, tz)
    else:
        registered = busy_hour_time(
            rng, now - dt.timedelta(days=HISTORY_DAYS), now - dt.timedelta(hours=1), tz
        )
        if rng.random() < profile.inpatient:
            stay = dt.timedelta(days=max(rng.expovariate(1 / profile.stay_days), 0.25))
            admitted_at = registered + dt.timedelta(minutes=rng.uniform(10, 120))
        else:
            stay = dt.timedelta(hours=rng.uniform(0.5, 6))
        discharged_at = registered + stay
        if admitted_at is not None:
            # Inpatients go home after the morning round, around noon of their last day.
            last_day = discharged_at.astimezone(tz).date()
            discharged_at = max(
                hour_on(rng, DISCHARGES, last_day, tz).astimezone(UTC),
                registered + dt.timedelta(hours=4),
            )
        if discharged_at > now - dt.timedelta(minutes=5):
            discharged_at = registered + (now - registered) * rng.uniform(0.3, 0.95)
        if admitted_at is not None:
            admitted_at = min(admitted_at, registered + (discharged_at - registered) / 2)
    patient = {
        "_id": new_id(rng, registered),
        "mrn": new_mrn(rng),
        "name": person_name(rng),
        "birthDate": birth_date(rng, code, now),
        "departmentId": code,
        "status": status,
        "triageLevel": (triage := triage_level(rng, code)),
        "registeredAt": utc(registered),
        "isActive": True,
    }
    # Seen by a clinician: before admission or leaving; an outpatient may still be waiting.
    seen = registered + door_to_provider(rng, triage)
    for later in (admitted_at, discharged_at):
        if later is not None:
            seen = min(seen, later)
    if seen <= now:
        patient["seenAt"] = utc(seen)
    if admitted_at is not None:
        patient["admittedAt"] = utc(admitted_at)
    if discharged_at is not None:
        patient["dischargedAt"] = utc(discharged_at)
    return patient


def generate_patients(
    rng: random.Random, total: int, now: dt.datetime, beds: dict[str, int]
) -> list[dict]:
    """`total` patients: enough admitted to fill most beds, a few open outpatients, the rest discharged."""
    # A hospital below a fifth of the default size keeps a fifth of the building: fewer beds full.
    scale = min(1.0, total / DEFAULT_PATIENTS) / building_scale(total)
    now_utc = now.astimezone(UTC)
    patients = []
    for code, count in split(
        total, {code: PROFILES[code].share for code in DEPARTMENT_CODES}
    ).items():
        profile = PROFILES[code]
        admitted = min(count, round(beds.get(code, 0) * rng.uniform(*OCCUPANCY) * scale))
        outpatients = (
            0 if profile.inpatient == 1 else min(count - admitted, round(count * OUTPATIENT_SHARE))
        )
        for index in range(count):
            status = (
                "admitted"
                if index < admitted
                else "outpatient"
                if index < admitted + outpatients
                else "discharged"
            )
            patients.append(_patient(rng, code, status, now_utc, now.tzinfo or dt.UTC))
    # MRNs are random; a rare repeat gets a fresh number.
    seen: set[str] = set()
    for patient in patients:
        while patient["mrn"] in seen:
            patient["mrn"] = new_mrn(rng)
        seen.add(patient["mrn"])
    patients.sort(key=lambda patient: (patient["registeredAt"], patient["mrn"]))
    return patients


def _workflow(rng: random.Random, patient: dict, now: dt.datetime) -> dict:
    started = patient["registeredAt"]
    workflow = {
        "_id": new_id(rng, started),
        "patientId": patient["_id"],
        "departmentId": patient["departmentId"],
        "priority": priority_for(patient["triageLevel"], rng),
        "startedAt": started,
        "isActive": True,
    }
    if patient["status"] == "discharged":
        workflow.update(
            stage="done", updatedAt=patient["dischargedAt"], resolvedAt=patient["dischargedAt"]
        )
        return workflow
    if patient["status"] == "admitted":
        stages = {"consultation": 15, "diagnostics": 25, "treatment": 45, "discharge": 15}
    elif "seenAt" not in patient:
        stages = {"triage": 1}  # waiting to be seen
    else:
        stages = {"consultation": 45, "diagnostics": 35, "treatment": 20}
    workflow["stage"] = rng.choices(list(stages), list(stages.values()))[0]
    workflow["updatedAt"] = utc(started + (now - started) * rng.uniform(0.3, 1.0))
    return workflow


def generate_workflows(rng: random.Random, patients: list[dict], now: dt.datetime) -> list[dict]:
    """One care pathway per patient, and the emergencies open at `now`: each raised minutes ago
    (a critical arrival's own pathway, or a deterioration of an inpatient), as many as the
    simulator keeps open at that hour; older emergencies have been handled (urgent now)."""
    now_utc = now.astimezone(UTC)
    workflows = [_workflow(rng, patient, now_utc) for patient in patients]
    recent = now_utc - dt.timedelta(minutes=EMERGENCY_SEED_MINUTES)
    open_emergencies = []
    for flow in workflows:
        if flow["priority"] == "emergency" and flow["stage"] != "done":
            if flow["startedAt"] < recent:
                flow["priority"] = "urgent"
            else:
                open_emergencies.append(flow)
    wanted = max(1, round(expected_open_emergencies(patients, now) * rng.uniform(0.8, 1.2)))
    for flow in sorted(open_emergencies, key=lambda flow: flow["startedAt"])[wanted:]:
        flow["priority"] = "urgent"
    inpatients = [patient for patient in patients if patient["status"] == "admitted"]
    for _ in range(wanted - len(open_emergencies)):
        if not inpatients:
            break
        workflows.append(_deterioration(rng, rng.choice(inpatients), now_utc))
    return workflows


def expected_open_emergencies(patients: list[dict], now: dt.datetime) -> float:
    """Emergencies open on average at `now`'s hour: raised per hour times how long each lasts."""
    since = now.astimezone(UTC) - dt.timedelta(days=HISTORY_DAYS)
    per_day = sum(1 for patient in patients if patient["registeredAt"] >= utc(since)) / HISTORY_DAYS
    per_hour = per_day * EMERGENCIES_PER_REGISTRATION / 24 * EMERGENCIES[now.hour]
    return per_hour * EMERGENCY_MINUTES / 60


def _deterioration(rng: random.Random, patient: dict, now: dt.datetime) -> dict:
    """An inpatient's emergency raised in the last EMERGENCY_SEED_MINUTES, a stage on every few
    minutes since (triage, then consultation...)."""
    age = dt.timedelta(minutes=rng.uniform(1, EMERGENCY_SEED_MINUTES))
    started = utc(now - age)
    steps = min(len(EMERGENCY_STAGES) - 1, int(age.total_seconds() / 60 / EMERGENCY_STAGE_MINUTES))
    return {
        "_id": new_id(rng, started),
        "patientId": patient["_id"],
        "departmentId": patient["departmentId"],
        "priority": "emergency",
        "stage": EMERGENCY_STAGES[steps],
        "startedAt": started,
        "updatedAt": utc(started + dt.timedelta(minutes=steps * EMERGENCY_STAGE_MINUTES)),
        "isActive": True,
    }


def soft_delete_a_few(rng: random.Random, documents: dict[str, list[dict]]) -> None:
    """What a real database has too: merged duplicates, purged cancellations, a closed room."""
    rules = {
        "patients": (lambda doc: doc["status"] == "discharged", 0.004),
        "appointments": (lambda doc: doc["status"] == "cancelled", 0.1),
        "bills": (lambda doc: doc["status"] == "void", 0.3),
        "staff": (lambda doc: doc["status"] == "off_duty", 0.02),
    }
    for name, (eligible, fraction) in rules.items():
        for doc in documents.get(name, []):
            if eligible(doc) and rng.random() < fraction:
                doc["isActive"] = False
    closed = [room for room in documents.get("rooms", []) if room["status"] == "maintenance"]
    if closed:
        rng.choice(closed)["isActive"] = False
