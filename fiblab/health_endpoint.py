"""The health endpoint: ``GET /health`` on 127.0.0.1, answered from a thread.

:class:`HealthServer` is a small HTTP server on 127.0.0.1 (never another address), on a
free port by default. ``GET /health`` answers JSON: its own pid, the worker's pid, whether
the worker is alive and ready. 200 when healthy, 503 when not, 404 for other paths, 405
for other methods. It is bounded: at most ``max_connections`` requests at once (more get
a 503 at once), and a client that sends nothing is dropped after ``client_timeout``
seconds; malformed requests get a 400.

What it reports comes from a *report* function: a separate health process
(``python -m fiblab.health``) reports on the worker it watches
(:class:`fiblab.worker_watch.WorkerWatch`); a server started with ``--health-port``
reports on itself (:class:`OwnProcess`) from a thread that needs the interpreter lock
the CPU-bound step holds (notebook 06 compares the two).
"""

from __future__ import annotations

import json
import os
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .protocol import HEALTH_PATH, HOST, health_url

MAX_CONNECTIONS = 32
CLIENT_TIMEOUT_SEC = 2.0

Report = Callable[[], dict]


class HealthHandler(BaseHTTPRequestHandler):
    """``GET /health`` → JSON; anything else → a JSON error. One request per connection."""

    server: HealthServer
    server_version = "fiblab-health"
    sys_version = ""
    # Answer even a malformed (or HTTP/0.9-style) request line with a status line.
    default_request_version = "HTTP/1.0"

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        self.timeout = self.server.client_timeout  # a silent client is dropped after this
        super().setup()

    def do_GET(self) -> None:  # noqa: N802 (the name http.server dispatches on)
        if urlsplit(self.path).path != HEALTH_PATH:
            self._send_json(404, {"error": "not found", "try": HEALTH_PATH})
            return
        try:
            code, body = 200, self.server.health()
            if not body["healthy"]:
                code = 503
        except Exception as error:  # a failing check is an unhealthy answer, not a crash
            code, body = 500, {"healthy": False, "error": f"{type(error).__name__}: {error}"}
        self._send_json(code, body)

    def __getattr__(self, name: str) -> Any:
        # http.server looks up ``do_<METHOD>``; every method but GET is refused with 405
        # (instead of the default 501 "unsupported method").
        if name.startswith("do_"):
            return self._method_not_allowed
        raise AttributeError(name)

    def _method_not_allowed(self) -> None:
        # Read a small request body first: closing a socket with unread data resets the
        # connection, and the client might lose our answer.
        length = self.headers.get("Content-Length", "0")
        if length.isdigit() and 0 < int(length) <= 65536:
            self.rfile.read(int(length))
        self._send_json(405, {"error": f"method {self.command} not allowed"}, {"Allow": "GET"})

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors found by http.server itself (400, 414, 431, 505 …) as JSON, not HTML;
        the client's bytes are not echoed back."""
        self.log_error("code %d", code)
        self.close_connection = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        self._send_json(code, {"error": phrase.lower()}, {"Connection": "close"}, served=False)

    def _send_json(
        self, code: int, body: dict, headers: dict[str, str] | None = None, served: bool = True
    ) -> None:
        data = (json.dumps(body) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        if served:
            self.server.count("served")

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # no access log: a probe every few ms would flood it

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        self.server.count("bad_requests")  # malformed request lines, silent clients


class HealthServer(ThreadingHTTPServer):
    """The endpoint: ``report()`` describes the worker; this adds who answers and when.

    ``report`` returns a dict with at least ``pid``, ``alive`` and ``ready``; the worker
    is healthy when it is alive and ready (and not frozen).
    """

    daemon_threads = True
    block_on_close = False  # closing never waits for a client that sends nothing
    request_queue_size = 128  # room for bursts of probes in the listen backlog

    def __init__(
        self,
        report: Report,
        *,
        served_by: str,
        port: int = 0,
        max_connections: int = MAX_CONNECTIONS,
        client_timeout: float = CLIENT_TIMEOUT_SEC,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0..65535 (0: a free port), got {port}")
        if max_connections < 1 or not client_timeout > 0:
            raise ValueError("max_connections must be >= 1 and client_timeout > 0")
        self.report = report
        self.served_by = served_by
        self.client_timeout = client_timeout
        self.started = time.time()
        self.counts = {"served": 0, "bad_requests": 0, "busy": 0, "errors": 0}
        self._counts_lock = threading.Lock()
        self.max_connections = max_connections
        self._in_flight = 0  # requests being served now, guarded by _slots_lock
        self._slots_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        super().__init__((HOST, port), HealthHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would look up our host name (a DNS query): skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return health_url(self.port)

    @property
    def free_slots(self) -> int:
        """How many more requests it would serve at once right now."""
        with self._slots_lock:
            return self.max_connections - self._in_flight

    def _take_slot(self) -> bool:
        with self._slots_lock:
            if self._in_flight >= self.max_connections:
                return False
            self._in_flight += 1
            return True

    def _release_slot(self) -> None:
        with self._slots_lock:
            self._in_flight -= 1

    def health(self) -> dict:
        """The JSON body of ``GET /health``."""
        worker = self.report()
        healthy = bool(worker.get("alive") and worker.get("ready") and not worker.get("frozen"))
        with self._counts_lock:
            requests = dict(self.counts)
        return {
            "healthy": healthy,
            "status": "ok" if healthy else "unhealthy",
            "served_by": self.served_by,
            "pid": os.getpid(),
            "worker": worker,
            "uptime_sec": round(time.time() - self.started, 3),
            "requests": requests,
        }

    def count(self, what: str) -> None:
        with self._counts_lock:
            self.counts[what] += 1

    # bounded: one thread per request, at most max_connections of them
    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._take_slot():
            self.count("busy")
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release_slot()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release_slot()

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.count("errors")  # e.g. a client that hung up mid-answer; keep serving

    def start(self) -> HealthServer:
        """Serve on a daemon thread; returns ``self``."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.1}, name="health", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread = None
        self.server_close()


_BUSY_BODY = b'{"healthy": false, "error": "busy: too many connections"}\n'
_BUSY_RESPONSE = (
    b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(_BUSY_BODY), _BUSY_BODY)
)


def _refuse_busy(request: socket.socket) -> None:
    try:
        request.settimeout(0.2)
        request.sendall(_BUSY_RESPONSE)
    except OSError:
        pass


class OwnProcess:
    """The report of a worker that serves its own health endpoint (``--health-port``)."""

    def __init__(self, executor_id: str | None = None) -> None:
        self.executor_id = executor_id
        self.phase = "starting"  # → "ready" → "stopping"

    def __call__(self) -> dict:
        report = {"pid": os.getpid(), "alive": True, "ready": self.phase == "ready"}
        return {**report, "state": self.phase, "executor_id": self.executor_id}
