"""Client helpers, and the contract a plain DBOSClient relies on."""

from __future__ import annotations

import asyncio
import textwrap
import time

import pytest

from fiblab import client as fc
from fiblab.fib import fib_iterative
from fiblab.waiting import wait_for

from .conftest import REPO, run_python

pytestmark = pytest.mark.integration

PLAIN_CLIENT = textwrap.dedent(
    """
    from dbos import DBOSClient
    client = DBOSClient(system_database_url={url!r})
    handle = client.enqueue({{"queue_name": "my_queue", "workflow_name": "fibonacci_workflow"}}, 21)
    print(repr(handle.get_result(polling_interval_sec=0.05)))
    print(handle.workflow_id)
    """
)


def test_a_plain_dbos_client_is_served_by_a_fiblab_server(lab) -> None:
    """Only the URL, 'my_queue' and 'fibonacci_workflow': no fiblab import, no app version."""
    lab.start_server("s1")
    result = run_python(PLAIN_CLIENT.format(url=lab.database_url), cwd=REPO)
    assert result.returncode == 0, result.stderr
    printed, workflow_id = result.stdout.split("\n")[:2]
    n, value, seconds = eval(printed)  # noqa: S307 - our own repr
    assert (n, value) == (21, 10946)
    (step,) = fc.step_rows(lab.client, [workflow_id])
    # the step's own measurement: more than nothing, at most the step's recorded span
    # (DBOS keeps milliseconds: the span may come out up to 1 ms short)
    assert 0 < seconds <= step["end"] - step["start"] + 0.001


def test_bad_input_sent_straight_ends_in_error_and_the_server_keeps_serving(lab) -> None:
    lab.start_server("s1")
    bad = lab.client.enqueue(fc.enqueue_options(), -3)
    with pytest.raises(ValueError, match="got -3"):
        bad.get_result(polling_interval_sec=0.01)
    assert bad.get_status().status == "ERROR"
    good = lab.client.enqueue(fc.enqueue_options(), 12)
    assert fc.wait_result(good)[:2] == (12, 144)


def test_results_as_completed_sync(lab) -> None:
    lab.start_servers(["s1", "s2"])
    ns = [18, 12, 20, 5, 15]
    handles = fc.enqueue_many(lab.client, ns)
    results = dict(fc.results_as_completed(lab.client, handles, timeout=60))
    assert set(results) == {h.workflow_id for h in handles}
    assert sorted(r[:2] for r in results.values()) == sorted((n, fib_iterative(n)) for n in ns)


def test_results_as_completed_reports_errors_and_keeps_its_timeout(lab) -> None:
    """The timeout holds even while nothing finishes (here: no server at all at first)."""
    handles = fc.enqueue_many(lab.client, [10, 11])
    handles.append(lab.client.enqueue(fc.enqueue_options(), "x"))  # fails on the server
    with pytest.raises(TimeoutError, match="3 workflows unfinished after 0.5 s"):
        next(fc.results_as_completed(lab.client, handles, timeout=0.5))
    lab.start_server("s1")
    arrived = list(fc.results_as_completed(lab.client, handles, timeout=60))
    assert {wid for wid, _ in arrived} == {h.workflow_id for h in handles}
    errors = [r for _, r in arrived if isinstance(r, Exception)]
    assert len(errors) == 1 and "'x'" in str(errors[0])
    late = lab.client.enqueue(fc.enqueue_options("no_such_workflow"), 1)  # never finishes
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="1 workflows unfinished"):
        list(fc.results_as_completed(lab.client, [late], timeout=1))
    assert time.monotonic() - started < 5


def test_results_as_completed_async_reports_errors_as_values(lab) -> None:
    lab.start_server("s1")

    async def run() -> list:
        handles = [await lab.client.enqueue_async(fc.enqueue_options(), n) for n in (10, 11)]
        handles.append(await lab.client.enqueue_async(fc.enqueue_options(), "x"))
        return [r async for _, r in fc.results_as_completed_async(lab.client, handles, timeout=60)]

    results = asyncio.run(run())
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and "'x'" in str(errors[0])
    assert sorted(r[:2] for r in results if not isinstance(r, Exception)) == [(10, 55), (11, 89)]


def test_step_rows_have_millisecond_times_and_executors(lab) -> None:
    lab.start_server("s1")
    handle = lab.client.enqueue(fc.enqueue_options("fibonacci_steps_workflow"), 6)
    assert fc.wait_result(handle) == (6, 8)
    rows = fc.step_rows(lab.client, [handle.workflow_id])
    assert [r["step_id"] for r in rows] == [1, 2, 3, 4, 5]
    assert {r["executor_id"] for r in rows} == {"s1"}
    assert all(r["end"] >= r["start"] > 1e9 for r in rows)
    assert [r["output"] for r in rows] == [1, 2, 3, 5, 8]


def test_a_wrong_queue_name_is_refused_before_enqueue(lab) -> None:
    with pytest.raises(ValueError) as error:
        fc.enqueue_many(lab.client, [5], queue="my_qeueu")
    assert "'my_qeueu'" in str(error.value) and "my_queue" in str(error.value)
    assert fc.workflow_rows(lab.client) == []


def test_a_wrong_workflow_name_sent_straight_is_logged_and_serving_goes_on(lab) -> None:
    """DBOS 3.4 cannot run a workflow it does not know: the server logs an error and the
    workflow stays PENDING on that executor (no ERROR status); the server keeps serving."""
    server = lab.start_server("s1")
    bad = lab.client.enqueue(fc.enqueue_options("no_such_workflow"), 5)
    wait_for(lambda: "no_such_workflow is not a registered" in server.logs(), 30, "the error")
    assert bad.get_status().status == "PENDING" and bad.get_status().executor_id == "s1"
    assert fc.wait_result(lab.client.enqueue(fc.enqueue_options(), 10))[:2] == (10, 55)


def test_enqueue_together_is_all_or_nothing(lab) -> None:
    """One transaction: a request that fails (an argument that cannot be stored) leaves
    none of those before it enqueued; without it, all are, with their priorities."""
    requests = [
        (fc.enqueue_options("fibonacci_steps_workflow", priority=p), [3], {}) for p in (2, 1)
    ]
    unstorable = (fc.enqueue_options("fibonacci_steps_workflow"), [lambda: 3], {})
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever pickle raises for a lambda
        fc.enqueue_together(lab.client, [*requests, unstorable])
    assert lab.client.list_workflows() == []
    handles = fc.enqueue_together(lab.client, requests)
    statuses = lab.client.list_workflows(workflow_ids=[h.workflow_id for h in handles])
    assert sorted(s.priority for s in statuses) == [1, 2]
