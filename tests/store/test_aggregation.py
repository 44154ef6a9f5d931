"""The aggregation stages the metrics use, answering as MongoDB documents them."""

import datetime as dt

import pytest

DAY = dt.datetime(2026, 3, 1)


def at(hour: int, minute: int = 0) -> dt.datetime:
    return DAY + dt.timedelta(hours=hour, minutes=minute)


@pytest.fixture
def hospital(store_db):
    store_db.patients.insert_many(
        [
            {
                "_id": "p1",
                "departmentId": "ER",
                "status": "admitted",
                "triageLevel": 1,
                "registeredAt": at(1),
                "isActive": True,
                "tags": ["fall", "fracture"],
            },
            {
                "_id": "p2",
                "departmentId": "ER",
                "status": "discharged",
                "triageLevel": 3,
                "registeredAt": at(2),
                "dischargedAt": at(5),
                "isActive": True,
                "tags": [],
            },
            {
                "_id": "p3",
                "departmentId": "CARD",
                "status": "outpatient",
                "triageLevel": 2,
                "registeredAt": at(2, 30),
                "isActive": True,
                "tags": ["chest pain"],
            },
            {
                "_id": "p4",
                "departmentId": "CARD",
                "status": "admitted",
                "triageLevel": 4,
                "registeredAt": at(7),
                "isActive": False,
            },
            {
                "_id": "p5",
                "departmentId": "NEURO",
                "status": "admitted",
                "triageLevel": 5,
                "registeredAt": at(23, 59),
                "isActive": True,
                "tags": ["fall"],
            },
        ]
    )
    return store_db


def run(db, pipeline):
    return list(db.patients.aggregate(pipeline))


def test_match_with_in_ne_and_exists_then_group_by_department(hospital):
    result = run(
        hospital,
        [
            {
                "$match": {
                    "isActive": True,
                    "status": {"$ne": "discharged"},
                    "departmentId": {"$in": ["ER", "CARD", "NEURO"]},
                    "dischargedAt": {"$exists": False},
                }
            },
            {"$group": {"_id": "$departmentId", "n": {"$sum": 1}}},
            {"$sort": {"_id": 1}},
        ],
    )
    assert result == [{"_id": "CARD", "n": 1}, {"_id": "ER", "n": 1}, {"_id": "NEURO", "n": 1}]


def test_match_on_a_half_open_date_range(hospital):
    result = run(
        hospital,
        [
            {"$match": {"registeredAt": {"$gte": at(2), "$lt": at(7)}}},
            {"$sort": {"_id": 1}},
            {"$project": {"_id": 1}},
        ],
    )
    assert result == [{"_id": "p2"}, {"_id": "p3"}]


def test_group_with_sum_cond_max_min_push_and_first(hospital):
    result = run(
        hospital,
        [
            {"$match": {"isActive": True}},
            {"$sort": {"registeredAt": 1}},
            {
                "$group": {
                    "_id": None,
                    "total": {"$sum": 1},
                    "admitted": {"$sum": {"$cond": [{"$eq": ["$status", "admitted"]}, 1, 0]}},
                    "latest": {"$max": "$registeredAt"},
                    "earliest": {"$min": "$registeredAt"},
                    "ids": {"$push": "$_id"},
                    "first": {"$first": "$_id"},
                    "worstTriage": {"$min": "$triageLevel"},
                }
            },
        ],
    )
    assert result == [
        {
            "_id": None,
            "total": 4,
            "admitted": 2,
            "latest": at(23, 59),
            "earliest": at(1),
            "ids": ["p1", "p2", "p3", "p5"],
            "first": "p1",
            "worstTriage": 1,
        }
    ]


def test_sort_limit_and_project_with_a_computed_field(hospital):
    result = run(
        hospital,
        [
            {"$sort": {"triageLevel": -1}},
            {"$limit": 2},
            {"$project": {"_id": 0, "id": "$_id", "urgent": {"$lte": ["$triageLevel", 2]}}},
        ],
    )
    assert result == [{"id": "p5", "urgent": False}, {"id": "p4", "urgent": False}]


def test_unwind_skips_missing_and_empty_arrays(hospital):
    result = run(
        hospital,
        [
            {"$unwind": "$tags"},
            {"$group": {"_id": "$tags", "n": {"$sum": 1}}},
            {"$sort": {"_id": 1}},
        ],
    )
    assert result == [
        {"_id": "chest pain", "n": 1},
        {"_id": "fall", "n": 2},
        {"_id": "fracture", "n": 1},
    ]


def test_count_counts_its_input(hospital):
    assert run(hospital, [{"$match": {"isActive": True}}, {"$count": "n"}]) == [{"n": 4}]


def test_count_on_empty_input_returns_no_document(hospital):
    assert run(hospital, [{"$match": {"status": "deceased"}}, {"$count": "n"}]) == []


def test_group_on_empty_input_returns_no_document(hospital):
    pipeline = [{"$match": {"status": "deceased"}}, {"$group": {"_id": None, "n": {"$sum": 1}}}]
    assert run(hospital, pipeline) == []


def test_facet_runs_each_pipeline_on_the_same_input(hospital):
    result = run(
        hospital,
        [
            {"$match": {"isActive": True}},
            {
                "$facet": {
                    "total": [{"$count": "n"}],
                    "critical": [{"$match": {"triageLevel": {"$lte": 2}}}, {"$count": "n"}],
                    "deceased": [{"$match": {"status": "deceased"}}, {"$count": "n"}],
                    "byStatus": [
                        {"$group": {"_id": "$status", "n": {"$sum": 1}}},
                        {"$sort": {"_id": 1}},
                    ],
                }
            },
        ],
    )
    assert result == [
        {
            "total": [{"n": 4}],
            "critical": [{"n": 2}],
            "deceased": [],
            "byStatus": [
                {"_id": "admitted", "n": 2},
                {"_id": "discharged", "n": 1},
                {"_id": "outpatient", "n": 1},
            ],
        }
    ]


def test_bucket_by_hour_boundaries_omits_empty_buckets(hospital):
    boundaries = [at(hour) for hour in range(0, 25, 2)]  # 00:00 .. next 00:00, two hours each
    result = run(
        hospital,
        [
            {"$sort": {"_id": 1}},
            {
                "$bucket": {
                    "groupBy": "$registeredAt",
                    "boundaries": boundaries,
                    "output": {"n": {"$sum": 1}, "ids": {"$push": "$_id"}},
                }
            },
        ],
    )
    assert result == [
        {"_id": at(0), "n": 1, "ids": ["p1"]},
        {"_id": at(2), "n": 2, "ids": ["p2", "p3"]},
        {"_id": at(6), "n": 1, "ids": ["p4"]},
        {"_id": at(22), "n": 1, "ids": ["p5"]},
    ]


def test_bucket_counts_by_default_and_gathers_outliers_in_default(hospital):
    result = run(
        hospital,
        [
            {
                "$bucket": {
                    "groupBy": "$registeredAt",
                    "boundaries": [at(0), at(3)],
                    "default": "later",
                }
            },
        ],
    )
    assert result == [{"_id": at(0), "count": 3}, {"_id": "later", "count": 2}]
