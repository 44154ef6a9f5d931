"""Modules, lines and package-level import edges of the first-party code (docs/architecture.md).

    python scripts/package_graph.py              # the working tree
    python scripts/package_graph.py --rev HEAD~3 # a commit, read from git (nothing checked out)

Counts the modules and lines of each top-level package and sub-package, and the import edges
between packages (every `import` in a module, function-local ones and those under
TYPE_CHECKING included): between top-level packages, and between the parts of `live`
(`live.stream`, `live.sockets`, each other module of `live`). An edge is "up" when it goes
against LAYERS, from a lower layer to a higher one. An edge's count is the number of distinct
(importing module, imported module) pairs behind it. tests/foundation/test_layers.py asserts
the rules.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Bottom to top: a package may import those of its own layer's left and of the layers below.
LAYERS = [
    ("runtime", "embedded_mongo"),
    ("metrics",),
    ("accounts",),
    ("metrics_api", "simulator", "live", "dashboard_page"),
    ("dashboard_project",),
]
PACKAGES = [name for layer in LAYERS for name in layer]
RANK = {name: rank for rank, layer in enumerate(LAYERS) for name in layer}
LIVE_TOWERS = ("stream", "sockets")


def sources(rev: str | None) -> dict[str, str]:
    """Path -> text of every .py file of the first-party packages, at `rev` or on disk."""
    if rev is None:
        return {
            str(path.relative_to(ROOT)): path.read_text()
            for name in PACKAGES
            if (ROOT / name).is_dir()
            for path in sorted((ROOT / name).rglob("*.py"))
        }
    listing = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", rev, "--", *PACKAGES],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return {
        path: subprocess.run(
            ["git", "show", f"{rev}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout
        for path in listing
        if path.endswith(".py")
    }


def module_name(path: str) -> tuple[str, bool]:
    parts = path[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def imported(tree: ast.AST, name: str, is_package: bool, known: set[str]) -> list[str]:
    """The first-party modules (or packages) a module imports."""
    package = name if is_package else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.append(full if full in known else target)
    return [m for m in found if m.split(".")[0] in PACKAGES]


def live_part(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in LIVE_TOWERS:
        return f"live.{parts[1]}"
    return ".".join(parts[:2])


def report(rev: str | None) -> None:
    files = sources(rev)
    modules = {module_name(path): text for path, text in files.items()}
    known = {name for name, _ in modules}
    print(f"== {rev or 'working tree'}")

    per_package: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_part: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (name, is_package), text in modules.items():
        lines = len(text.splitlines())
        part = name if is_package else name.rpartition(".")[0]
        for key, table in ((name.split(".")[0], per_package), (part, per_part)):
            table[key][0] += 1
            table[key][1] += lines
    print("modules and lines, per top-level package:")
    for key in sorted(per_package, key=lambda k: (RANK[k], k)):
        print(f"  {key:<22}{per_package[key][0]:>5}{per_package[key][1]:>8}")
    total = [sum(v[i] for v in per_package.values()) for i in (0, 1)]
    print(f"  {'total':<22}{total[0]:>5}{total[1]:>8}")
    print("modules and lines, per package and sub-package:")
    for key in sorted(per_part):
        print(f"  {key:<34}{per_part[key][0]:>5}{per_part[key][1]:>8}")

    top: Counter[tuple[str, str]] = Counter()
    live: Counter[tuple[str, str]] = Counter()
    for (name, is_package), text in modules.items():
        for target in set(imported(ast.parse(text), name, is_package, known)):
            source_top, target_top = name.split(".")[0], target.split(".")[0]
            if source_top != target_top:
                top[(source_top, target_top)] += 1
            elif source_top == "live" and live_part(name) != live_part(target):
                live[(live_part(name), live_part(target))] += 1
    print("import edges between top-level packages (module pairs):")
    for (source, target), count in sorted(top.items()):
        up = "  UP" if RANK[source] < RANK[target] else ""
        print(f"  {source} -> {target}: {count}{up}")
    mutual = sorted({tuple(sorted(edge)) for edge in top if edge[::-1] in top})
    upward = [edge for edge in top if RANK[edge[0]] < RANK[edge[1]]]
    print(f"  {len(top)} edges, {len(upward)} up, mutual pairs: {mutual or 'none'}")
    print("import edges between the parts of live (module pairs):")
    for (source, target), count in sorted(live.items()):
        print(f"  {source} -> {target}: {count}")
    towers = [e for e in live if {e[0], e[1]} == {f"live.{t}" for t in LIVE_TOWERS}]
    print(f"  {len(live)} edges, between stream and sockets: {len(towers)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", help="a git revision to read instead of the working tree")
    report(parser.parse_args().rev)


if __name__ == "__main__":
    main()
