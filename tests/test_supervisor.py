"""The supervisor: restarts a crashed worker with the same executor id, gives up on a
worker that keeps crashing, never restarts one that was asked to stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import psutil
import pytest

from fiblab import client as fc
from fiblab.pidfile import pid_gone
from fiblab.probe import probe
from fiblab.processes import fiblab_processes
from fiblab.protocol import port_in_log
from fiblab.server import READY_PREFIX as SERVER_READY_PREFIX
from fiblab.spawn import ManagedProcess
from fiblab.supervisor import (
    READY_PREFIX,
    Supervisor,
    SupervisorGaveUp,
    build_parser,
)
from fiblab.waiting import wait_for

from .conftest import REPO, assert_help_documents_every_option

pytestmark = pytest.mark.integration


def test_help_documents_every_option() -> None:
    assert_help_documents_every_option("fiblab.supervisor", build_parser())


def test_restart_after_sigkill_same_executor_id_and_the_workflow_is_finished(lab) -> None:
    supervisor = Supervisor(lab.server("w1")).start()
    handle = lab.enqueue_steps(20, wait_steps=4, step_seconds=0.05)
    old_pid = supervisor.pid
    assert supervisor.kill_worker() == old_pid  # a real SIGKILL

    supervisor.wait_running(restarts=1, timeout=60)
    assert fc.wait_result(handle) == (20, 6765)
    assert supervisor.pid != old_pid
    assert pid_gone(old_pid, reaped=True)
    crash = supervisor.crashes[-1]
    assert (crash.pid, crash.code, crash.note) == (old_pid, -signal.SIGKILL, "killed by SIGKILL")
    # the same executor id came back, and it is the one that finished the workflow
    ready = [line for line in supervisor.worker.logs().splitlines() if SERVER_READY_PREFIX in line]
    assert ready and "executor_id=w1" in ready[0]
    assert fc.workflow_rows(lab.client, [handle.workflow_id])[0]["executor_id"] == "w1"
    # (what recovery re-ran and what it did not: tests/test_recovery.py)

    assert supervisor.stop() == 0
    assert supervisor.state == "stopped" and not supervisor.worker.alive
    assert not fiblab_processes(lab.scratch)


def test_it_gives_up_after_a_bounded_number_of_fast_crashes(lab) -> None:
    states_at_events: list[tuple[str, str]] = []  # what a listener sees (the CLI's does)
    supervisor = Supervisor(
        lab.server("poison"),
        max_crashes=3,
        window_sec=60,
        on_event=lambda event: states_at_events.append((event.kind, supervisor.state)),
    )
    supervisor.start()
    handle = lab.enqueue_steps(10, crash_at=5, crash_every_time=True)  # crashes every run

    assert supervisor.wait_finished(timeout=90) == "gave-up"
    assert states_at_events[-1] == ("gave-up", "gave-up")  # the state is set before the event
    assert len(supervisor.crashes) == 3 and supervisor.restarts == 2
    assert all(e.code == -signal.SIGKILL for e in supervisor.crashes)
    assert "gave up on poison" in supervisor.message
    assert "crashed 3 times within 60 s" in supervisor.message
    assert "not restarted again" in supervisor.message
    assert "crashing on purpose" in supervisor.message  # the worker's last log lines
    with pytest.raises(SupervisorGaveUp, match="crashed 3 times"):
        supervisor.check()
    assert not supervisor.worker.alive
    assert handle.get_status().status == "PENDING"  # nobody finished it
    assert Counter(e["step"] for e in lab.executions(handle.workflow_id))[5] == 3
    assert not fiblab_processes(lab.scratch)


def test_a_worker_that_cannot_start_makes_start_raise_clearly(lab) -> None:
    bad = lab.server("typo", extra_args=["--polling-interval", "-1"])
    supervisor = Supervisor(bad, max_crashes=3, window_sec=30)
    with pytest.raises(SupervisorGaveUp) as raised:
        supervisor.start()
    message = str(raised.value)
    assert "crashed 3 times" in message and "exit code 2" in message
    assert "--polling-interval: must be > 0" in message
    assert supervisor.state == "gave-up" and supervisor.restarts == 2
    assert not fiblab_processes(lab.scratch)


def test_it_waits_restart_delay_before_restarting(lab) -> None:
    supervisor = Supervisor(lab.server("w"), restart_delay=0.5).start()
    supervisor.kill_worker()
    wait_for(lambda: supervisor.state == "restarting", 10, "the restart delay")
    assert not supervisor.worker.alive  # nothing runs during the delay
    supervisor.wait_running(restarts=1, timeout=60)
    crashed = supervisor.crashes[-1].at
    started = [e.at for e in supervisor.events if e.kind == "started"][-1]
    assert started - crashed >= 0.5
    supervisor.stop()


def test_crashes_further_apart_than_the_window_do_not_add_up(lab) -> None:
    window = 0.5
    supervisor = Supervisor(lab.server("w"), max_crashes=2, window_sec=window).start()
    for restarts in (1, 2, 3):
        supervisor.kill_worker()
        supervisor.wait_running(restarts=restarts, timeout=60)
        last = supervisor.crashes[-1].at
        wait_for(lambda last=last: time.time() - last > window, 10, "the window to pass")
    assert supervisor.state == "running" and len(supervisor.crashes) == 3
    supervisor.stop()


def test_a_worker_asked_to_stop_is_not_restarted(lab) -> None:
    supervisor = Supervisor(lab.server("w")).start()
    pid = supervisor.pid
    os.kill(pid, signal.SIGTERM)  # someone stops it on purpose: that is not a crash
    assert supervisor.wait_finished(timeout=30) == "exited"
    assert supervisor.restarts == 0 and not supervisor.crashes
    assert "stopped: exit code 0; not restarted" in supervisor.message
    assert pid_gone(pid, reaped=True)


def test_a_worker_that_never_gets_ready_is_killed_and_counted(lab) -> None:
    # a process that runs but never prints the ready line it is expected to print
    hanging = ManagedProcess(
        "hang",
        "fiblab.health",
        ["--worker-pid", str(os.getpid())],
        lab.scratch,
        ready_marker="a line that never comes",
    )
    lab.adopt(hanging)
    supervisor = Supervisor(hanging, max_crashes=2, window_sec=60, ready_timeout=0.5)
    with pytest.raises(SupervisorGaveUp, match=r"killed by SIGKILL \(not ready in 0.5 s\)"):
        supervisor.start()
    assert not hanging.alive and len(supervisor.crashes) == 2


def test_stop_during_a_crash_loop_leaves_nothing(lab) -> None:
    supervisor = Supervisor(lab.server("w"), max_crashes=100, window_sec=60).start()
    lab.enqueue_steps(10, crash_at=3, crash_every_time=True)
    wait_for(lambda: supervisor.restarts >= 1, 60, "a restart")
    supervisor.stop()
    assert supervisor.state == "stopped" and not supervisor.worker.alive
    assert not fiblab_processes(lab.scratch)


# --- python -m fiblab.supervisor ------------------------------------------------------------


def test_cli_gives_up_with_a_clear_message_and_exit_code_1(lab) -> None:
    result = subprocess.run(
        [
            sys.executable, "-m", "fiblab.supervisor", "--executor-id", "typo",
            "--database-url", lab.database_url, "--scratch-dir", str(lab.scratch),
            "--max-crashes", "2", "--polling-interval", "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 1
    assert "gave up on typo: it crashed 2 times" in result.stderr
    assert "--polling-interval: must be > 0" in result.stderr
    assert not fiblab_processes(lab.scratch)


def test_cli_runs_worker_and_health_restarts_and_stops_cleanly(lab) -> None:
    cli = ManagedProcess(
        "supervisor",
        "fiblab.supervisor",
        ["--executor-id", "w", "--health-port", "0"],
        lab.scratch,
        env={"FIBLAB_DATABASE_URL": lab.database_url},
        ready_marker=READY_PREFIX,
    )
    lab.adopt(cli).start().wait_ready()
    port = port_in_log(cli.logs(), READY_PREFIX, key="health_port")
    first = probe(port)
    assert first.healthy and first.worker["executor_id"] == "w"

    # SIGKILL the worker, a grandchild: its pid and start time come from its pid file
    recorded = json.loads((lab.scratch / "pids" / "w.json").read_text())
    worker = psutil.Process(recorded["pid"])
    assert abs(worker.create_time() - recorded["create_time"]) < 0.01
    assert worker.ppid() == cli.pid
    worker.kill()
    again = wait_for(
        lambda: (a := probe(port)).healthy and a.worker["pid"] != worker.pid and a, 60, "restart"
    )
    assert again.worker["executor_id"] == "w"
    assert "crashed pid=" in cli.logs() and "killed by SIGKILL" in cli.logs()

    started = time.monotonic()
    code = cli.stop()
    took = time.monotonic() - started
    assert code == 0, f"supervisor exit {code} after {took:.1f} s; its log:\n{cli.logs()}"
    wait_for(lambda: not fiblab_processes(lab.scratch), 10, "worker and health to exit")
