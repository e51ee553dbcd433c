"""The HTTP side: HTTP/1.1 with keep-alive on a threading TCP server, one daemon thread per
connection, turning each request into an HttpRequest for the dispatcher.

Not http.server: its request parsing (the email package's header parser) cost more CPU than the
whole API call behind it (0.44 ms of 0.77 ms a call), and a test driving ten thousand calls
pays that under the GIL. Clients send Content-Length bodies (the SDK, curl, http.client);
`Expect: 100-continue` is honoured; chunked bodies are refused with 501.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Callable, Mapping
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

from permctl.emulator.dispatch import Response
from permctl.emulator.signing import HttpRequest

Dispatch = Callable[[HttpRequest], Response]
_MAX_LINE = 65536
_MAX_HEADERS = 100
_IDLE_TIMEOUT_S = 300


class ApiServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], dispatch: Dispatch) -> None:
        self.dispatch = dispatch
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Connection)

    def close_connections(self) -> None:
        """Idle keep-alive connections would otherwise hold their threads after shutdown."""
        with self.connections_lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


class _BadRequest(Exception):
    def __init__(self, status: HTTPStatus) -> None:
        self.status = status


class _Connection(socketserver.StreamRequestHandler):
    # A response goes out in one write, but the client's next request must not wait for a
    # delayed ACK either.
    disable_nagle_algorithm = True
    timeout = _IDLE_TIMEOUT_S
    server: ApiServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def handle(self) -> None:
        with contextlib.suppress(OSError):  # the client went away, or the idle timeout hit
            while self._serve_one():
                pass

    def _serve_one(self) -> bool:
        """Answer one request; False when the connection is to close."""
        line = self.rfile.readline(_MAX_LINE + 1)
        if not line:
            return False
        try:
            request, keep_alive = self._read_request(line)
        except _BadRequest as bad:
            self._write(Response(bad.status, {}, b""), keep_alive=False)
            return False
        self._write(self.server.dispatch(request), keep_alive)
        return keep_alive

    def _read_request(self, line: bytes) -> tuple[HttpRequest, bool]:
        parts = line.decode("latin-1").split()
        if len(line) > _MAX_LINE or len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _BadRequest(HTTPStatus.BAD_REQUEST)
        method, target, version = parts
        headers = self._read_headers()
        connection = ",".join(headers.get("connection", ())).lower()
        keep_alive = "close" not in connection and (
            version == "HTTP/1.1" or "keep-alive" in connection
        )
        if headers.get("transfer-encoding"):
            raise _BadRequest(HTTPStatus.NOT_IMPLEMENTED)
        if "100-continue" in headers.get("expect", ()):
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        try:
            length = int(headers.get("content-length", ("0",))[0])
        except ValueError:
            raise _BadRequest(HTTPStatus.BAD_REQUEST) from None
        body = self.rfile.read(length) if length > 0 else b""
        url = urlsplit(target)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        return HttpRequest(method, url.path, query, headers, body), keep_alive

    def _read_headers(self) -> dict[str, tuple[str, ...]]:
        headers: dict[str, tuple[str, ...]] = {}
        for _ in range(_MAX_HEADERS):
            line = self.rfile.readline(_MAX_LINE + 1)
            if line in (b"\r\n", b"\n", b""):
                return headers
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon or len(line) > _MAX_LINE:
                raise _BadRequest(HTTPStatus.BAD_REQUEST)
            key = name.strip().lower()
            headers[key] = (*headers.get(key, ()), value.strip())
        raise _BadRequest(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)

    def _write(self, response: Response, keep_alive: bool) -> None:
        status = HTTPStatus(response.status)
        fields: Mapping[str, str] = {
            "Date": formatdate(usegmt=True),
            "Server": "permctl-emulator",
            "Content-Type": "application/json;charset=utf-8",
            "Content-Length": str(len(response.body)),
            **({} if keep_alive else {"Connection": "close"}),
            **response.headers,
        }
        head = f"HTTP/1.1 {status.value} {status.phrase}\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in fields.items()
        )
        self.wfile.write(head.encode("latin-1") + b"\r\n" + response.body)
