"""Server lifecycle: ready, graceful stop, interrupts, a second copy; no stray process after
its owner ends. (What a kill leaves and how recovery picks it up: test_recovery.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from fiblab import client as fc
from fiblab.pidfile import pid_gone
from fiblab.processes import ServerGroup
from fiblab.server import READY_PREFIX, build_parser
from fiblab.spawn import ServerProcess, cpu_percents
from fiblab.waiting import wait_for

from .conftest import REPO, assert_help_documents_every_option, run_python

pytestmark = pytest.mark.integration


def test_help_documents_every_option() -> None:
    assert_help_documents_every_option("fiblab.server", build_parser())


def test_missing_database_is_a_clear_error(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FIBLAB_DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "fiblab.server", "--executor-id", "a"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "--database-url" in result.stderr


def test_bad_executor_id_is_a_clear_error(tmp_path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fiblab.server",
            "--database-url",
            f"sqlite:///{tmp_path}/x.sqlite",
            "--executor-id",
            "../etc",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "'../etc'" in result.stderr


def test_global_concurrency_below_what_a_server_takes_is_refused(tmp_path) -> None:
    result = subprocess.run(
        [
            sys.executable, "-m", "fiblab.server", "--database-url",
            f"sqlite:///{tmp_path}/x.sqlite", "--executor-id", "a",
            "--worker-concurrency", "2", "--global-concurrency", "1",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--global-concurrency 1 is below the 2 workflows" in result.stderr


def test_global_concurrency_limits_two_servers_together(lab) -> None:
    """Each server may take 2, together they may run 2: never more at once, by the step
    rows. (On SQLite this holds because fiblab's claims lock first: test_sqlite_claims.py.)"""
    from fiblab import timeline

    capped = {"queue": "capped", "worker_concurrency": 2, "global_concurrency": 2}
    ServerGroup([lab.server(eid, **capped) for eid in ("s1", "s2")]).start()
    row = lab.client.retrieve_queue("capped")
    assert (row.global_concurrency, row.worker_concurrency) == (2, 2)
    options = fc.enqueue_options("fibonacci_steps_workflow", "capped")
    handles = [lab.client.enqueue(options, 3, step_seconds=0.1) for _ in range(8)]
    for handle in handles:
        fc.wait_result(handle)
    spans = timeline.workflow_spans(fc.step_rows(lab.client, [h.workflow_id for h in handles]))
    assert timeline.max_concurrency(spans) <= 2, spans


def test_ready_line_names_pid_and_parent(lab) -> None:
    server = lab.start_server("s1")
    line = next(line for line in server.logs().splitlines() if READY_PREFIX in line)
    assert f"pid={server.pid}" in line
    assert f"ppid={os.getpid()}" in line
    assert "executor_id=s1" in line


def test_cpu_percents_samples_each_process_in_one_window(lab) -> None:
    busy = lab.server("busy", queue="busy", polling_interval=0.01)
    calm = lab.server("calm", queue="calm", polling_interval=1.0)
    ServerGroup([busy, calm]).start()
    busy_cpu, calm_cpu = cpu_percents([busy, calm], 2.0)
    assert busy_cpu > 2 * calm_cpu  # ~100 polls against ~2 (about 20 % vs 2 % here)
    with pytest.raises(RuntimeError, match="never started: idle"):
        cpu_percents([lab.server("idle")], 0.1)


@pytest.mark.parametrize("how", ["stop", "interrupt"])
def test_sigterm_and_sigint_stop_gracefully(lab, how: str) -> None:
    server = lab.start_server("s1")
    code = getattr(server, how)()
    assert code == 0
    assert "stopped" in server.logs()
    assert ("SIGTERM" if how == "stop" else "SIGINT") in server.logs()


def test_graceful_stop_lets_the_running_workflow_finish(lab) -> None:
    server = lab.start_server("s1")
    handle = lab.enqueue_steps(20, wait_steps=2, step_seconds=0.05)
    assert server.stop() == 0
    assert handle.get_status().status == "SUCCESS"
    assert fc.wait_result(handle) == (20, 6765)


def test_starting_the_same_executor_again_replaces_the_old_copy(lab) -> None:
    first = lab.start_server("s1")
    old_pid = first.pid
    second = ServerProcess("s1", lab.database_url, lab.scratch)  # a re-run cell builds a new object
    second.start().wait_ready()
    assert pid_gone(old_pid)
    assert second.alive
    second.stop()


INTERRUPTED_OWNER = textwrap.dedent(
    """
    import os, signal, time
    from fiblab.spawn import ServerProcess
    server = ServerProcess("owned", {url!r}, {scratch!r})
    server.start().wait_ready()
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the kernel survives its interrupt too
    os.killpg(os.getpgrp(), signal.SIGINT)         # what Jupyter's interrupt button does
    time.sleep(1.0)                                # give a wrongly-grouped server time to die
    print("alive" if server.alive else f"dead {{server.returncode}}", flush=True)
    server.stop()
    """
)


def test_a_jupyter_style_interrupt_does_not_kill_the_server(lab) -> None:
    # The owner runs in a session of its own, like a Jupyter kernel, so the SIGINT to
    # its process group reaches nothing of the test runner's.
    code = INTERRUPTED_OWNER.format(url=lab.database_url, scratch=str(lab.scratch))
    result = run_python(code, cwd=REPO, start_new_session=True)
    assert result.stdout.strip() == "alive", result.stderr


OWNER = textwrap.dedent(
    """
    import os, signal, sys
    from fiblab.spawn import ServerProcess
    server = ServerProcess("owned", {url!r}, {scratch!r})
    server.start().wait_ready()
    print(server.pid, flush=True)
    how = {how!r}
    if how == "raise":
        raise RuntimeError("owner failed")
    if how == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.mark.parametrize("how", ["exit", "raise", "sigkill"])
def test_no_stray_server_after_the_owner_ends(lab, how: str) -> None:
    result = run_python(
        OWNER.format(url=lab.database_url, scratch=str(lab.scratch), how=how), cwd=REPO
    )
    server_pid = int(result.stdout.split()[0])
    wait_for(lambda: pid_gone(server_pid), 10, f"server {server_pid} to exit after owner {how}")
