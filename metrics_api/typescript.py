"""TypeScript declarations of every live metric's data, derived from the metric modules.

Each metric module declares its data's shape once, as a DRF serializer (metrics/definition.py);
drf-spectacular turns it into the OpenAPI components the REST and AsyncAPI documents publish,
and this module turns those components into TypeScript: one interface per component, the union
of live metric names, and the update a socket receives, typed by metric. Served at
`GET /api/metrics/types.d.ts` (docs/websocket-api.md).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from drf_spectacular.generators import SchemaGenerator

from metrics.catalogue import LIVE_METRICS, METRICS

REF = "#/components/schemas/"


def type_of(schema: dict[str, Any]) -> str:
    """The TypeScript type of a JSON schema as drf-spectacular writes them."""
    if "$ref" in schema:
        text = schema["$ref"].removeprefix(REF)
    elif "allOf" in schema and len(schema["allOf"]) == 1:
        text = type_of(schema["allOf"][0])
    elif "enum" in schema:
        text = " | ".join(json.dumps(value) for value in schema["enum"])
    else:
        kind = schema.get("type")
        if kind in ("integer", "number"):
            text = "number"
        elif kind == "string":
            text = "string"
        elif kind == "boolean":
            text = "boolean"
        elif kind == "array":
            text = f"Array<{type_of(schema.get('items', {}))}>"
        elif kind == "object" and "properties" not in schema:
            values = schema.get("additionalProperties")
            text = (
                f"{{ [key: string]: {type_of(values) if isinstance(values, dict) else 'unknown'} }}"
            )
        elif kind == "object":
            text = _object(schema)
        else:
            text = "unknown"
    return f"{text} | null" if schema.get("nullable") else text


def _object(schema: dict[str, Any], indent: str = "") -> str:
    required = set(schema.get("required", ()))
    lines = ["{"]
    for name, field in schema.get("properties", {}).items():
        if field.get("description"):
            text = field["description"].replace("*/", "*\\/")  # never ends the comment early
            lines.append(f"{indent}  /** {text} */")
        optional = "" if name in required else "?"
        lines.append(f"{indent}  {name}{optional}: {type_of(field)};")
    lines.append(f"{indent}}}")
    return "\n".join(lines)


def _referenced(components: dict[str, dict], roots: list[str]) -> list[str]:
    """The components the roots need, roots first, each once."""
    found: list[str] = []

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            ref = value.get("$ref")
            if isinstance(ref, str) and ref.startswith(REF):
                name = ref.removeprefix(REF)
                if name not in found:
                    found.append(name)
                    visit(components[name])
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    for root in roots:
        if root not in found:
            found.append(root)
            visit(components[root])
    return found


def declarations(components: dict[str, dict]) -> str:
    """The .d.ts text for the live metrics, from the OpenAPI components."""
    roots = [METRICS[name].schema_name for name in LIVE_METRICS]
    parts = [
        "// The live metrics' data, derived from the metric modules "
        '(docs/metrics.md, "Adding a metric").',
        "",
        "export type LiveMetric = " + " | ".join(json.dumps(name) for name in LIVE_METRICS) + ";",
        "",
    ]
    for name in _referenced(components, roots):
        parts.append(f"export interface {name} {_object(components[name])}")
        parts.append("")
    parts.append("/** Each live metric's `data`. */")
    parts.append("export interface MetricData {")
    parts.extend(f"  {name}: {METRICS[name].schema_name};" for name in LIVE_METRICS)
    parts.append("}")
    parts.append("")
    parts.append("/** A `dashboard_update` (and each element of `dashboard_updates`). */")
    parts.append("export type DashboardUpdate = {")
    parts.append("  [M in LiveMetric]: {")
    parts.append("    metric: M;")
    parts.append("    data: MetricData[M];")
    parts.append("    updatedAt: string;")
    parts.append("    stale: boolean;")
    parts.append(
        "    /** The database position of the state the value reflects (below 2^53): keep a "
        "value whose version is >= the one you hold. */"
    )
    parts.append("    version: number;")
    parts.append("  };")
    parts.append("}[LiveMetric];")
    return "\n".join(parts) + "\n"


@cache
def metric_declarations() -> str:
    """The declarations of the configured metrics (computed once per process)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return declarations(schema["components"]["schemas"])
