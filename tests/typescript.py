"""What `make typescript` installs in the virtual environment (tsc, and `ws` for Node), and the
strict compile the type tests run: the metric types of the API and the JavaScript client's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import require

NODE_MODULES = Path(sys.prefix) / "node" / "node_modules"
TSC = NODE_MODULES / ".bin" / "tsc"


def require_tsc() -> None:
    require(TSC.exists(), f"{TSC} is missing", "`make typescript` installs it")


def compile_strict(usage: Path, *options: str) -> subprocess.CompletedProcess:
    """`tsc --noEmit --strict` on `usage` (with `options`: target, modules); stdout has the errors."""
    return subprocess.run(
        [str(TSC), "--noEmit", "--strict", *options, str(usage)],
        capture_output=True,
        text=True,
        timeout=120,
    )
