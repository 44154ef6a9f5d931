"""What a Node test asks of the hospital and of the test that runs it, over HTTP on loopback.

A Node test cannot write to the hospital's store nor stop the dashboard server; the pytest test
that starts it runs this small server in a thread of its own process, which writes through
`metrics.store` as the browser tests do, computes what a scope should show, and tells the two
sides of an outage apart (the Node test says it is ready; the pytest test says when the server
answered again).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from metrics.scope import Scope
from metrics.selectors import compute_metric
from tests.browser.conftest import admit_patient, raise_emergency

WAIT_SECONDS = 300


class Control:
    """`POST /admit {department}`, `POST /emergency {department}` ({id}), `GET /patients?
    departments=ER,CARD` ({total}, all departments without the parameter), `POST /ready` (the
    Node test waits for an outage), `GET /returned` ({at}: when the server answered again, in
    ms since the epoch; waits for it)."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.returned = threading.Event()
        self.returned_at = 0.0
        control = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                control.answer(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                control.answer(self, "POST")

            def log_message(self, *args) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    def __enter__(self) -> Control:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.http.shutdown()
        self.http.server_close()

    def server_returned(self) -> None:
        """The dashboard server answers again (its health check did)."""
        self.returned_at = time.time() * 1000
        self.returned.set()

    def answer(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        body = json.loads(request.rfile.read(length) or b"{}") if method == "POST" else {}
        route = (method, parts.path)
        if route == ("POST", "/admit"):
            admit_patient(body["department"])
            reply: dict = {}
        elif route == ("POST", "/emergency"):
            reply = {"id": raise_emergency(body["department"])}
        elif route == ("GET", "/patients"):
            departments = parse_qs(parts.query).get("departments")
            scope = Scope.of(set(departments[0].split(","))) if departments else Scope.all()
            reply = {"total": compute_metric("patientCount", scope)["total"]}
        elif route == ("POST", "/ready"):
            self.ready.set()
            reply = {}
        elif route == ("GET", "/returned"):
            self.returned.wait(WAIT_SECONDS)
            reply = {"at": self.returned_at}
        else:
            request.send_error(404)
            return
        data = json.dumps(reply).encode()
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
