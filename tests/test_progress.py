"""A step workflow's progress stream, live and after a real crash (fiblab.progress).

The server is SIGKILLed mid-workflow (by the step at a chosen index: deterministic) and
restarted with the same executor id: the reader saw no new value while it was down, and
the stream holds every position the workflow writes (``expected_positions``) exactly
once and in order, because DBOS records a write from the workflow like a step.
"""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest

from fiblab import client as fc
from fiblab.fib import fib_iterative
from fiblab.progress import expected_positions, stream_positions, watch_progress
from fiblab.timeline import workflow_spans
from fiblab.waiting import wait_for

pytestmark = pytest.mark.integration

N = 25
STEPS = N - 1
CRASH_AT = 13  # between the first position (9) and the second (17)


def writes_recorded(lab, workflow_id: str) -> int:
    """How many progress values DBOS has recorded for the workflow (its write operations)."""
    steps = lab.client.list_workflow_steps(workflow_id)
    return sum(step["function_name"] == "DBOS.writeStream" for step in steps)


def test_the_stream_survives_a_sigkill_exactly_once_in_order_and_the_bar_stalls(lab) -> None:
    positions = expected_positions(N)
    before_crash = [i for i in positions if i < CRASH_AT]
    assert 1 <= len(before_crash) < len(positions)  # the crash falls between two writes

    server = lab.start_server("s1")
    handle = lab.enqueue_steps(N, step_seconds=0.05, progress=True, crash_at=CRASH_AT)
    watch = watch_progress(lab.client, handle.workflow_id, STEPS, show=False)
    wait_for(lambda: not server.alive, 30, f"step {CRASH_AT} to SIGKILL its server")
    killed_at = time.monotonic()
    assert server.returncode == -signal.SIGKILL

    written = writes_recorded(lab, handle.workflow_id)  # nothing can write any more
    assert written == len(before_crash)
    # The reader catches up with what was written before the kill, then stands still.
    wait_for(lambda: len(watch.positions) == written, 30, "the reader to catch up")
    assert watch.positions == before_crash and watch.steps_done == before_crash[-1] - 1
    assert handle.get_status().status == "PENDING"
    assert not watch.finished.is_set()

    restarted_at = time.monotonic()
    server.restart()  # same executor id: it recovers its PENDING workflow
    watch.wait(60)
    assert fc.wait_result(handle) == (N, fib_iterative(N))

    # while the server was down, only values written before the kill arrived
    down = watch.arrived_between(killed_at, restarted_at)
    assert down == watch.positions[written - len(down) : written]
    assert watch.arrivals[written] >= restarted_at  # the first new value: after the restart
    pause, _before = watch.longest_pause()
    assert pause >= watch.arrivals[written] - watch.arrivals[written - 1] > 0
    assert watch.positions == positions and watch.steps_done == STEPS
    assert stream_positions(lab.client, handle.workflow_id) == positions
    # replayed writes were not written again: one operation per position, one close
    names = [s["function_name"] for s in lab.client.list_workflow_steps(handle.workflow_id)]
    assert names.count("DBOS.writeStream") == len(positions)
    assert names.count("DBOS.closeStream") == 1
    runs = Counter(e["step"] for e in lab.executions(handle.workflow_id))  # the side channel
    assert runs[CRASH_AT] == 2 and set(runs) == set(range(2, N + 1))  # the step in flight re-ran


def test_stream_writes_are_recorded_between_the_steps(lab) -> None:
    lab.start_server("s1")
    plain = lab.client.enqueue(fc.enqueue_options("fibonacci_steps_workflow"), 12)
    with_progress = lab.client.enqueue(
        fc.enqueue_options("fibonacci_steps_workflow"), 12, progress=True
    )
    assert fc.wait_result(plain) == fc.wait_result(with_progress) == (12, 144)
    assert expected_positions(12) == [9, 12]

    rows = fc.step_rows(lab.client, [with_progress.workflow_id])
    assert [r["output"] for r in rows] == [fib_iterative(i) for i in range(2, 13)]
    # DBOS's ids: index 9's step is 8, its write 9; index 12's step 12, its write 13
    assert [r["step_id"] for r in rows] == [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12]
    operations = lab.client.list_workflow_steps(with_progress.workflow_id)
    assert [(s["function_id"], s["function_name"]) for s in operations[-3:]] == [
        (12, "fibonacci_index_step"),
        (13, "DBOS.writeStream"),
        (14, "DBOS.closeStream"),
    ]
    spans = workflow_spans(fc.step_rows(lab.client, [plain.workflow_id, with_progress.workflow_id]))
    assert [span["steps"] for span in spans] == [11, 11]
    assert stream_positions(lab.client, plain.workflow_id) == []  # progress is opt-in


def test_a_running_workflow_is_refused_by_the_check_helper(lab) -> None:
    handle = lab.client.enqueue(fc.enqueue_options("fibonacci_steps_workflow"), 5, progress=True)
    with pytest.raises(ValueError, match="ENQUEUED"):
        stream_positions(lab.client, handle.workflow_id)
