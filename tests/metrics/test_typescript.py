"""The TypeScript declarations are derived from the metric modules' data shapes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from metrics.catalogue import LIVE_METRICS, METRICS
from metrics_api.typescript import declarations, metric_declarations, type_of
from tests.typescript import compile_strict, require_tsc


def test_json_schema_types_become_typescript_types():
    assert type_of({"type": "integer"}) == "number"
    assert type_of({"type": "string", "format": "date-time", "nullable": True}) == "string | null"
    assert type_of({"type": "array", "items": {"$ref": "#/components/schemas/Alert"}}) == (
        "Array<Alert>"
    )
    assert type_of({"type": "object", "additionalProperties": {"type": "integer"}}) == (
        "{ [key: string]: number }"
    )
    assert type_of({"enum": ["a", "b"]}) == '"a" | "b"'
    assert type_of({"type": "object", "properties": {"x": {"type": "boolean"}}}) == (
        "{\n  x?: boolean;\n}"
    )


def test_required_fields_are_plain_and_the_others_optional_and_comments_stay_comments():
    text = declarations_for(
        {
            "PatientCount": {
                "type": "object",
                "properties": {
                    "total": {"type": "integer", "description": "all */ of them"},
                    "note": {"type": "string"},
                },
                "required": ["total"],
            }
        }
    )
    assert "  /** all *\\/ of them */\n  total: number;\n  note?: string;" in text


def declarations_for(components: dict) -> str:
    """Declarations with every live metric's component present (the others as empty objects)."""
    every = {
        METRICS[name].schema_name: {"type": "object", "properties": {}} for name in LIVE_METRICS
    }
    return declarations({**every, **components})


def test_every_live_metric_has_its_interface_and_its_place_in_the_update_type():
    text = metric_declarations()
    union = re.search(r"^export type LiveMetric = (.*);$", text, re.M).group(1)
    assert union.split(" | ") == [f'"{name}"' for name in LIVE_METRICS]
    for name in LIVE_METRICS:
        schema = METRICS[name].schema_name
        assert f"export interface {schema} {{" in text
        assert f"  {name}: {schema};" in text
    # Components the metrics refer to are declared too, once each.
    for referenced in ("Alert", "Occupancy", "DepartmentOccupancy", "BedCounts"):
        assert text.count(f"export interface {referenced} {{") == 1
    assert "data: MetricData[M];" in text
    assert text.count("{") == text.count("}")


USAGE = """
import type { DashboardUpdate, LiveMetric, MetricData } from "./metrics";

export function describe(update: DashboardUpdate): string {
  if (update.metric === "patientCount") return `${update.data.total} in care`;
  if (update.metric === "emergencyAlerts") return update.data.alerts.map((a) => a.id).join();
  if (update.metric === "erWaiting") return `${update.data.longestWaitSeconds} s`;
  return update.metric;
}
export const names: LiveMetric[] = ["patientCount", "dischargesToday"];
export const share = (data: MetricData["dischargesToday"]): number => data.beforeNoonShare;
"""
MISUSE = """
import type { MetricData } from "./metrics";
export const wrong = (data: MetricData["patientCount"]): string => data.total;
"""


def compile_with_tsc(tmp_path: Path, usage: str) -> subprocess.CompletedProcess:
    require_tsc()
    (tmp_path / "metrics.d.ts").write_text(metric_declarations())
    (tmp_path / "usage.ts").write_text(usage)
    return compile_strict(tmp_path / "usage.ts", "--target", "es2020", "--moduleResolution", "node")


def test_the_declarations_compile_and_type_a_client(tmp_path):
    result = compile_with_tsc(tmp_path, USAGE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compiler_refuses_a_client_that_misreads_a_metric(tmp_path):
    result = compile_with_tsc(tmp_path, MISUSE)
    assert result.returncode != 0
    assert "Type 'number' is not assignable to type 'string'" in result.stdout
