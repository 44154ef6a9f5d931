"""The JavaScript client (clients/js/) as an external dashboard uses it: its Node tests
(tests/clients/js/client.test.mjs, in Node's test runner) against a real server under daphne
and under uvicorn, the README's example among them; its message types written again from the
AsyncAPI document each server serves; and a client compiled against its declarations."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.admin_http import AdminSession
from tests.browser.test_display import pair, post_json, register_display
from tests.clients.control import Control
from tests.conftest import require
from tests.servers import DEMO_PASSWORDS, ROOT, LiveServer
from tests.typescript import NODE_MODULES, TSC, compile_strict

pytestmark = pytest.mark.slow

CLIENT = ROOT / "clients" / "js"
TESTS = Path(__file__).resolve().parent / "js"


def require_node_packages() -> None:
    require(
        TSC.exists() and (NODE_MODULES / "ws" / "package.json").exists(),
        f"tsc or ws is missing from {NODE_MODULES}",
        "`make typescript` installs them",
    )


def run_node_tests(test_file: str, env: dict[str, str], timeout: float) -> str:
    """`node --test` on one file of tests/clients/js/; its output (the test fails if they do)."""
    result = subprocess.run(
        ["node", "--test", "--test-reporter=spec", str(TESTS / test_file)],
        cwd=ROOT,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def paired_display(server: LiveServer, name: str, departments: list[str]) -> tuple[int, str]:
    """A wall display registered and paired as docs/sign-in.md says: its device and secret."""
    admin = AdminSession(server.url)
    admin.login("superadmin", DEMO_PASSWORDS["superadmin"])
    display_id = register_display(admin, name, departments)
    _, pairing = post_json(server, "/api/auth/display/pairing/", {})
    pair(admin, display_id, pairing["code"])
    _, credential = post_json(
        server, "/api/auth/display/pairing/status/", {"pairing": pairing["pairing"]}
    )
    assert credential["status"] == "paired", credential
    return credential["device"], credential["secret"]


@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
def test_the_client_against_the_real_server(kind, tmp_path, hospital_store):
    require_node_packages()
    server = LiveServer.start(
        tmp_path / "server",
        store_path=hospital_store,
        # Displays' tokens live 3 s here (an hour by default): the Node test sees renewals.
        env={"DASHBOARD_SERVER": kind, "DASHBOARD_DISPLAY_TOKEN_MINUTES": "0.05"},
    )
    try:
        # The message types, written again from this server's AsyncAPI document, are the ones
        # the repository ships.
        written = tmp_path / "messages.d.ts"
        subprocess.run(
            [
                "node",
                str(CLIENT / "generate-types.mjs"),
                f"{server.url}/api/asyncapi/",
                str(written),
            ],
            check=True,
            timeout=60,
        )
        assert written.read_text() == (CLIENT / "messages.d.ts").read_text(), (
            "clients/js/messages.d.ts is out of date: node clients/js/generate-types.mjs "
            "http://127.0.0.1:8000/api/asyncapi/"
        )

        device, secret = paired_display(server, "Node client", ["ER"])
        with Control() as control:
            output = run_node_tests(
                "client.test.mjs",
                {
                    "DASHBOARD_URL": server.url,
                    "CONTROL_URL": control.url,
                    "DISPLAY_DEVICE": str(device),
                    "DISPLAY_SECRET": secret,
                },
                timeout=240,
            )
        print(output)
    finally:
        server.stop()
    assert "Traceback" not in server.log()


USAGE = """
import { DashboardClient, type MetricValue } from "./dashboard-client.js";

const client = new DashboardClient({
  getToken: async ({ renew }) => (renew ? "a fresh token" : "the token held"),
  metrics: ["patientCount", "emergencyAlerts"],
});
client.on("update", (value, previous) => {
  if (value.metric === "patientCount") console.log(value.data.total, previous?.version);
  if (value.metric === "emergencyAlerts") console.log(value.data.alerts.map((alert) => alert.id));
});
client.on("status", ({ status, server }) => console.log(status === "offline", server.detail));
client.on("access", ({ level, metrics }) => console.log(level, metrics.includes("revenue")));
client.on("alert", ({ change, alert }) => console.log(change, alert.acknowledgedBy));
client.on("error", (error) => console.log(error.code === "different_user", error.fatal));
client.on("message", (message) => {
  if (message.type === "historical_data") console.log(message.hourlyStats[0]?.newPatients);
});
export const beds: number | undefined = client.value("roomOccupancy")?.data.totals.occupiedBeds;
export const held: MetricValue<"erWaiting"> | undefined = client.value("erWaiting");
client.acknowledge("64b0c0ffee").then((reply) => console.log(reply.acknowledgedBy));
client.start().stop();
"""
MISUSE = """
import { DashboardClient } from "./dashboard-client.js";
const client = new DashboardClient({ getToken: () => "t", metrics: ["patientCounts"] });
export const total: string | undefined = client.value("patientCount")?.data.total;
"""


def compile_usage(directory: Path, usage: str) -> subprocess.CompletedProcess:
    """`tsc --strict` on `usage` beside a copy of the declarations."""
    directory.mkdir()
    for declarations in CLIENT.glob("*.d.ts"):
        (directory / declarations.name).write_text(declarations.read_text())
    (directory / "usage.ts").write_text(usage)
    return compile_strict(
        directory / "usage.ts",
        "--target",
        "es2022",
        "--module",
        "es2022",
        "--moduleResolution",
        "bundler",
    )


def test_a_client_compiles_against_the_declarations_and_a_wrong_one_does_not(tmp_path):
    require_node_packages()
    right = compile_usage(tmp_path / "right", USAGE)
    assert right.returncode == 0, right.stdout + right.stderr
    wrong = compile_usage(tmp_path / "wrong", MISUSE)
    assert wrong.returncode != 0
    assert '"patientCounts"' in wrong.stdout
    assert "Type 'number' is not assignable to type 'string'" in wrong.stdout
