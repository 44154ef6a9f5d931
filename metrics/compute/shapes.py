"""Pieces the metric modules describe their data with (DRF serializer fields).

A module's `data` serializer is the one definition of its value's shape: the REST
responses, the OpenAPI and AsyncAPI documents are derived from it (metrics/serializers.py,
live/sockets/asyncapi.py).
"""

from __future__ import annotations

from rest_framework import serializers

BY_DEPARTMENT = 'Department code -> value; documents without a department appear as "unassigned" '
BY_DEPARTMENT += "in the all-departments scope only."


def counts_field(help_text: str = "") -> serializers.DictField:
    """A map of names to whole numbers."""
    return serializers.DictField(child=serializers.IntegerField(), help_text=help_text)


def by_department(
    child: serializers.Field | None = None, help_text: str = ""
) -> serializers.DictField:
    """Department code -> a value (a count unless told otherwise)."""
    text = f"{help_text} {BY_DEPARTMENT}".strip()
    return serializers.DictField(child=child or serializers.IntegerField(), help_text=text)
