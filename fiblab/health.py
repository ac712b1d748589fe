"""A health endpoint for a fiblab worker: ``python -m fiblab.health --worker-pid-file FILE``.

The original experiment's ``server2.py`` split health checks from computation: one
process runs the DBOS workflows (the *worker*), another answers ``GET /health``. This
module is that second process, and the one implementation of the endpoint:

* :class:`HealthServer` – a small HTTP server on 127.0.0.1 (never another address),
  on a free port by default. ``GET /health`` answers JSON: its own pid, the worker's
  pid, whether the worker is alive and ready. 200 when healthy, 503 when not, 404 for
  other paths, 405 for other methods. It is bounded: at most ``max_connections``
  requests at once (more get a 503 at once), and a client that sends nothing is
  dropped after ``client_timeout`` seconds; malformed requests get a 400.
* :class:`WorkerWatch` – what the health *process* knows about its worker: the pid
  (from a pid file, re-read on every probe, so a restarted worker is followed), whether
  that process is alive (a zombie or a reused pid is not), and whether it printed its
  ready line (read from its log).
* ``python -m fiblab.server --health-port 0`` serves the same endpoint from a thread
  *inside* the worker, to compare (notebook 06): that thread needs the interpreter
  lock the CPU-bound step holds.
* :func:`probe` – a one-shot HTTP client that measures latency and never raises. The
  notebook-side handle of a health process is :class:`fiblab.processes.HealthProcess`.

The health process exits on SIGTERM/SIGINT and when the process that started it is
gone, like a fiblab server.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil

from . import cli, lifecycle
from .protocol import HEALTH_PATH, HOST, SERVER_READY_PREFIX, health_url
from .protocol import HEALTH_READY_PREFIX as READY_PREFIX

MAX_CONNECTIONS = 32
CLIENT_TIMEOUT_SEC = 2.0
#: psutil states in which a process exists but cannot answer anything.
NOT_RUNNING_STATES = (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
FROZEN_STATES = (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP)

Report = Callable[[], dict]


# --- the HTTP endpoint -------------------------------------------------------------------


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
        self._slots = threading.BoundedSemaphore(max_connections)
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
        return self._slots._value  # type: ignore[attr-defined]

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
        if not self._slots.acquire(blocking=False):
            self.count("busy")
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

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


# --- what the separate health process knows about its worker ------------------------------


class WorkerWatch:
    """The worker a health process watches, looked up afresh on every probe.

    Give a ``pid_file`` (JSON ``{"pid", "create_time"}`` as fiblab's process handles
    write it, or a bare pid) to follow a worker that gets restarted, or a fixed
    ``pid``. With ``log_file``, the worker is *ready* once that log holds a fiblab
    server ready line naming its pid; without, a live worker counts as ready.
    """

    def __init__(
        self,
        pid: int | None = None,
        pid_file: Path | str | None = None,
        log_file: Path | str | None = None,
        ready_marker: str = SERVER_READY_PREFIX,
    ) -> None:
        if (pid is None) == (pid_file is None):
            raise ValueError("give exactly one of pid and pid_file")
        self.pid_file = Path(pid_file) if pid_file is not None else None
        self.fixed: tuple[int, float | None] | None = None
        self._last: tuple[int | None, float | None] = (None, None)
        if pid is not None:
            self.fixed = (pid, _create_time(pid))  # a later pid reuse is then detected
        self.ready_lines = ReadyLines(log_file, ready_marker) if log_file else None

    def target(self) -> tuple[int | None, float | None]:
        """The worker's pid and start time, or ``(None, None)`` if there never was one.

        While the pid file is missing (the worker died and was reaped, and is not
        restarted yet) the last worker seen is the one reported on: gone.
        """
        if self.fixed is not None:
            return self.fixed
        try:
            text = self.pid_file.read_text().strip()  # type: ignore[union-attr]
            if text.startswith("{"):
                recorded = json.loads(text)
                self._last = int(recorded["pid"]), recorded.get("create_time")
            else:
                self._last = int(text), None
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return self._last

    def __call__(self) -> dict:
        pid, created = self.target()
        report: dict[str, Any] = {"pid": pid, "alive": False, "ready": False, "frozen": False}
        report["state"] = "none"
        if pid is None:
            return report
        try:
            process = psutil.Process(pid)
            with process.oneshot():
                state, started = process.status(), process.create_time()
        except (psutil.NoSuchProcess, ValueError):
            return {**report, "state": "gone"}
        except psutil.Error as error:  # cannot look at it: never call that healthy
            return {**report, "state": f"unknown ({type(error).__name__})"}
        if created is not None and abs(started - float(created)) > 0.01:
            return {**report, "state": "gone (pid reused)"}
        report["state"] = state
        if state in NOT_RUNNING_STATES:
            return report
        report["alive"] = True
        report["frozen"] = state in FROZEN_STATES
        if self.ready_lines is None:
            report["ready"] = True
        else:
            executor = self.ready_lines.executor_of(pid)
            report["ready"] = executor is not None
            if executor:
                report["executor_id"] = executor
        return report


class ReadyLines:
    """The ready lines in a growing log file, read incrementally: pid → executor id."""

    _PID = re.compile(r"(?<![\w])pid=(\d+)")
    _EXECUTOR = re.compile(r"executor_id=(\S+)")

    def __init__(self, path: Path | str, marker: str) -> None:
        self.path = Path(path)
        self.marker = marker
        self.ready: dict[int, str] = {}
        self._offset = 0
        self._partial = b""
        self._lock = threading.Lock()

    def executor_of(self, pid: int) -> str | None:
        with self._lock:
            self._read_new_lines()
            return self.ready.get(pid)

    def _read_new_lines(self) -> None:
        try:
            with open(self.path, "rb") as log:
                size = os.fstat(log.fileno()).st_size
                if size < self._offset:  # a new file in its place: start over
                    self._offset, self._partial, self.ready = 0, b"", {}
                log.seek(self._offset)
                data = log.read(size - self._offset)
        except OSError:
            return
        self._offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        for raw in lines:
            line = raw.decode(errors="replace")
            if self.marker not in line:
                continue
            rest = line.split(self.marker, 1)[1]
            pid, executor = self._PID.search(rest), self._EXECUTOR.search(rest)
            if pid:
                self.ready[int(pid.group(1))] = executor.group(1) if executor else ""


def _create_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


class OwnProcess:
    """The report of a worker that serves its own health endpoint (``--health-port``)."""

    def __init__(self, executor_id: str | None = None) -> None:
        self.executor_id = executor_id
        self.phase = "starting"  # → "ready" → "stopping"

    def __call__(self) -> dict:
        report = {"pid": os.getpid(), "alive": True, "ready": self.phase == "ready"}
        return {**report, "state": self.phase, "executor_id": self.executor_id}


# --- probing from the outside ----------------------------------------------------------------


@dataclass
class Probe:
    """One HTTP request to a health endpoint: what came back and how long it took."""

    status: int | None
    body: dict | None
    seconds: float
    at: float = field(default_factory=time.time)
    error: str | None = None

    @property
    def healthy(self) -> bool:
        return self.status == 200 and bool(self.body and self.body.get("healthy"))

    @property
    def worker(self) -> dict:
        return (self.body or {}).get("worker") or {}


def probe(port: int, path: str = HEALTH_PATH, method: str = "GET", timeout: float = 2.0) -> Probe:
    """One request to ``http://127.0.0.1:port/path``; a failure is recorded, not raised."""
    at, started = time.time(), time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        data = response.read()
        seconds = time.perf_counter() - started
        try:
            body = json.loads(data) if data else None
        except ValueError:
            body = None
        return Probe(response.status, body, seconds, at)
    except (OSError, http.client.HTTPException) as error:
        return Probe(None, None, time.perf_counter() - started, at, f"{type(error).__name__}")
    finally:
        connection.close()


# --- the health process ----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fiblab.health",
        description=f"Serve GET {HEALTH_PATH} on {HOST} for a fiblab worker process.",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--worker-pid", type=cli.pid, help="pid of the worker to watch")
    which.add_argument(
        "--worker-pid-file",
        help="file holding the worker's pid (JSON {pid, create_time} or a number); "
        "re-read on every probe, so a restarted worker is followed",
    )
    parser.add_argument(
        "--worker-log",
        help="the worker's log: it is ready once a fiblab server ready line names its pid "
        "(without it, a live worker counts as ready)",
    )
    parser.add_argument(
        "--port", type=cli.port, default=0, help=f"port on {HOST}; 0 (default): a free port"
    )
    parser.add_argument(
        "--max-connections",
        type=cli.positive_int,
        default=MAX_CONNECTIONS,
        help="requests served at once; more are answered 503 (default: %(default)s)",
    )
    parser.add_argument(
        "--client-timeout",
        type=cli.positive_float,
        default=CLIENT_TIMEOUT_SEC,
        help="seconds before a silent client is dropped (default: %(default)s)",
    )
    cli.add_no_parent_watch(parser)
    return parser


log = cli.logger("fiblab-health")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    watch = WorkerWatch(args.worker_pid, args.worker_pid_file, args.worker_log)
    try:
        server = HealthServer(
            watch,
            served_by="health-process",
            port=args.port,
            max_connections=args.max_connections,
            client_timeout=args.client_timeout,
        )
    except (OSError, ValueError) as error:
        return cli.refuse(f"cannot serve on {HOST}:{args.port}: {error}")

    stop = lifecycle.StopRequest(log)
    stop.install_signal_handlers()
    parent_pid = os.getppid()
    lifecycle.start_watcher(stop, None if args.no_parent_watch else parent_pid)

    server.start()
    target = args.worker_pid_file or f"pid {args.worker_pid}"
    log(
        f"{READY_PREFIX} port={server.port} pid={os.getpid()} ppid={parent_pid} "
        f"url={server.url} worker={target}"
    )
    stop.wait()
    log(f"stopping: {stop.reason}")
    server.close()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
