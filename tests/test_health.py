"""The health endpoint: JSON, 404/405, loopback only, robust to bad clients, never lies."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from fiblab import config
from fiblab.health import READY_PREFIX, build_parser
from fiblab.health_endpoint import HealthServer
from fiblab.lab import Lab
from fiblab.probe import probe
from fiblab.processes import fiblab_processes, worker_health_port
from fiblab.protocol import HOST, port_in_log
from fiblab.server import READY_PREFIX as SERVER_READY_PREFIX
from fiblab.spawn import HealthProcess
from fiblab.waiting import wait_for
from fiblab.worker_watch import WorkerWatch

from .conftest import REPO, assert_help_documents_every_option, run_python, sqlite_pass_only

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world():
    """One worker serving its own endpoint too, and a health process watching it."""
    with Lab.fresh(f"t{os.getpid()}-health", root=REPO / "tests") as lab:
        worker = lab.start_server("worker", extra_args=["--health-port", "0"])
        health = lab.adopt(HealthProcess.watching(worker))
        health.start().wait_ready()
        yield lab, worker, health
    assert not fiblab_processes(lab.scratch), "the worker or health process outlived the lab"


@pytest.fixture
def sleeper():
    """A plain child process of this test (not reaped until the test says so)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield child
    if child.poll() is None:
        child.kill()
    child.wait()


def raw_exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes, return everything the server answers before it closes."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        if data:
            sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


# --- the answer -------------------------------------------------------------------------


def test_health_is_json_with_its_own_and_the_workers_pid(world) -> None:
    _lab, worker, health = world
    answer = health.probe()
    assert answer.status == 200 and answer.error is None
    body = answer.body
    assert body["healthy"] is True and body["status"] == "ok"
    assert body["pid"] == health.pid != worker.pid
    assert body["served_by"] == "health-process"
    assert body["worker"]["pid"] == worker.pid
    assert body["worker"]["alive"] is True and body["worker"]["ready"] is True
    assert body["worker"]["executor_id"] == "worker"
    later = health.probe().body["uptime_sec"]
    age = time.time() - psutil.Process(health.pid).create_time()
    assert 0 < body["uptime_sec"] <= later <= age  # counted from its own start, not made up


def test_the_worker_serves_the_same_json_itself(world) -> None:
    _lab, worker, _health = world
    answer = probe(worker_health_port(worker))
    assert answer.status == 200
    assert answer.body["pid"] == answer.body["worker"]["pid"] == worker.pid
    assert answer.body["served_by"] == "worker-process"
    assert answer.body["worker"]["executor_id"] == "worker"
    assert set(answer.body) == set(world[2].probe().body)  # one implementation, one shape


def test_ports_come_from_the_logs_and_are_not_fixed(world) -> None:
    _lab, worker, health = world
    assert health.port == port_in_log(health.logs(), READY_PREFIX)
    assert health.url == f"http://127.0.0.1:{health.port}/health"
    # both asked the OS for a free port (port 0): it hands them out from this range
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    assert all(low <= port <= high for port in (health.port, worker_health_port(worker)))
    assert health.port != worker_health_port(worker)


@pytest.mark.parametrize("path", ["/", "/healthz", "/health/extra", "/../etc/passwd", "/HEALTH"])
def test_other_paths_are_404(world, path: str) -> None:
    answer = world[2].probe(path)
    assert answer.status == 404
    assert answer.body == {"error": "not found", "try": "/health"}


def test_a_query_string_is_ignored(world) -> None:
    assert world[2].probe("/health?verbose=1").status == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "BREW"])
def test_other_methods_are_refused_with_405(world, method: str) -> None:
    answer = world[2].probe(method=method)
    assert answer.status == 405, answer
    if method != "HEAD":
        assert answer.body == {"error": f"method {method} not allowed"}


def test_a_post_with_a_body_gets_its_405(world) -> None:
    request = b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world"
    answer = raw_exchange(world[2].port, request)
    assert answer.startswith(b"HTTP/1.0 405 ")
    assert b"\r\nAllow: GET\r\n" in answer


# --- loopback only --------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["health process", "worker thread"])
def test_listens_on_127_0_0_1_only(world, which: str) -> None:
    _lab, worker, health = world
    pid, port = (
        (health.pid, health.port)
        if which == "health process"
        else (worker.pid, worker_health_port(worker))
    )
    listening = [
        c for c in psutil.Process(pid).net_connections("inet") if c.status == psutil.CONN_LISTEN
    ]
    assert [(c.laddr.ip, c.laddr.port) for c in listening if c.laddr.port == port] == [
        ("127.0.0.1", port)
    ]
    # another address of this machine does not reach it
    for address in ["127.0.0.2", *_non_loopback_addresses()]:
        with pytest.raises(OSError), socket.create_connection((address, port), timeout=2):
            pass


def _non_loopback_addresses() -> list[str]:
    return [
        a.address
        for addresses in psutil.net_if_addrs().values()
        for a in addresses
        if a.family == socket.AF_INET and not a.address.startswith("127.")
    ]


# --- bad clients do not stop it -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"garbage\r\n\r\n", b"400"),
        (b"FOO /health\r\n\r\n", b"400"),
        (b"GET /health HTTP/9.9\r\n\r\n", b"505"),
        (b"\x00\xff\xfe\x01 \x02\r\n\r\n", b"400"),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", b"414"),
        (b"GET /health HTTP/1.1\r\n" + b"X-Many: 1\r\n" * 200 + b"\r\n", b"431"),
    ],
    ids=[
        "garbage",
        "http-0.9-not-get",
        "bad-version",
        "binary",
        "overlong-line",
        "too-many-headers",
    ],
)
def test_a_malformed_request_is_answered_and_does_not_kill_it(world, request_bytes, status) -> None:
    health = world[2]
    answer = raw_exchange(health.port, request_bytes)
    assert answer.startswith(b"HTTP/1.0 " + status + b" "), answer[:200]
    assert answer.endswith(b"}\n") and b"application/json" in answer  # JSON, no echo
    assert health.alive
    assert health.probe().status == 200


def test_a_client_that_hangs_up_at_once_does_not_kill_it(world) -> None:
    health = world[2]
    for _ in range(20):
        socket.create_connection((HOST, health.port), timeout=2).close()
    assert health.probe().status == 200 and health.alive


def test_a_silent_client_is_dropped_and_others_are_served_meanwhile(world) -> None:
    health = world[2]
    before = health.probe().body["requests"]["bad_requests"]
    with socket.create_connection((HOST, health.port), timeout=10) as silent:
        assert health.probe().status == 200  # served while the silent one waits
        assert silent.recv(1024) == b""  # the server closes it after its client timeout
    assert health.probe().body["requests"]["bad_requests"] >= before + 1
    assert health.alive


def test_a_thousand_rapid_requests_are_all_answered(world) -> None:
    health = world[2]
    statuses = [health.probe(timeout=5).status for _ in range(1000)]
    assert statuses.count(200) == 1000
    assert health.alive


def test_a_burst_of_parallel_requests_gets_answers_and_it_survives(world) -> None:
    health = world[2]
    busy_before = health.probe().body["requests"]["busy"]
    with ThreadPoolExecutor(64) as pool:  # twice its connection limit
        answers = list(pool.map(lambda _: health.probe(timeout=10), range(400)))
    # every request got an HTTP answer: 200, or the 503 "busy" it counts beyond its
    # connection limit (how many depends on timing; the limit: tests/test_health_server.py)
    refused = [a for a in answers if a.status != 200]
    assert all(a.status == 503 and a.body["error"].startswith("busy") for a in refused), {
        (a.status, a.error) for a in refused
    }
    assert health.probe().body["requests"]["busy"] == busy_before + len(refused)
    assert health.alive and health.probe().status == 200


# --- never healthy for a dead worker ----------------------------------------------------------


def test_a_killed_worker_is_reported_dead_and_a_restart_is_followed(lab) -> None:
    worker = lab.start_server("w")
    health = lab.adopt(HealthProcess.watching(worker))
    health.start().wait_ready()
    old_pid = worker.pid
    assert health.probe().healthy

    worker.kill()  # SIGKILL; the handle reaps it and removes its pid file
    answer = health.probe()
    assert answer.status == 503 and not answer.healthy
    assert answer.body["worker"] == {
        "pid": old_pid,
        "alive": False,
        "ready": False,
        "frozen": False,
        "state": "gone",
    }

    worker.start()  # the health process follows the pid file to the new worker
    seen = wait_for(lambda: (a := health.probe()).healthy and a, 30, "the new worker ready")
    assert seen.worker["pid"] == worker.pid != old_pid
    assert health.pid == seen.body["pid"]  # same health process all along


def test_a_zombie_worker_is_not_healthy(sleeper) -> None:
    watch = WorkerWatch(pid=sleeper.pid)
    assert watch()["alive"] is True
    os.kill(sleeper.pid, signal.SIGKILL)  # dead, but not reaped by its parent (this test)
    wait_for(lambda: psutil.Process(sleeper.pid).status() == psutil.STATUS_ZOMBIE, 10, "zombie")
    report = watch()
    assert report["state"] == psutil.STATUS_ZOMBIE and report["alive"] is False
    sleeper.wait()
    assert watch()["state"] == "gone"


def test_a_frozen_worker_is_not_healthy(sleeper) -> None:
    watch = WorkerWatch(pid=sleeper.pid)
    os.kill(sleeper.pid, signal.SIGSTOP)
    try:
        wait_for(lambda: watch()["frozen"], 10, "stopped state")
        server = HealthServer(watch, served_by="test").start()
        try:
            assert probe(server.port).status == 503
        finally:
            server.close()
    finally:
        os.kill(sleeper.pid, signal.SIGCONT)
    wait_for(lambda: not watch()["frozen"], 10, "running again")


def test_ready_means_a_ready_line_naming_this_pid(sleeper, tmp_path) -> None:
    log = tmp_path / "worker.log"
    log.write_text(f"{SERVER_READY_PREFIX} executor_id=x pid=999999 ppid={sleeper.pid}\n")
    watch = WorkerWatch(pid=sleeper.pid, log_file=log)
    assert watch()["alive"] is True and watch()["ready"] is False  # ppid= is not pid=
    with open(log, "a") as out:
        out.write(f"[fiblab-server pid={sleeper.pid}] {SERVER_READY_PREFIX} executor_id=x ")
    assert watch()["ready"] is False  # half a line is not a ready line yet
    with open(log, "a") as out:
        out.write(f"pid={sleeper.pid} ppid=1\n")
    assert watch()["ready"] is True and watch()["executor_id"] == "x"


# --- the health process itself ---------------------------------------------------------------


def test_help_documents_every_option() -> None:
    assert_help_documents_every_option("fiblab.health", build_parser())


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "fiblab.health", "--worker-pid", "1", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert f"cannot serve on 127.0.0.1:{port}" in result.stderr


@pytest.mark.parametrize("how", ["stop", "interrupt"])
def test_sigterm_and_sigint_stop_it(lab, how: str) -> None:
    health = lab.adopt(HealthProcess("h", lab.scratch, worker_pid=os.getpid()))
    health.start().wait_ready()
    assert getattr(health, how)() == 0
    assert "stopped" in health.logs()


OWNER = textwrap.dedent(
    """
    import os, signal
    from fiblab.spawn import HealthProcess
    health = HealthProcess("h", {scratch!r}, worker_pid=os.getpid())
    health.start().wait_ready()
    print(health.pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_it_exits_when_its_parent_is_killed(lab) -> None:
    result = run_python(OWNER.format(scratch=str(lab.scratch)), cwd=REPO)
    pid = int(result.stdout.split()[0])
    wait_for(lambda: not fiblab_processes(lab.scratch), 10, f"health process {pid} to exit")


@sqlite_pass_only  # holds a lock on the SQLite file
def test_the_worker_endpoint_says_starting_until_it_is_ready(lab) -> None:
    database = sqlite3.connect(config.sqlite_path(lab.database_url), isolation_level=None)
    database.execute("BEGIN EXCLUSIVE")  # the server cannot set DBOS up until this ends
    try:
        server = lab.server("w", extra_args=["--health-port", "0"])
        server.start()
        port = wait_for(lambda: port_in_log(server.logs(), "health endpoint"), 60, "the port")
        starting = probe(port)
        assert starting.status == 503 and starting.body["worker"]["state"] == "starting"
    finally:
        database.execute("ROLLBACK")
        database.close()
    server.wait_ready()
    ready = probe(port)
    assert ready.status == 200 and ready.body["worker"]["state"] == "ready"


def test_worker_health_port_needs_the_option(lab) -> None:
    server = lab.start_server("plain")
    with pytest.raises(RuntimeError, match="--health-port"):
        worker_health_port(server)


def test_a_bad_health_port_is_a_clear_error(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fiblab.server", "--database-url", f"sqlite:///{tmp_path}/x",
         "--executor-id", "a", "--health-port", "70000"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2 and "--health-port" in result.stderr


def test_only_the_worker_and_its_health_process_run(world) -> None:
    lab, worker, health = world
    assert {p.pid for p in fiblab_processes(lab.scratch)} == {worker.pid, health.pid}
