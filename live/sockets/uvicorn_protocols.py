"""uvicorn's HTTP and WebSocket protocols, with two client mistakes handled at the edge.

- An absolute-form request target (`GET http://evil.com/health/live/`):
  httptools gives the application only its path, so the host it names would
  never be checked. `OriginFormHttpToolsProtocol` moves that host into the
  Host header (RFC 9112 section 3.2.2: it replaces Host) and keeps the path,
  so live/sockets/hosts.py checks the host the request is really for.
- A text frame that is not UTF-8: uvicorn closes with 1007 but logs an ERROR
  with a traceback for each. `ClientErrorWebSocketProtocol` closes the same
  way and logs one line through live/sockets/clienterrors.py.

Imported by live/sockets/servers.py when it runs uvicorn (importing uvicorn's protocols needs uvicorn).
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from . import clienterrors
from .hosts import absolute_target


class OriginFormHttpToolsProtocol(HttpToolsProtocol):
    def on_headers_complete(self) -> None:
        target = self.url
        if not target.startswith(b"/") and target != b"*":
            host, origin_form = absolute_target(target.decode("latin-1"))
            # The scope's header list is this one: the application sees the target's host.
            self.headers[:] = [(name, value) for name, value in self.headers if name != b"host"]
            self.headers.insert(0, (b"host", host.encode("latin-1")))
            self.url = origin_form.encode("latin-1")
        super().on_headers_complete()


class ClientErrorWebSocketProtocol(WebSocketsSansIOProtocol):
    def send_receive_event_to_app(self) -> None:
        if self.curr_msg_data_type == "text" and not self.close_sent:
            try:
                b"".join(self.frames).decode()
            except UnicodeDecodeError:
                self.frames = []
                # The scope's client, which uvicorn took from a trusted proxy's header if any.
                scope = getattr(self, "scope", None) or {}
                client = scope.get("client") or self.client
                clienterrors.report(client, "invalid UTF-8 in a text frame (closed 1007)")
                self.conn.send_close(1007)
                self.handle_parser_exception()
                return
        super().send_receive_event_to_app()
