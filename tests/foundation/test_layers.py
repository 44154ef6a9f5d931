"""Imports run one way (docs/architecture.md, "Packages and import directions").

Every first-party module is parsed, not imported: each `import` and `from ... import` counts,
function-local ones and those under TYPE_CHECKING included, so that a dependency cannot hide
from these tests by moving into a function.

- `runtime` (the shared runtime) and `embedded_mongo` (the embedded store) import no app;
- no package imports `dashboard_project`, which only composes the apps (settings, URLs, ASGI);
- there is no import cycle between top-level packages, nor between the parts of `live`;
- `live.stream` (the change-stream listener) and `live.sockets` (the socket side) never import
  each other; what both need lives in a shared module of `live` that imports neither.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

APPS = ("accounts", "audit", "metrics", "metrics_api", "live", "simulator", "dashboard_page")
LIBRARIES = ("runtime", "embedded_mongo")
COMPOSER = "dashboard_project"
PACKAGES = (*LIBRARIES, *APPS, COMPOSER)

TOWERS = ("live.stream", "live.sockets")
# Modules of `live` outside both towers that both may import: they import neither.
LIVE_SHARED = ("live.groups", "live.instance", "live.liveness", "live.models")


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _first_party_modules() -> dict[str, tuple[Path, bool]]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name, is_package = _module_name(path)
            modules[name] = (path, is_package)
    return modules


MODULES = _first_party_modules()


def imports_of(
    name: str, source: str, is_package: bool, known: Iterable[str] = MODULES
) -> set[str]:
    """The first-party modules (or packages) that module `name` imports, wherever it does;
    `from package import name` is an import of module package.name when `known` has it."""
    known = set(known)
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.add(full if full in known else target)
    return {module for module in found if module.split(".")[0] in PACKAGES}


def _edges() -> set[tuple[str, str]]:
    """(importing module, imported module) over every first-party module."""
    return {
        (name, target)
        for name, (path, is_package) in MODULES.items()
        for target in imports_of(name, path.read_text(), is_package)
        if target != name
    }


EDGES = _edges()


def _top(module: str) -> str:
    return module.split(".")[0]


def _live_part(module: str) -> str:
    """live.stream, live.sockets, or the module of `live` itself (live.apps, live.management)."""
    parts = module.split(".")
    return ".".join(parts[:2])


def _cycles(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected groups of more than one node (Tarjan)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target in edges:
        if source != target:
            graph[source].add(target)
            graph.setdefault(target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _explain(edges: Iterable[tuple[str, str]], part) -> list[str]:
    """The module imports behind the part-level edges of each cycle found."""
    edges = list(edges)
    problems = []
    for group in _cycles({(part(s), part(t)) for s, t in edges if part(s) != part(t)}):
        members = set(group)
        behind = sorted(
            f"{s} -> {t}"
            for s, t in edges
            if part(s) in members and part(t) in members
            if part(s) != part(t)
        )
        problems.append(f"cycle {' <-> '.join(group)}: {'; '.join(behind)}")
    return problems


def test_the_parser_sees_every_kind_of_import():
    """Relative, absolute, `from package import module`, function-local, TYPE_CHECKING."""
    source = """
from __future__ import annotations
from typing import TYPE_CHECKING
import live.stream.listener
from . import hub
from ..groups import UPDATES_GROUP
from metrics import cache

if TYPE_CHECKING:
    from accounts.policy import Access

def later():
    from runtime.telemetry import errors
    import simulator.runner
"""
    known = {"live.sockets.hub", "live.groups", "metrics.cache"}
    assert imports_of("live.sockets.consumers", source, False, known) == {
        "live.stream.listener",
        "live.sockets.hub",
        "live.groups",
        "metrics.cache",
        "accounts.policy",
        "runtime.telemetry",
        "simulator.runner",
    }


def test_every_package_is_found_with_its_modules():
    assert {_top(name) for name in MODULES} == set(PACKAGES)
    assert {"live.stream.listener", "live.sockets.consumers", "runtime.off_loop"} <= set(MODULES)
    # A function-local import in the tree itself: live's app registers its signal receiver.
    assert ("live.apps", "live.stream.broadcast") in EDGES


@pytest.mark.parametrize("library", LIBRARIES)
def test_libraries_import_no_app(library):
    wrong = sorted(
        f"{s} -> {t}" for s, t in EDGES if _top(s) == library and _top(t) in (*APPS, COMPOSER)
    )
    assert not wrong, f"{library} imports an app: {wrong}"


def test_nothing_imports_the_composer():
    wrong = sorted(f"{s} -> {t}" for s, t in EDGES if _top(t) == COMPOSER and _top(s) != COMPOSER)
    assert not wrong, f"only dashboard_project may import dashboard_project: {wrong}"


def test_no_cycle_between_packages():
    edges = [(s, t) for s, t in EDGES if _top(s) != _top(t)]
    problems = _explain(edges, _top)
    assert not problems, "\n".join(problems)


def test_no_cycle_between_modules():
    cycles = _cycles(EDGES)
    assert not cycles, f"modules importing each other, in a cycle: {cycles}"


def test_no_cycle_between_the_parts_of_live():
    edges = [(s, t) for s, t in EDGES if _top(s) == _top(t) == "live"]
    problems = _explain(edges, _live_part)
    assert not problems, "\n".join(problems)


def test_stream_and_sockets_never_import_each_other():
    wrong = sorted(f"{s} -> {t}" for s, t in EDGES if {_live_part(s), _live_part(t)} == set(TOWERS))
    assert not wrong, f"live.stream and live.sockets import each other: {wrong}"


@pytest.mark.parametrize("shared", LIVE_SHARED)
def test_what_both_towers_share_imports_neither(shared):
    assert shared in MODULES
    wrong = sorted(t for s, t in EDGES if s == shared and _live_part(t) in TOWERS)
    assert not wrong, f"{shared} is shared by both towers but imports {wrong}"
