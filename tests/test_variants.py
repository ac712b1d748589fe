"""The failing designs of notebooks 07-08 fail, and their fixes survive the same crash.

These are the regression net for the DBOS behaviours the notebooks teach: if a DBOS
upgrade changes one of them, a test here fails and says which.
"""

from __future__ import annotations

import asyncio
import importlib
import signal
from collections import Counter

import pytest

from fiblab import client as fc
from fiblab import timeline
from fiblab.server import build_parser
from fiblab.stored import decode_stored, printable_strings, stored_inputs
from fiblab.variants import VARIANT_MODULES
from fiblab.waiting import wait_for

from .conftest import assert_help_documents_every_option

pytestmark = pytest.mark.integration

MEMO = "fiblab.variants.memo_instance"
PLAIN = "fiblab.variants.plain_class"
SECRETS = "fiblab.variants.instance_argument"
ORDERS = "fiblab.variants.completion_order"
CHILDREN = "fiblab.variants.workflow_in_step"


def crash_and_restart(lab, server, **options):
    """Wait for ``server`` to crash on purpose, then start it again (same executor id)."""
    code = server.wait(30)
    assert code in (-signal.SIGKILL, -signal.SIGSEGV), server.tail()
    return lab.start_server(server.executor_id, module=server.module, **options)


# --- every variant is a server module with a documented CLI ------------------------------


@pytest.mark.parametrize("module", VARIANT_MODULES)
def test_help_documents_every_option(module: str) -> None:
    out = assert_help_documents_every_option(module, build_parser())
    assert out.startswith(f"usage: python -m {module}")
    description = importlib.import_module(module).DESCRIPTION
    assert " ".join(description.split()[:6]) in " ".join(out.split())


# --- notebook 07 --------------------------------------------------------------------------


def test_memo_instance_loses_its_memo_and_rebuilding_survives(lab) -> None:
    from fiblab.variants import memo_instance as m

    server = lab.start_server("memo", module=MEMO)
    broken = lab.client.enqueue(
        fc.enqueue_options(
            "MemoCalculator.memo_fibonacci",
            class_name="MemoCalculator",
            instance_name=m.MEMO_INSTANCE,
        ),
        10,
        crash_at=7,
    )
    server = crash_and_restart(lab, server)
    wait_for(lambda: fc.is_finished(broken), 30, "the broken memo workflow to end")
    status = broken.get_status()
    assert status.status == "ERROR"
    assert type(status.error).__name__ == "DBOSMaxStepRetriesExceeded"
    failed = fc.step_rows(lab.client, [broken.workflow_id])[-1]["error"]
    assert [repr(e) for e in failed.errors] == ["KeyError(6)"] * m.RETRIES["max_attempts"]
    assert lab.steps_by_process(broken.workflow_id) == [[2, 3, 4, 5, 6, 7], [7, 7, 7]]

    fixed = lab.client.enqueue(
        fc.enqueue_options(
            "RebuildingCalculator.rebuilding_fibonacci",
            class_name="RebuildingCalculator",
            instance_name=m.REBUILDING_INSTANCE,
        ),
        10,
        crash_at=7,
    )
    crash_and_restart(lab, server)
    assert fc.wait_result(fixed) == (10, 55)
    assert lab.steps_by_process(fixed.workflow_id) == [[2, 3, 4, 5, 6, 7], [7, 8, 9, 10]]


def test_a_client_reaches_a_method_only_with_class_and_instance_names(lab) -> None:
    from fiblab.variants import memo_instance as m

    server = lab.start_server("memo", module=MEMO)
    method = "RebuildingCalculator.rebuilding_fibonacci"
    name_only = lab.client.enqueue(fc.enqueue_options(method), 12)
    misspelled = lab.client.enqueue(
        fc.enqueue_options(method, class_name="RebuildingCalculator", instance_name="nope"), 12
    )
    named = lab.client.enqueue(
        fc.enqueue_options(
            method, class_name="RebuildingCalculator", instance_name=m.REBUILDING_INSTANCE
        ),
        12,
    )
    module_level = lab.client.enqueue(fc.enqueue_options("rebuilding_fibonacci_workflow"), 12)

    assert fc.wait_result(named) == (12, 144)
    assert fc.wait_result(module_level) == (12, 144)
    wait_for(lambda: fc.is_finished(name_only), 30, "the name-only workflow to end")
    assert name_only.get_status().status == "ERROR"
    assert isinstance(name_only.get_status().error, TypeError)
    wait_for(lambda: "'RebuildingCalculator/nope' is not registered" in server.logs(), 30, "log")
    assert misspelled.get_status().status == "PENDING"  # stuck, not failed
    lab.client.cancel_workflow(misspelled.workflow_id)
    assert misspelled.get_status().status == "CANCELLED"


def test_static_and_class_methods_are_reachable_and_an_ordinary_instance_is_not(lab) -> None:
    """The same memo server also serves fiblab.variants.method_kinds (notebook 07, §2)."""
    lab.start_server("memo", module=MEMO)
    classmethod_name = "FibTools.fib_classmethod"
    handles = {
        "static": lab.client.enqueue(fc.enqueue_options("FibTools.fib_static"), 12),
        "class, name only": lab.client.enqueue(fc.enqueue_options(classmethod_name), 12),
        "class": lab.client.enqueue(
            fc.enqueue_options(classmethod_name, class_name="FibTools"), 12
        ),
        "ordinary": lab.client.enqueue(
            fc.enqueue_options(
                "OrdinaryCalculator.ordinary_fibonacci", class_name="OrdinaryCalculator"
            ),
            12,
        ),
    }
    for handle in handles.values():
        wait_for(lambda h=handle: fc.is_finished(h), 30, "the workflow to end")
    status = {what: handle.get_status() for what, handle in handles.items()}
    assert status["static"].output == (12, 144)
    assert status["class"].output == ("FibTools", 144)
    assert isinstance(status["class, name only"].error, TypeError)  # 12 became cls
    assert status["ordinary"].status == "ERROR"
    assert "type object 'OrdinaryCalculator' has no attribute 'memo'" in str(
        status["ordinary"].error
    )  # DBOS passed the class as self


def test_plain_class_recovers_and_a_crash_loop_ends_in_max_recovery_attempts(lab) -> None:
    from fiblab.variants import plain_class as p

    server = lab.start_server("plain", module=PLAIN)
    options = fc.enqueue_options("plain_class_workflow")
    once = lab.client.enqueue(options, 10, crash_at=7)
    server = crash_and_restart(lab, server)
    assert fc.wait_result(once) == (10, 55)

    loop = lab.client.enqueue(options, 10, crash_at=7, crash_every_time=True, crash_mode="segfault")
    crash_codes = []
    for _ in range(p.MAX_RECOVERY_ATTEMPTS + 5):
        wait_for(lambda s=server: not s.alive or fc.is_finished(loop), 30, "a crash or the end")
        if fc.is_finished(loop):
            break
        crash_codes.append(server.returncode)
        server = lab.start_server("plain", module=PLAIN)
    status = loop.get_status()
    assert status.status == "MAX_RECOVERY_ATTEMPTS_EXCEEDED"
    assert status.recovery_attempts == p.MAX_RECOVERY_ATTEMPTS + 2
    assert crash_codes == [-signal.SIGSEGV] * (p.MAX_RECOVERY_ATTEMPTS + 1)
    assert server.alive


def test_an_object_argument_stores_its_password_and_identifiers_do_not(lab) -> None:
    from fiblab.variants.instance_argument import Fetcher

    server = lab.start_server(
        "secrets", module=SECRETS, env={"FIBLAB_DEMO_PASSWORD": "hunter2-demo"}
    )
    fetcher = Fetcher("demo-user", "hunter2-demo")
    plain_run = lab.client.enqueue(fc.enqueue_options("fetcher_workflow"), fetcher, 10)
    result = fc.wait_result(plain_run)
    assert result["fib"] == 55 and result["requests_seen"] == 9
    assert fetcher.requests == 0  # the workflow worked on a copy
    assert "hunter2-demo" in printable_strings(
        decode_stored(stored_inputs(lab.database_url, plain_run.workflow_id))
    )
    stored = lab.client.list_workflows(workflow_ids=[plain_run.workflow_id])[0].input
    assert stored["args"][0] is not fetcher and stored["args"][0].password == "hunter2-demo"

    # The stored copy outlives a password rotation that happens while the server is down.
    rotated = lab.client.enqueue(fc.enqueue_options("fetcher_workflow"), fetcher, 10, crash_at=6)
    fetcher.password = "hunter3-demo"
    server = crash_and_restart(lab, server, env={"FIBLAB_DEMO_PASSWORD": "hunter3-demo"})
    wait_for(lambda: fc.is_finished(rotated), 30, "the rotated run to end")
    assert rotated.get_status().status == "ERROR"
    assert isinstance(rotated.get_status().error, PermissionError)

    fixed = lab.client.enqueue(fc.enqueue_options("user_id_workflow"), "demo-user", 10, crash_at=6)
    crash_and_restart(lab, server, env={"FIBLAB_DEMO_PASSWORD": "hunter4-demo"})
    assert fc.wait_result(fixed) == {"n": 10, "fib": 55, "user": "demo-user"}
    assert b"hunter" not in decode_stored(stored_inputs(lab.database_url, fixed.workflow_id))


# --- notebook 08 --------------------------------------------------------------------------

NS = [20, 21, 22, 23, 24, 25]
EXPECTED = [(20, 6765), (21, 10946), (22, 17711), (23, 28657), (24, 46368), (25, 75025)]
FIRST_RUN = [0.15, 0.3, 0.45, 0.6, 0.75, 0.9]
AFTER_RESTART = FIRST_RUN[::-1]


def test_completion_order_gives_wrong_results_silently_and_gather_does_not(lab) -> None:
    server = lab.start_server("orders", module=ORDERS)
    broken = lab.client.enqueue(
        fc.enqueue_options("completion_order_workflow"), NS, [FIRST_RUN, AFTER_RESTART], crash_at=23
    )
    server = crash_and_restart(lab, server)
    result = fc.wait_result(broken)
    assert broken.get_status().status == "SUCCESS"
    counts = Counter(n for n, _ in result)
    assert [counts[n] for n in NS] == [2, 2, 2, 0, 0, 0]
    assert lab.steps_by_process(broken.workflow_id) == [[20, 21, 22, 23], [22, 21, 20]]
    assert not any(row["error"] for row in fc.step_rows(lab.client, [broken.workflow_id]))

    fixed = lab.client.enqueue(
        fc.enqueue_options("fixed_order_workflow"), NS, [FIRST_RUN, AFTER_RESTART], crash_at=23
    )
    crash_and_restart(lab, server)
    assert fc.wait_result(fixed) == EXPECTED
    assert lab.steps_by_process(fixed.workflow_id) == [[20, 21, 22, 23], [25, 24, 23]]


def test_a_step_renamed_between_crash_and_recovery_ends_error(lab) -> None:
    from dbos import error as dbos_error

    from fiblab.variants.completion_order import RENAMED_STEP_ENV

    server = lab.start_server("renamed", module=ORDERS)
    handle = lab.client.enqueue(fc.enqueue_options("renamed_step_workflow"), NS[:4], NS[2])
    crash_and_restart(lab, server, env={RENAMED_STEP_ENV: "1"})
    wait_for(lambda: fc.is_finished(handle), 30, "the recovered workflow to end")
    status = handle.get_status()
    assert status.status == "ERROR"
    assert isinstance(status.error, dbos_error.DBOSUnexpectedStepError)
    assert status.error.inputs[1:] == (1, "fetch_fib_renamed_step", "fetch_fib_step")


def test_without_a_renamed_step_the_workflow_is_right(lab) -> None:
    lab.start_server("renamed", module=ORDERS)
    handle = lab.client.enqueue(fc.enqueue_options("renamed_step_workflow"), NS)
    assert fc.wait_result(handle) == EXPECTED


def test_without_a_crash_completion_order_is_right(lab) -> None:
    lab.start_server("orders", module=ORDERS)
    handle = lab.client.enqueue(fc.enqueue_options("completion_order_workflow"), NS, [FIRST_RUN])
    assert fc.wait_result(handle) == EXPECTED


def test_a_workflow_inside_a_step_is_a_bare_assertion_error_and_a_child_is_fine(lab) -> None:
    server = lab.start_server("children", module=CHILDREN)
    in_step = lab.client.enqueue(fc.enqueue_options("workflow_in_step_workflow"), 20)
    with pytest.raises(AssertionError) as raised:
        fc.wait_result(in_step)
    assert str(raised.value) == ""
    rows = fc.step_rows(lab.client, [in_step.workflow_id])
    assert [(r["name"], type(r["error"])) for r in rows] == [
        ("step_starting_a_workflow", AssertionError)
    ]
    # The error is recorded before the server's log line is written: wait for the line.
    wait_for(lambda: "assert cur_ctx.is_workflow()" in server.logs(), 10, "the traceback logged")
    assert [w.name for w in lab.client.list_workflows()] == ["workflow_in_step_workflow"]

    child = lab.client.enqueue(fc.enqueue_options("child_in_workflow_workflow"), 21, 0.0, 21)
    crash_and_restart(lab, server)
    assert fc.wait_result(child) == (21, 10946)
    family = {
        w.workflow_id: w
        for w in lab.client.list_workflows()
        if w.workflow_id.startswith(child.workflow_id)
    }
    assert len(family) == 2 and all(w.status == "SUCCESS" for w in family.values())
    (child_id,) = [wid for wid in family if wid != child.workflow_id]
    assert family[child_id].parent_workflow_id == child.workflow_id
    assert family[child_id].name == "fib_child_workflow"


def test_a_sync_workflow_calling_an_async_step_never_runs_it(lab) -> None:
    server = lab.start_server("children", module=CHILDREN)
    handle = lab.client.enqueue(fc.enqueue_options("sync_workflow_calling_async_step"), 20)
    wait_for(lambda: fc.is_finished(handle), 30, "the sync workflow to finish")
    status = handle.get_status()
    assert status.status == "ERROR" and isinstance(status.error, TypeError)
    assert "'coroutine'" in str(status.error)
    assert lab.client.list_workflow_steps(handle.workflow_id) == []
    assert lab.executions(handle.workflow_id) == []
    wait_for(lambda: "coroutine 'fib_child_step' was never awaited" in server.logs(), 30, "warning")


def test_a_child_start_is_a_step_of_its_parent(lab) -> None:
    lab.start_server("children", module=CHILDREN)
    parent = lab.client.enqueue(fc.enqueue_options("child_in_workflow_workflow"), 21)
    assert fc.wait_result(parent) == (21, 10946)
    child_id = f"{parent.workflow_id}-1"
    steps = lab.client.list_workflow_steps(parent.workflow_id)
    assert [(s["function_name"], s["child_workflow_id"]) for s in steps] == [
        ("fib_child_workflow", child_id),
        ("DBOS.getResult", child_id),
    ]


def test_async_workflows_overlap_and_arrive_as_they_complete(lab) -> None:
    lab.start_server("children", module=CHILDREN, worker_concurrency=3)
    jobs = [(30, 0.9), (31, 0.3), (32, 0.6)]

    async def run() -> tuple[list, list[int]]:
        handles = [
            await lab.client.enqueue_async(fc.enqueue_options("fib_child_workflow"), n, seconds)
            for n, seconds in jobs
        ]
        arrived = [r async for _wid, r in fc.results_as_completed_async(lab.client, handles)]
        return handles, arrived

    handles, arrived = asyncio.run(run())
    assert arrived == [1346269, 2178309, 832040]  # shortest wait first
    rows = fc.step_rows(lab.client, [h.workflow_id for h in handles])
    assert timeline.max_concurrency(timeline.workflow_spans(rows)) == 3


def test_blind_health_says_healthy_while_its_worker_is_a_zombie(lab) -> None:
    import psutil

    from fiblab.probe import probe
    from fiblab.processes import BlindHealthProcess
    from fiblab.variants import blind_health

    assert_help_documents_every_option("fiblab.variants.blind_health", blind_health.build_parser())
    blind = lab.adopt(BlindHealthProcess("blind", lab.database_url, lab.scratch))
    blind.start().wait_ready()
    port, worker_pid = blind.port_and_worker()
    worker = psutil.Process(worker_pid)
    assert worker.ppid() == blind.pid
    worker.send_signal(signal.SIGKILL)
    wait_for(lambda: worker.status() == psutil.STATUS_ZOMBIE, 10, "the worker to die")
    answer = probe(port)
    assert (answer.status, answer.body["status"]) == (200, "healthy")
    assert worker.status() == psutil.STATUS_ZOMBIE  # nobody waited for it
    assert blind.stop() == 0
    assert not worker.is_running()


def test_blind_health_parent_loop_exits_1_when_its_worker_dies(lab) -> None:
    import psutil

    from fiblab.probe import probe
    from fiblab.processes import BlindHealthProcess
    from fiblab.protocol import BLIND_HEALTH_READY_PREFIX, port_in_log

    loop = lab.adopt(BlindHealthProcess("loop", lab.database_url, lab.scratch, "--parent-loop"))
    loop.start().wait_ready()
    port, worker_pid = loop.port_and_worker()
    health_pid = port_in_log(loop.logs(), BLIND_HEALTH_READY_PREFIX, "health_pid")
    assert probe(port).status == 200
    psutil.Process(worker_pid).send_signal(signal.SIGKILL)
    assert loop.wait(10) == 1
    assert probe(port).status is None
    assert not psutil.pid_exists(health_pid) or psutil.Process(health_pid).status() == "zombie"
