"""The access policy against the table of levels (docs/accounts.md), written out by hand.

Every level (and no level, and an inactive user) × every metric × no, one
and several departments. The expected answers come from the contract's table,
not from the code.
"""

from __future__ import annotations

import pytest

from accounts.policy import access_for
from metrics.catalogue import METRICS

pytestmark = pytest.mark.django_db

ALL_METRICS = {
    "patientCount",
    "emergencyAlerts",
    "roomOccupancy",
    "todayAppointments",
    "revenue",
    "staffActivity",
    "dischargesToday",
    "erWaiting",
    "hourlyStats",
    "departmentMetrics",
}
HISTORICAL = {"hourlyStats", "departmentMetrics"}

DEPARTMENT_SETS = {
    "none": (),
    "one": ("ER",),
    "several": ("CARD", "ER", "ICU"),
}
OUTSIDE = "NEURO"  # a department in no set above

# user kind -> what the table of levels says it sees
SEES = {
    "super_admin": ALL_METRICS,
    "admin": ALL_METRICS,
    "viewer": ALL_METRICS - {"revenue"},
    "no_level": set(),
    "inactive": set(),
}
# Historical rows lose their revenue fields for those who may not see revenue.
HIDDEN_IN_HISTORICAL = {
    "super_admin": set(),
    "admin": set(),
    "viewer": {"revenueCents"},
}
# (user kind, departments set) -> the departments its numbers cover (None: all)
SCOPE = {
    ("super_admin", "none"): None,
    ("super_admin", "one"): None,
    ("super_admin", "several"): None,
    ("admin", "none"): [],
    ("admin", "one"): ["ER"],
    ("admin", "several"): ["CARD", "ER", "ICU"],
    ("viewer", "none"): None,
    ("viewer", "one"): ["ER"],
    ("viewer", "several"): ["CARD", "ER", "ICU"],
    ("no_level", "none"): [],
    ("no_level", "one"): [],
    ("no_level", "several"): [],
    ("inactive", "none"): [],
    ("inactive", "one"): [],
    ("inactive", "several"): [],
}
# (user kind, departments set) -> (may acknowledge inside its departments, outside them)
ACKNOWLEDGE = {
    ("super_admin", "none"): (True, True),
    ("super_admin", "one"): (True, True),
    ("super_admin", "several"): (True, True),
    ("admin", "none"): (False, False),
    ("admin", "one"): (True, False),
    ("admin", "several"): (True, False),
    ("viewer", "none"): (False, False),
    ("viewer", "one"): (False, False),
    ("viewer", "several"): (False, False),
    ("no_level", "none"): (False, False),
    ("no_level", "one"): (False, False),
    ("no_level", "several"): (False, False),
    ("inactive", "none"): (False, False),
    ("inactive", "one"): (False, False),
    ("inactive", "several"): (False, False),
}

KINDS = list(SEES)
CASES = [(kind, dept_set) for kind in KINDS for dept_set in DEPARTMENT_SETS]


def _access(make_user, kind, dept_set):
    departments = DEPARTMENT_SETS[dept_set]
    if kind == "no_level":
        # With departments: a profile whose level is blank; without: no profile at all.
        user = make_user("someone", level="" if departments else None, departments=departments)
    elif kind == "inactive":
        # The most privileged level, to show deactivation overrides it.
        user = make_user("gone", level="super_admin", departments=departments, active=False)
    else:
        user = make_user("user", level=kind, departments=departments)
    return access_for(user)


def test_the_table_covers_the_whole_catalogue():
    assert set(METRICS) == ALL_METRICS
    assert {name for name, d in METRICS.items() if not d.live} == HISTORICAL


@pytest.mark.parametrize("metric", sorted(ALL_METRICS))
@pytest.mark.parametrize(("kind", "dept_set"), CASES)
def test_each_user_sees_exactly_the_metrics_its_level_allows(make_user, kind, dept_set, metric):
    access = _access(make_user, kind, dept_set)

    assert access.can_see(metric) is (metric in SEES[kind])


@pytest.mark.parametrize(("kind", "dept_set"), CASES)
def test_visible_and_live_metric_lists_follow_the_same_table(make_user, kind, dept_set):
    access = _access(make_user, kind, dept_set)

    assert set(access.visible_metrics) == SEES[kind]
    assert set(access.live_metrics) == SEES[kind] - HISTORICAL
    assert access.has_dashboard_access is bool(SEES[kind])


@pytest.mark.parametrize(("kind", "dept_set"), CASES)
def test_numbers_are_computed_over_the_departments_its_level_gives(make_user, kind, dept_set):
    access = _access(make_user, kind, dept_set)

    assert access.scope.as_list() == SCOPE[(kind, dept_set)]


@pytest.mark.parametrize(("kind", "dept_set"), CASES)
def test_alerts_may_be_acknowledged_only_where_its_level_allows(make_user, kind, dept_set):
    access = _access(make_user, kind, dept_set)
    inside = (DEPARTMENT_SETS[dept_set] or ("ER",))[0]

    assert (access.can_acknowledge(inside), access.can_acknowledge(OUTSIDE)) == ACKNOWLEDGE[
        (kind, dept_set)
    ]
    assert access.privileged is (kind in ("super_admin", "admin"))


@pytest.mark.parametrize("metric", sorted(HISTORICAL))
@pytest.mark.parametrize(("kind", "dept_set"), [c for c in CASES if c[0] in HIDDEN_IN_HISTORICAL])
def test_historical_rows_hide_revenue_from_viewers_only(make_user, kind, dept_set, metric):
    access = _access(make_user, kind, dept_set)

    assert set(access.hidden_fields(metric)) == HIDDEN_IN_HISTORICAL[kind]
    assert access.privileged is (kind != "viewer")


@pytest.mark.parametrize("metric", sorted(ALL_METRICS - HISTORICAL))
@pytest.mark.parametrize("kind", ["super_admin", "admin", "viewer"])
def test_live_metrics_are_never_trimmed_field_by_field(make_user, kind, metric):
    access = _access(make_user, kind, "one")

    assert access.hidden_fields(metric) == frozenset()


def test_an_anonymous_caller_has_no_access():
    access = access_for(None)

    assert not access.has_dashboard_access
    assert access.visible_metrics == []
    assert not access.can_acknowledge("ER")
