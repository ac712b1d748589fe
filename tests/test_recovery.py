"""What notebook 05 teaches about crashes and recovery, checked against real processes.

Every crash here is real (SIGKILL or a segfault); step executions are counted through
the side file the steps append to, so "ran once" means the code really ran once.
"""

from __future__ import annotations

import inspect
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter

import pytest
from dbos import DBOS

from fiblab import client as fc
from fiblab import config
from fiblab.crashes import BUG_FIXED_FILE
from fiblab.failing_workflows import (
    CRASH_LOOP_MAX_RECOVERY_ATTEMPTS,
    FLAKY_BACKOFF_RATE,
    FLAKY_INTERVAL_SEC,
    FLAKY_MAX_ATTEMPTS,
)
from fiblab.fib import fib_iterative
from fiblab.waiting import wait_for

from .conftest import REPO

pytestmark = pytest.mark.integration

N = 20
STEP_SECONDS = 0.02
STEPS = fc.enqueue_options("fibonacci_steps_workflow")
FINAL = fc.FINISHED_STATUSES


def runs(lab, workflow_id: str) -> Counter:
    """How many times each step index really executed."""
    return Counter(e["step"] for e in lab.executions(workflow_id))


def last_checkpointed_index(lab, workflow_id: str) -> int:
    """The Fibonacci index of the last recorded step (step id k computes index k + 1)."""
    steps = lab.client.list_workflow_steps(workflow_id)
    assert [s["function_id"] for s in steps] == list(range(1, len(steps) + 1))
    return len(steps) + 1


def strand(lab, server, *, started_steps: int = 5, **kwargs):
    """Enqueue a step workflow, let it run ``started_steps`` steps, SIGKILL ``server``."""
    handle = lab.enqueue_steps(N, wait_steps=started_steps, step_seconds=STEP_SECONDS, **kwargs)
    assert server.kill() == -signal.SIGKILL
    assert handle.get_status().status == "PENDING"
    return handle


def status_over(lab, workflow_ids: list[str], seconds: float) -> set[tuple[str, str | None]]:
    """Every (status, executor) seen for these workflows while watching for ``seconds``."""
    seen: set[tuple[str, str | None]] = set()
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        seen |= {
            (w.status, w.executor_id) for w in lab.client.list_workflows(workflow_ids=workflow_ids)
        }
        time.sleep(0.1)
    return seen


# --- recovery per executor id ---------------------------------------------------------


@pytest.mark.parametrize("mode", ["kill", "segfault"])
def test_same_executor_id_resumes_after_the_last_checkpoint(lab, mode: str) -> None:
    server = lab.start_server("s1")
    if mode == "kill":
        handle = strand(lab, server, started_steps=6)
    else:
        handle = lab.client.enqueue(
            STEPS, N, crash_at=8, crash_mode="segfault", step_seconds=STEP_SECONDS
        )
        wait_for(lambda: not server.alive, 30, "the segfault")
        assert server.returncode == -signal.SIGSEGV
        assert handle.get_status().status == "PENDING"
    last_done = last_checkpointed_index(lab, handle.workflow_id)
    old_pid = server.pid

    server.restart()
    assert fc.wait_result(handle) == (N, fib_iterative(N))
    counts = runs(lab, handle.workflow_id)
    resumed = [e for e in lab.executions(handle.workflow_id) if e["pid"] == server.pid]
    assert server.pid != old_pid
    assert resumed[0]["step"] == last_done + 1  # right after the last checkpoint
    assert sorted(counts) == list(range(2, N + 1))
    assert all(counts[i] == 1 for i in range(2, last_done + 1))  # checkpointed: never again
    assert {s for s, c in counts.items() if c > 1} <= {last_done + 1}  # only the one in flight
    if mode == "segfault":
        assert last_done == 7 and counts[8] == 2
    status = handle.get_status()
    assert (status.status, status.executor_id) == ("SUCCESS", "s1")


def test_other_executors_never_recover_a_pending_workflow(lab) -> None:
    s1 = lab.start_server("s1")
    handle = strand(lab, s1)
    executed = len(lab.executions(handle.workflow_id))
    lab.start_servers(["s-new", "s2"])
    # Start-up recovery of s-new/s2 is done before they are ready; 1.5 s is 15 polls of
    # my_queue and at least one rescan of the queue list by each.
    assert status_over(lab, [handle.workflow_id], 1.5) == {("PENDING", "s1")}
    assert len(lab.executions(handle.workflow_id)) == executed

    s1.restart()  # recovery re-enqueues it on my_queue: any live server may finish it
    assert fc.wait_result(handle) == (N, fib_iterative(N))
    assert handle.get_status().executor_id in {"s1", "s-new", "s2"}


def test_recovery_puts_the_workflow_back_on_its_queue(lab) -> None:
    """A restarted executor releases its PENDING workflows; whoever polls first runs them."""
    s1 = lab.start_server("s1")
    handle = strand(lab, s1)
    lab.start_server("s2")
    s1.restart()
    assert fc.wait_result(handle) == (N, fib_iterative(N))
    status = handle.get_status()
    assert status.queue_name == config.QUEUE_NAME
    assert status.recovery_attempts == 2  # the first run and one recovery


# --- the explicit ways out --------------------------------------------------------------


def test_resume_workflow_reruns_only_the_interrupted_step(lab) -> None:
    s1 = lab.start_server("s1")
    handle = strand(lab, s1)
    last_done = last_checkpointed_index(lab, handle.workflow_id)
    s2 = lab.start_server("s2")

    resumed = lab.client.resume_workflow(handle.workflow_id)  # default: DBOS's internal queue
    assert fc.wait_result(resumed) == (N, fib_iterative(N))
    status = handle.get_status()
    assert (status.status, status.executor_id) == ("SUCCESS", "s2")
    assert status.queue_name == "_dbos_internal_queue"
    after = [e for e in lab.executions(handle.workflow_id) if e["pid"] == s2.pid]
    assert after[0]["step"] == last_done + 1
    counts = runs(lab, handle.workflow_id)
    assert all(counts[i] == 1 for i in range(2, last_done + 1))

    # The old executor coming back finds nothing of its own to recover.
    executed = len(lab.executions(handle.workflow_id))
    s1.restart()
    assert status_over(lab, [handle.workflow_id], 0.5) == {("SUCCESS", "s2")}
    assert len(lab.executions(handle.workflow_id)) == executed


def test_fork_copies_checkpoints_and_leaves_the_original_pending(lab) -> None:
    s1 = lab.start_server("s1")
    handle = strand(lab, s1, started_steps=6)
    lab.start_server("s2")

    fork = lab.client.fork_workflow(handle.workflow_id, 4)  # step ids 1-3 copied
    assert fork.workflow_id != handle.workflow_id
    assert fc.wait_result(fork) == (N, fib_iterative(N))
    fork_status = fork.get_status()
    assert fork_status.forked_from == handle.workflow_id and fork_status.executor_id == "s2"
    assert fork_status.app_version == config.APP_VERSION  # version-less: stamped on dequeue
    fork_runs = runs(lab, fork.workflow_id)
    assert sorted(fork_runs) == list(range(5, N + 1)) and set(fork_runs.values()) == {1}
    assert len(lab.client.list_workflow_steps(fork.workflow_id)) == N - 1

    original = handle.get_status()
    assert (original.status, original.executor_id) == ("PENDING", "s1")
    assert original.was_forked_from is True

    s1.restart()  # the original is still s1's: it is recovered and runs to the end too
    assert fc.wait_result(handle) == (N, fib_iterative(N))
    assert sorted(runs(lab, handle.workflow_id)) == list(range(2, N + 1))


def test_cancelled_original_is_not_recovered(lab) -> None:
    s1 = lab.start_server("s1")
    handle = strand(lab, s1)
    lab.client.cancel_workflow(handle.workflow_id)
    executed = len(lab.executions(handle.workflow_id))
    s1.restart()
    assert status_over(lab, [handle.workflow_id], 0.5) == {("CANCELLED", "s1")}
    assert len(lab.executions(handle.workflow_id)) == executed


# --- retries and recovery attempts ----------------------------------------------------


def test_step_retries_back_off_and_give_up_after_max_attempts(lab) -> None:
    server = lab.start_server("s1")
    options = fc.enqueue_options("flaky_workflow")
    recovers = lab.client.enqueue(options, 20, 2)
    gives_up = lab.client.enqueue(options, 20, FLAKY_MAX_ATTEMPTS + 5)

    assert fc.wait_result(recovers) == (20, 6765)
    with pytest.raises(Exception) as error:
        fc.wait_result(gives_up)
    assert type(error.value).__name__ == "DBOSMaxStepRetriesExceeded"
    assert gives_up.get_status().status == "ERROR"

    assert len(lab.executions(recovers.workflow_id)) == 3
    attempts = lab.executions(gives_up.workflow_id)
    assert len(attempts) == FLAKY_MAX_ATTEMPTS
    assert {a["pid"] for a in attempts} == {server.pid}  # retried in the same process
    pauses = [b["at"] - a["at"] for a, b in zip(attempts, attempts[1:], strict=False)]
    expected = [FLAKY_INTERVAL_SEC * FLAKY_BACKOFF_RATE**i for i in range(len(pauses))]
    assert all(p >= 0.9 * e for p, e in zip(pauses, expected, strict=True)), pauses
    # retries are not steps: one checkpoint each, the failed one holding the error
    rows = fc.step_rows(lab.client, [recovers.workflow_id, gives_up.workflow_id])
    assert [(r["output"], r["error"] is None) for r in rows] == [(6765, True), (None, False)]


def test_a_step_that_always_crashes_ends_in_max_recovery_attempts_exceeded(lab) -> None:
    default = inspect.signature(DBOS.workflow).parameters["max_recovery_attempts"].default
    assert default == 100  # what fibonacci_steps_workflow gets; hence a smaller workflow here
    server = lab.start_server("s1")
    handle = lab.client.enqueue(fc.enqueue_options("crash_loop_workflow"), 8, 5)

    def status() -> str:
        return handle.get_status().status

    restarts = 0
    for _ in range(10):
        wait_for(lambda: not server.alive or status() in FINAL, 30, "a crash or the end")
        if status() in FINAL:
            break
        restarts += 1
        server.start()  # a crash may come before the ready line
    assert status() == "MAX_RECOVERY_ATTEMPTS_EXCEEDED"
    limit = CRASH_LOOP_MAX_RECOVERY_ATTEMPTS
    assert restarts == limit + 1
    assert runs(lab, handle.workflow_id) == Counter({2: 1, 3: 1, 4: 1, 5: 1 + limit})
    assert server.alive
    gave_up = f"maximum of {limit} execution or recovery attempts"
    wait_for(lambda: gave_up in server.logs(), 30, "the log line that it gave up")
    with pytest.raises(Exception, match="exceeded its maximum recovery attempts"):
        fc.wait_result(handle)

    # resume_workflow gives it a fresh budget: it runs (and crashes) again
    lab.client.resume_workflow(handle.workflow_id, queue_name=config.QUEUE_NAME)
    wait_for(lambda: not server.alive, 30, "the resumed workflow to crash the server")
    assert runs(lab, handle.workflow_id)[5] == 2 + limit
    status_row = handle.get_status()
    assert (status_row.status, status_row.recovery_attempts) == ("PENDING", 1)

    # the bug fixed, the next start of the same executor finishes it from its checkpoints
    (lab.scratch / BUG_FIXED_FILE).touch()
    server.start().wait_ready()
    assert fc.wait_result(handle) == (8, 21)
    assert runs(lab, handle.workflow_id) == Counter(
        {2: 1, 3: 1, 4: 1, 5: 3 + limit, 6: 1, 7: 1, 8: 1}
    )


# --- the application-version trap -----------------------------------------------------

OTHER_VERSION = textwrap.dedent(
    """
    import sys
    from dbos import DBOS
    import fiblab.app  # the same workflows, registered under DBOS's default (hashed) version
    DBOS(config={{"name": "fiblab", "system_database_url": {url!r},
                 "executor_id": "other", "log_level": "ERROR"}})
    DBOS.launch()
    print("version", DBOS.application_version, flush=True)
    sys.stdin.read()  # run until the test closes our stdin
    DBOS.destroy()
    """
)


def test_a_process_with_another_version_strands_version_less_requests(lab) -> None:
    server = lab.start_server("s1")
    client = lab.client
    plain = {"queue_name": config.QUEUE_NAME, "workflow_name": "fibonacci_workflow"}
    # SQLite stores version times in whole seconds (Python < 3.12): start a new one first.
    first = client.get_latest_application_version()
    assert first["version_name"] == config.APP_VERSION
    wait_for(lambda: time.time() * 1000 >= first["version_timestamp"] + 1000, 5, "next second")

    other = subprocess.Popen(
        [sys.executable, "-c", OTHER_VERSION.format(url=lab.database_url)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        line = other.stdout.readline()  # type: ignore[union-attr]
        other_version = line.split()[1]
        assert other_version != config.APP_VERSION
        assert client.get_latest_application_version()["version_name"] == other_version
        # while it runs, the latest version takes the version-less request itself
        taken = client.enqueue(plain, 11)
        assert fc.wait_result(taken)[:2] == (11, 89)
        assert taken.get_status().executor_id == "other"
    finally:
        other.communicate(timeout=30)  # closes stdin: it destroys DBOS and exits
    assert other.returncode == 0

    stuck = client.enqueue(plain, 12)
    pinned = client.enqueue(fc.enqueue_options(), 13)  # app_version="fiblab-1"
    assert fc.wait_result(pinned)[:2] == (13, 233)
    assert status_over(lab, [stuck.workflow_id], 1.0) == {("ENQUEUED", None)}

    server.restart()  # does not help: a version's time is set when first registered
    assert status_over(lab, [stuck.workflow_id], 1.0) == {("ENQUEUED", None)}
    assert client.get_latest_application_version()["version_name"] == other_version

    client.set_latest_application_version(config.APP_VERSION)
    assert fc.wait_result(stuck)[:2] == (12, 144)
    status = stuck.get_status()
    assert (status.executor_id, status.app_version) == ("s1", config.APP_VERSION)
