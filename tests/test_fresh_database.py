"""Every fiblab program started on a database path nobody prepared: no folder, no file.

This is the path a person takes in a terminal (and the original experiment's three
terminals): nothing is migrated or registered first. Each case runs on an idle machine
and again while every core is kept busy (``fiblab.cpu_hog``), since a slow
``DBOS.launch()`` is what makes a server likely to take "not created yet" for "deleted".
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from dbos import DBOSClient

from fiblab import config
from fiblab.cpu_hog import cpu_hog
from fiblab.probe import probe
from fiblab.protocol import HEALTH_READY_PREFIX, SUPERVISOR_READY_PREFIX, port_in_log
from fiblab.spawn import ManagedProcess, ServerProcess
from fiblab.waiting import wait_for

from .conftest import SCRATCH_ROOT, sqlite_pass_only

pytestmark = [pytest.mark.integration, sqlite_pass_only]  # fresh SQLite paths


@pytest.fixture(params=["idle", "busy"])
def machine(request: pytest.FixtureRequest) -> Iterator[str]:
    """The machine as it is, or with every core kept busy for the length of the test."""
    with cpu_hog() if request.param == "busy" else contextlib.nullcontext():
        yield request.param


@pytest.fixture
def fresh() -> Path:
    """A folder of this test's own that does not exist yet (the programs must create it)."""
    folder = SCRATCH_ROOT / f"fresh-{uuid.uuid4().hex[:12]}"
    assert not folder.exists()
    return folder


def fresh_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'not' / 'yet' / 'created' / 'demo.sqlite'}"


def plain_results(
    database_url: str, workflow: str, ns: list[int], servers: list[ManagedProcess]
) -> list[object]:
    """Enqueue with a plain DBOSClient (no migration first: the servers made the tables);
    the results, failing at once if a server dies while we wait."""
    client = DBOSClient(system_database_url=database_url)
    try:
        options = {"queue_name": config.QUEUE_NAME, "workflow_name": workflow}
        handles = [client.enqueue(options, n) for n in ns]  # type: ignore[arg-type]

        def finished() -> bool:
            for server in servers:
                assert server.alive, f"{server.name} exited; its log:\n{server.logs()}"
            statuses = [handle.get_status().status for handle in handles]
            return all(status not in ("PENDING", "ENQUEUED") for status in statuses)

        wait_for(finished, 60, f"{workflow} on a fresh database")
        return [handle.get_result() for handle in handles]
    finally:
        client.destroy()


def assert_served_and_alive(process: ManagedProcess) -> None:
    log = process.logs()
    assert process.alive, f"{process.name} exited ({process.returncode}); its log:\n{log}"
    assert "deleted" not in log and "error" not in log, log


def test_one_server_on_a_fresh_path_stays_up_and_serves(fresh: Path, machine: str) -> None:
    url = fresh_url(fresh)
    with ServerProcess("by-hand", url, fresh / "scratch").start() as server:
        server.wait_ready()
        assert plain_results(url, "fibonacci_workflow", [20], [server])[0][:2] == (20, 6765)
        assert_served_and_alive(server)


def test_two_servers_started_at_once_on_a_fresh_path(fresh: Path, machine: str) -> None:
    url = fresh_url(fresh)
    servers = [ServerProcess(name, url, fresh / "scratch") for name in ("server-1", "server-2")]
    for server in servers:  # both launch at the same moment, racing to create the database
        server.start()
    try:
        for server in servers:
            server.wait_ready()
        results = plain_results(url, "fibonacci_workflow", [18, 19, 20, 21], servers)
        assert [tuple(r[:2]) for r in results] == [(18, 2584), (19, 4181), (20, 6765), (21, 10946)]
        for server in servers:
            assert_served_and_alive(server)
    finally:
        for server in servers:
            server.stop()


def test_a_variant_server_on_a_fresh_path(fresh: Path, machine: str) -> None:
    url = fresh_url(fresh)
    variant = ServerProcess("variant", url, fresh / "scratch", module="fiblab.variants.plain_class")
    with variant.start() as server:
        server.wait_ready()
        assert plain_results(url, "plain_class_workflow", [10], [server]) == [(10, 55)]
        assert_served_and_alive(server)


def test_the_supervisor_on_a_fresh_path(fresh: Path, machine: str) -> None:
    url = fresh_url(fresh)
    supervisor = ManagedProcess(
        "supervisor",
        "fiblab.supervisor",
        ["--database-url", url, "--executor-id", "worker", "--scratch-dir", str(fresh / "w")],
        fresh / "scratch",
        ready_marker=SUPERVISOR_READY_PREFIX,
    )
    with supervisor.start():
        supervisor.wait_ready()
        assert plain_results(url, "fibonacci_workflow", [15], [supervisor])[0][:2] == (15, 610)
        assert_served_and_alive(supervisor)
        assert supervisor.stop() == 0


def test_the_health_process_on_fresh_paths(fresh: Path, machine: str) -> None:
    """Its worker's pid file and log do not exist yet: it answers "unhealthy", not dies."""
    health = ManagedProcess(
        "health",
        "fiblab.health",
        [
            "--worker-pid-file",
            str(fresh / "not-yet" / "worker.json"),
            "--worker-log",
            str(fresh / "not-yet" / "worker.log"),
        ],
        fresh / "scratch",
        ready_marker=HEALTH_READY_PREFIX,
    )
    with health.start():
        health.wait_ready()
        answer = probe(port_in_log(health.logs(), HEALTH_READY_PREFIX))
        assert answer.status == 503
        assert answer.body is not None and answer.body["worker"]["state"] == "none"
        assert health.alive


def test_a_database_folder_that_cannot_be_created_is_refused_by_name(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for module in ("fiblab.server", "fiblab.supervisor"):
        result = subprocess.run(
            [sys.executable, "-m", module, "--executor-id", "x"]
            + ["--database-url", f"sqlite:///{blocker}/db.sqlite"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )
        assert result.returncode == 2, result.stderr
        assert f"cannot create the folder {blocker}" in result.stderr


def test_ctrl_c_in_a_terminal_stops_a_server_cleanly(fresh: Path) -> None:
    """A terminal's Ctrl-C is a SIGINT to the foreground process group."""
    url = fresh_url(fresh)
    server = ServerProcess("terminal", url, fresh / "scratch").start().wait_ready()
    children_before = psutil.Process(server.pid).children(recursive=True)
    os.killpg(server.pid, signal.SIGINT)  # it runs in a session (and group) of its own
    assert server.wait(30) == 0, server.logs()
    assert "stopping: SIGINT" in server.logs() and "stopped" in server.logs()
    assert not [child for child in children_before if child.is_running()]
