# %% [markdown]
# # 08 · Async workflows: step order, steps that start workflows, and async done right
#
# **You will be able to:** explain how DBOS matches the steps of a recovered workflow to
# its checkpoints, spot async workflow code whose step order depends on timing, watch it
# return wrong results after a crash without any error, start child workflows from the
# place DBOS allows, tell an async step called without `await`, drive async workflows
# from a client with async handles — and write a server module whose async workflow
# keeps its results complete and in order through a real crash.
#
# **Prerequisites:** [07 · Class-based designs that break](07_class_based_variants.ipynb).
#
# **Time:** about 25 minutes.

# %% [markdown]
# ## Setup
#
# As in notebook 07, each design runs in a server module of its own under
# `fiblab/variants/`, one server at a time, and each crash is a real SIGKILL at a
# chosen step.

# %%
import os
import re
import signal
from collections import Counter

from fiblab import client as fc
from fiblab import timeline
from fiblab.display import show_source, table
from fiblab.lab import Lab
from fiblab.variants import completion_order, workflow_in_step
from fiblab.waiting import wait_for

lab = Lab.fresh("08_async_variants")
ORDERS = "fiblab.variants.completion_order"
CHILDREN = "fiblab.variants.workflow_in_step"
MY_MODULE = os.path.relpath(lab.scratch / "my_orders.py")  # the exercise's, relative to here

# %% [markdown]
# ## 1 · Steps are matched by number
#
# DBOS numbers the steps of a workflow 1, 2, 3, … in the order they **start**, and
# records each result under its number. A recovered workflow runs its code again from
# the top; when step number k starts, DBOS looks up the result recorded for k and
# returns it without running the step. Read in the dbos source (`dbos/_sys_db.py`,
# `_check_operation_execution_txn`): it compares the *name* recorded for step k with
# the name of the step now starting, and raises `DBOSUnexpectedStepError` if they
# differ (the going-deeper section after this one makes that happen); the step's
# *arguments* are not compared.
#
# So a workflow must start its steps in the same order on every run. The original
# `ex4.py` did not: it fetched several things concurrently and let
# `asyncio.as_completed` hand them back as they finished. fiblab's version fetches
# fib(20) … fib(25); before each fetch it waits for a (simulated) network, and only
# then starts the step.

# %%
show_source(completion_order.fetch_fib_step, completion_order.fetch_after_wait,
            completion_order.completion_order_workflow)

# %% [markdown]
# Real network latencies differ from run to run; ours are scripted so that the notebook
# behaves the same every time. `latencies[r]` holds the waits for run `r` of the workflow
# body: in the first run fib(20) comes back first and fib(25) last; after a restart the
# network behaves the other way round.
#
# A normal run (one row of latencies, no crash) gives the right six results, in the order
# they arrived:

# %%
NS = [20, 21, 22, 23, 24, 25]
# 50 ms apart: each step has started and been recorded long before the next wait ends
FIRST_RUN = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3]
AFTER_RESTART = FIRST_RUN[::-1]
EXPECTED = [(20, 6765), (21, 10946), (22, 17711), (23, 28657), (24, 46368), (25, 75025)]

orders_server = lab.start_server("orders-server", module=ORDERS)
normal = fc.wait_result(
    lab.client.enqueue(fc.enqueue_options("completion_order_workflow"), NS, [FIRST_RUN])
)
print(normal)

# %%
assert normal == EXPECTED

# %% [markdown]
# Now the same workflow with both rows of latencies, and a crash (SIGKILL) when the
# fetch of fib(23) runs. Then we restart the server with the same executor id.

# %%
order_handle = lab.client.enqueue(
    fc.enqueue_options("completion_order_workflow"), NS, [FIRST_RUN, AFTER_RESTART], crash_at=23
)
order_crash_code = orders_server.wait(30)
orders_server = lab.start_server("orders-server", module=ORDERS)
order_result = fc.wait_result(order_handle)
order_status = order_handle.get_status()
got = Counter(n for n, _value in order_result)
print("exit code:", order_crash_code, "| status:", order_status.status,
      "| error:", order_status.error)
print("result:", order_result)
print("twice:", sorted(n for n in NS if got[n] > 1), "| missing:", sorted(n for n in NS if not got[n]))

# %% [markdown]
# `SUCCESS`, no error — and half the answers are wrong. DBOS's own records show it:

# %%
order_steps = fc.step_rows(lab.client, [order_handle.workflow_id])
print("steps run, per server process:", lab.steps_by_process(order_handle.workflow_id))
table(order_steps, ["step_id", "name", "output", "error"])

# %% [markdown]
# **Check:** the server was killed; the recovered workflow ended `SUCCESS` without an
# error, with fib(20), fib(21), fib(22) twice each and fib(23), fib(24), fib(25)
# missing. The new process computed only 22, 21 and 20.

# %%
assert order_crash_code == -signal.SIGKILL
assert order_status.status == "SUCCESS" and order_status.error is None
assert sorted(n for n in NS if got[n] == 2) == [20, 21, 22]
assert sorted(n for n in NS if got[n] == 0) == [23, 24, 25]
assert [s["output"][0] for s in order_steps] == [20, 21, 22, 22, 21, 20]
assert not any(s["error"] for s in order_steps)
assert lab.steps_by_process(order_handle.workflow_id) == [[20, 21, 22, 23], [22, 21, 20]]


# %% [markdown]
# **Why.** In the first run the waits ended in the order 20, 21, 22, 23, so those calls
# became steps 1–4; steps 1–3 were recorded, step 4 died with the server. After the
# restart the waits ended in the opposite order:

# %%
def start_order(latencies):
    """The n's in the order their waits end."""
    return [n for _seconds, n in sorted(zip(latencies, NS))]


run_1, run_2 = start_order(FIRST_RUN), start_order(AFTER_RESTART)
why = [
    {"step": k + 1, "run 1 started it for": run_1[k], "run 2 started it for": run_2[k],
     "run 2 got": row["output"], "how": "recorded in run 1" if k < 3 else "ran in run 2"}
    for k, row in enumerate(order_steps)
]
table(why)

# %% [markdown]
# **Check:** the start orders derived from the latencies match what the side channel saw
# each process run: run 1 ran 20–23, run 2 ran only its steps 4–6.

# %%
first_process, second_process = lab.steps_by_process(order_handle.workflow_id)
assert run_1[:4] == first_process and run_2[3:] == second_process

# %% [markdown]
# Steps 1–3 of run 2 asked for fib(25), fib(24), fib(23) and received the recorded
# fib(20), fib(21), fib(22) — same step name, so DBOS cannot tell. Steps 4–6 had no
# record and ran for real, for 22, 21 and 20.
#
# **The fix:** start every step in an order fixed by the workflow's inputs, and do the
# waiting *inside* the steps. `asyncio.gather` starts its arguments in order (so does
# creating tasks one by one with `asyncio.create_task`); *awaiting* them in any order
# after that is fine.

# %%
show_source(completion_order.wait_and_fetch_step, completion_order.fixed_order_workflow)

# %% [markdown]
# Same latencies, same crash at fib(23), same restart:

# %%
fixed_handle = lab.client.enqueue(
    fc.enqueue_options("fixed_order_workflow"), NS, [FIRST_RUN, AFTER_RESTART], crash_at=23
)
fixed_crash_code = orders_server.wait(30)
orders_server = lab.start_server("orders-server", module=ORDERS)
fixed_result = fc.wait_result(fixed_handle)
print("exit code:", fixed_crash_code, "| status:", fixed_handle.get_status().status)
print("result:", fixed_result)
print("steps run, per server process:", lab.steps_by_process(fixed_handle.workflow_id))

# %% [markdown]
# **Check:** the same crash now ends with every result right, in input order. The new
# process ran only the steps without a record — 23 (in flight at the crash, so it ran
# twice), 24 and 25 — in the order their new waits ended.

# %%
assert fixed_crash_code == -signal.SIGKILL
assert fixed_result == EXPECTED and fixed_handle.get_status().status == "SUCCESS"
fixed_steps = fc.step_rows(lab.client, [fixed_handle.workflow_id])
assert [s["output"] for s in fixed_steps] == EXPECTED  # step k holds ns[k]
assert lab.steps_by_process(fixed_handle.workflow_id) == [[20, 21, 22, 23], [25, 24, 23]]

# %% [markdown]
# ## Going deeper: a step renamed between a crash and its recovery
#
# Section 1's steps all had one name, so DBOS could not tell them apart. When the name
# recorded for step k is *not* the name of the step now starting as number k, DBOS
# refuses. The workflow below fetches its ns one after another; a server started with
# `FIBLAB_RENAMED_STEP` set runs the first fetch under another step name — the code was
# changed and redeployed while a workflow was in flight (same application version, so
# the new server recovers it). Section 1's server, still running, takes the workflow; we
# crash it at the third fetch, after step 1 was recorded as `fetch_fib_step`, and restart
# it, same executor id, with the renamed step.
#
# Watch for: the status the recovered workflow ends in, and its error.

# %%
show_source(completion_order.renamed_step_workflow)

# %%
from dbos import error as dbos_error

# section 1's server, or a new one if it is gone (this section run again after the end)
first_server = orders_server if orders_server.alive else lab.start_server("orders-server", module=ORDERS)
renamed_handle = lab.client.enqueue(
    fc.enqueue_options("renamed_step_workflow"), NS[:4], NS[2]
)
renamed_crash_code = first_server.wait(30)
renamed_server = lab.start_server(
    "orders-server", module=ORDERS, env={completion_order.RENAMED_STEP_ENV: "1"}
)
wait_for(lambda: fc.is_finished(renamed_handle), 30, "the recovered workflow to end")
renamed_status = renamed_handle.get_status()
renamed_steps = fc.step_rows(lab.client, [renamed_handle.workflow_id])
print("exit code:", renamed_crash_code, "| status:", renamed_status.status)
print(f"error: {type(renamed_status.error).__name__}: {renamed_status.error}")
print("steps recorded:", [(s["step_id"], s["name"], s["output"]) for s in renamed_steps])

# %% [markdown]
# **Check:** the first server was killed; the recovered workflow ended `ERROR` with a
# `DBOSUnexpectedStepError` naming step 1, the recorded `fetch_fib_step` and the
# expected `fetch_fib_renamed_step`; nothing was recorded after the crash (the two steps
# from before it are all there is).

# %%
assert renamed_crash_code == -signal.SIGKILL
assert renamed_status.status == "ERROR"
assert isinstance(renamed_status.error, dbos_error.DBOSUnexpectedStepError)
assert renamed_status.error.inputs == (
    renamed_handle.workflow_id, 1, "fetch_fib_renamed_step", "fetch_fib_step")
assert [(s["step_id"], s["name"]) for s in renamed_steps] == [
    (1, "fetch_fib_step"), (2, "fetch_fib_step")]
assert renamed_server.stop() == 0

# %% [markdown]
# ## Going deeper: `as_completed`'s own order, and `DBOS.asyncio_wait`
#
# There is a second, quieter source of disorder in `ex4.py`'s design: `asyncio.as_completed` itself
# starts the coroutines you give it in an arbitrary order, because it puts them in a
# **set** first (CPython's own code):

# %%
import asyncio
import inspect

tasks_source = inspect.getsource(asyncio.tasks)  # as_completed lives here
print(next((line.strip() for line in tasks_source.splitlines() if " in set(" in line),
           "(this Python's as_completed is written differently; the set is inside it)"))

# %% [markdown]
# A set of coroutine objects iterates in an order that comes from their memory
# addresses, which differ from process to process. Step coroutines handed straight to
# `as_completed` can be numbered differently in a recovered process even when every
# latency is the same — not reproducible, so we don't demonstrate it, but just as wrong.
#
# When the logic really needs "whichever finishes first", dbos 3.4 has
# `DBOS.asyncio_wait`, a durable `asyncio.wait`. Read it in the dbos package
# (`dbos/_dbos.py`): on the first run it stores the *indices* of the finished tasks as an
# operation named `DBOS.asyncio_wait`; a recovered run finds that record and hands back
# the same tasks as done, whatever finishes first this time. The lines that do it:

# %%
from dbos import DBOS

wait_source = inspect.getsource(DBOS.asyncio_wait)
print(" ".join(line.strip() for line in DBOS.asyncio_wait.__doc__.strip().splitlines()[2:4]))
print("\n".join(line for line in wait_source.splitlines()
                if "done_idx_list =" in line or "done = {fs_list[i]" in line))

# %% [markdown]
# **Check:** that is what this dbos's source says: it records the done indices under
# the name `DBOS.asyncio_wait` and, when a record exists, rebuilds `done` from it.

# %%
assert '"function_name": "DBOS.asyncio_wait"' in wait_source
assert "done = {fs_list[i] for i in recorded_indices}" in wait_source

# %% [markdown]
# The tasks still have to be created in a fixed order: `asyncio_wait` records which of
# them finished, not the order in which steps started. The other way out is to make each
# item a child workflow of its own — which brings us to where child workflows may be
# started.
#
# ## Going deeper: 2 · A workflow started inside a step
#
# The original `ex5.py` called a workflow from inside a step. Here the step
# `step_starting_a_workflow` calls `fib_child_workflow`:

# %%
show_source(workflow_in_step.fib_child_step, workflow_in_step.fib_child_workflow,
            workflow_in_step.step_starting_a_workflow, workflow_in_step.workflow_in_step_workflow)

# %%
children_server = lab.start_server("children-server", module=CHILDREN, worker_concurrency=3)
in_step_handle = lab.client.enqueue(fc.enqueue_options("workflow_in_step_workflow"), 20)

# %% [markdown]
# Waiting for its result raises at once. We catch the error and print what DBOS sent
# back — its type and its message:

# %%
try:
    fc.wait_result(in_step_handle)
    in_step_error = None
except Exception as error:  # whatever DBOS raises: we want to see it
    in_step_error = error
print(f"{type(in_step_error).__name__}: {str(in_step_error)!r}")


def log_with_the_error():
    lines = children_server.logs().splitlines()
    return lines if any(line.startswith("AssertionError") for line in lines) else None


in_step_log = wait_for(log_with_the_error, 30, "the server to log the error")  # kept: it restarts below


# %% [markdown]
# An `AssertionError` without a message. The server's log has the whole traceback; from
# our step's line on, it shows the check inside DBOS that fired, with DBOS's own comment
# (file names printed relative to this notebook's folder):

# %%
def relative_paths(line):
    """A traceback line with its file name relative to this notebook's folder."""
    return re.sub(r'File "([^"]+)"', lambda m: f'File "{os.path.relpath(m.group(1))}"', line)


end = max(i for i, line in enumerate(in_step_log) if line.startswith("AssertionError"))
start = max(i for i, line in enumerate(in_step_log[:end]) if "in step_starting_a_workflow" in line)
print("\n".join(relative_paths(line) for line in in_step_log[start : end + 1]))

# %% [markdown]
# **Check:** the workflow is `ERROR` with a bare `AssertionError`; DBOS recorded the
# failed step with that error, and no child workflow of it exists.

# %%
in_step_status = in_step_handle.get_status()
assert type(in_step_error) is AssertionError and str(in_step_error) == ""
assert in_step_status.status == "ERROR"
assert type(in_step_status.error) is AssertionError and str(in_step_status.error) == ""
in_step_rows = fc.step_rows(lab.client, [in_step_handle.workflow_id])
assert [(s["name"], type(s["error"])) for s in in_step_rows] == [
    ("step_starting_a_workflow", AssertionError)
]
assert not [w for w in lab.client.list_workflows()
            if w.parent_workflow_id == in_step_handle.workflow_id
            or w.workflow_id.startswith(f"{in_step_handle.workflow_id}-")]

# %% [markdown]
# **Why.** A step is the unit DBOS records as *one* result: it runs, and its output is
# saved, or it runs again. A workflow started inside it would have checkpoints of its own
# that the parent could not replay consistently, so DBOS refuses to start it: the
# `assert` fails inside the step before any child workflow exists. What *is* written is
# the step's own outcome — the failed step row the check above found, with that
# `AssertionError` — and the parent workflow ends `ERROR`.
#
# **The fix:** start the child from workflow code. DBOS then records the start as a
# step of the parent, gives the child an id derived from the parent's, and a recovered
# parent finds its child instead of starting another.

# %%
show_source(workflow_in_step.child_in_workflow_workflow)

# %% [markdown]
# To see it survive a crash, the child's step kills the server once. The arguments are
# (`n`, wait seconds, `crash_at`): n = 21, no wait, crash in the step for n = 21.

# %%
child_handle = lab.client.enqueue(
    fc.enqueue_options("child_in_workflow_workflow"), 21, 0.0, 21
)
child_crash_code = children_server.wait(30)
children_server = lab.start_server("children-server", module=CHILDREN, worker_concurrency=3)
child_result = fc.wait_result(child_handle)
family = [w for w in lab.client.list_workflows() if w.workflow_id.startswith(child_handle.workflow_id)]
table([{"workflow_id": w.workflow_id, "name": w.name, "status": w.status,
        "parent": w.parent_workflow_id, "output": w.output} for w in family])

# %% [markdown]
# DBOS's record of the **parent's** steps shows how the parent found its child again:
# step 1 is the child's start (named after the child workflow, with the child's id),
# step 2 the wait for its result.

# %%
parent_steps = lab.client.list_workflow_steps(child_handle.workflow_id)
table([{key: step[key] for key in ("function_id", "function_name", "child_workflow_id", "output")}
       for step in parent_steps])

# %% [markdown]
# **Check:** the crash hit the child; after the restart parent and child are both
# `SUCCESS`, the child id is the parent's plus a suffix, its step ran twice (the
# run that crashed, and the recovered one), and the parent's step 1 is the child's start.

# %%
assert child_crash_code == -signal.SIGKILL and child_result == (21, 10946)
parent_row = next(w for w in family if w.workflow_id == child_handle.workflow_id)
child_row = next(w for w in family if w.workflow_id != child_handle.workflow_id)
assert parent_row.status == child_row.status == "SUCCESS"
assert child_row.name == "fib_child_workflow" and child_row.parent_workflow_id == parent_row.workflow_id
assert [len(steps) for steps in lab.steps_by_process(child_row.workflow_id)] == [1, 1]
assert [(st["function_id"], st["function_name"], st["child_workflow_id"]) for st in parent_steps] == [
    (1, "fib_child_workflow", child_row.workflow_id),
    (2, "DBOS.getResult", child_row.workflow_id),
]
assert child_row.workflow_id == f"{parent_row.workflow_id}-1"

# %% [markdown]
# ### `ex5.py`'s other slip: an async step called from a sync workflow
#
# The original's inner workflow was a plain `def` that called an `async` step without
# `await` — a sync function cannot await. Our copy of that slip calls the async
# `fib_child_step` (shown above) from a sync workflow and uses the answer as a number,
# as `ex5.py` did with its step's result (`return 2 * result`):

# %%
show_source(workflow_in_step.sync_workflow_calling_async_step)

# %% [markdown]
# Watch what DBOS does with it: nothing. Decorated with `@DBOS.step()`, an `async def`
# step is still an async function: called without `await`, it returns a coroutine
# object and its body does not run (`decorate_step` in `dbos/_core.py`). The workflow
# then fails on its own arithmetic:

# %%
sync_handle = lab.client.enqueue(fc.enqueue_options("sync_workflow_calling_async_step"), 20)
wait_for(lambda: fc.is_finished(sync_handle), 30, "the sync workflow to finish")
sync_status = sync_handle.get_status()
print(f"{sync_status.status}: {type(sync_status.error).__name__}: {sync_status.error}")
print("step rows:", lab.client.list_workflow_steps(sync_handle.workflow_id),
      "| step bodies run:", lab.executions(sync_handle.workflow_id))
never_awaited = wait_for(
    lambda: [line for line in children_server.logs().splitlines() if "never awaited" in line], 30,
    "Python's warning about the coroutine")[0]
print("server log:", never_awaited[never_awaited.index("RuntimeWarning"):])

# %% [markdown]
# **Check:** `ERROR` with a `TypeError` about a coroutine — Python's error, not DBOS's;
# DBOS recorded no step and the step body never ran; the only other trace is Python's
# "never awaited" warning in the server log. **The fix** is `fib_child_workflow` above: `async def`, and `await` the step.

# %%
assert sync_status.status == "ERROR" and isinstance(sync_status.error, TypeError)
assert "'coroutine'" in str(sync_status.error)
assert lab.client.list_workflow_steps(sync_handle.workflow_id) == []
assert lab.executions(sync_handle.workflow_id) == []
assert "coroutine 'fib_child_step' was never awaited" in never_awaited

# %% [markdown]
# ## Going deeper: 3 · Async done right, from the client too
#
# Async workflows whose steps mostly *wait* share one event loop in the server: with
# `worker_concurrency=3` the server runs three of them at once, their waits
# overlapping. A client can be async too: `enqueue_async` returns an async handle, and
# `fc.results_as_completed_async` awaits all handles and yields each result as soon as
# it is there.
#
# We enqueue three `fib_child_workflow` jobs whose step waits 0.6 s, 0.2 s and 0.4 s.

# %%
import time

jobs = [(30, 0.6), (31, 0.2), (32, 0.4)]
started = time.perf_counter()
async_handles = [
    await lab.client.enqueue_async(fc.enqueue_options("fib_child_workflow"), n, seconds)
    for n, seconds in jobs
]
arrivals = []
async for workflow_id, result in fc.results_as_completed_async(lab.client, async_handles):
    arrivals.append({"workflow_id": workflow_id[:8], "result": result,
                     "arrived after (s)": time.perf_counter() - started})
async_wall = time.perf_counter() - started
table(arrivals)

# %% [markdown]
# The step rows DBOS recorded show the three waits overlapping on the one server:

# %%
from fiblab import plots

async_rows = fc.step_rows(lab.client, [h.workflow_id for h in async_handles])
names = {h.workflow_id: f"fib({n}), {s} s" for h, (n, s) in zip(async_handles, jobs)}
plots.plot_timeline([{**r, "lane": names[r["workflow_id"]]} for r in async_rows],
                    lane_key="lane", label_key=None, title="Three async workflows, one server",
                    ylabel="workflow");

# %% [markdown]
# **Check:** results arrived shortest wait first, not in enqueue order; the three steps
# overlapped, and the whole batch took less than four fifths of its waits one after the
# other (the numbers of this run are printed below).

# %%
waits_in_a_row = sum(seconds for _n, seconds in jobs)
print(f"the batch took {async_wall:.2f} s; its waits one after the other: {waits_in_a_row:.1f} s, "
      f"the longest alone: {max(seconds for _n, seconds in jobs):.1f} s")
assert [a["result"] for a in arrivals] == [1346269, 2178309, 832040]  # fib(31), fib(32), fib(30)
assert timeline.max_concurrency(timeline.workflow_spans(async_rows)) == 3
assert async_wall < 0.8 * waits_in_a_row

# %% [markdown]
# ## Going deeper: Exercise — fix `ex4.py` yourself
#
# Below is a server module with the completion-order bug of section 1, written the way
# the original wrote it; the cell writes it to `my_orders.py` in this notebook's scratch
# folder. `network_wait(position)` is this exercise's network: it waits as the *server
# process's* network does (the `FIBLAB_NETWORK` variable we start the server with), so a
# restarted server can have another one. `note_step(n, crash_at)` SIGKILLs the server
# once, in the step for `crash_at`.

# %%
# %%writefile {MY_MODULE}
"""My server module for notebook 08's exercise: ex4.py's fetches, to be fixed."""

import asyncio
import sys

from dbos import DBOS

from fiblab.crashes import note_step
from fiblab.fib import fib_iterative
from fiblab.server import main
from fiblab.variants.completion_order import network_wait


@DBOS.step()
async def my_fetch_step(n: int, crash_at: int | None = None) -> tuple[int, int]:
    note_step(n, crash_at)  # SIGKILLs this server once, in the step for crash_at
    return n, fib_iterative(n)


async def fetch(position: int, n: int, crash_at: int | None) -> tuple[int, int]:
    await network_wait(position)  # the network: it differs from process to process
    return await my_fetch_step(n, crash_at)


@DBOS.workflow()
async def my_fetch_workflow(ns: list[int], crash_at: int | None = None) -> list[tuple[int, int]]:
    # The bug to fix: steps start, and are numbered, in the order the waits end.
    results = []
    for next_done in asyncio.as_completed([fetch(j, n, crash_at) for j, n in enumerate(ns)]):
        results.append(await next_done)
    return results


if __name__ == "__main__":
    sys.exit(main(prog="python -m my_orders"))


# %% [markdown]
# The check runs your module alone on `my_queue` (the children server stops here): it
# starts it with the first run's network, enqueues `my_fetch_workflow` for fib(20) …
# fib(25) with a crash at fib(23), and restarts it, same executor id, with the reversed
# network. Section 1's buggy result fails the same test:

# %%
def start_my_server(network):
    return lab.start_server("my-orders-server", module="my_orders", env={
        "PYTHONPATH": str(lab.scratch), "FIBLAB_NETWORK": ",".join(map(str, network))})


def crash_and_recover_my_server():
    """Run my_orders.py through a crash at fib(23) and a restart; return what DBOS recorded."""
    server = start_my_server(FIRST_RUN)
    handle = lab.client.enqueue(fc.enqueue_options("my_fetch_workflow"), NS, 23)
    crash_code = server.wait(30)
    start_my_server(AFTER_RESTART)
    wait_for(lambda: fc.is_finished(handle), 30, "your recovered workflow to finish")
    return crash_code, handle.get_status()


def complete_and_in_order(result):
    return result is not None and [tuple(pair) for pair in result] == EXPECTED


assert children_server.stop() == 0
assert not complete_and_in_order(order_result)  # section 1's design fails this test

# %% [markdown]
# **Your task:** in the cell below, write `my_orders.py` again — the line
# `%%writefile {MY_MODULE}`, then the module above — with `my_fetch_workflow` changed
# (add steps or workflows as you like) so that it returns every `(n, fib(n))` once, in
# the order of `ns`, also when the server dies in the middle and a restarted server,
# with a different network, recovers it. Section 1 showed one way; section 2 gives you
# another (a child workflow per n). Every fetch must still go through `my_fetch_step(n,
# crash_at)`, so that the server dies at fib(23). The check after it says what it found.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %%writefile {MY_MODULE}
"""My server module for notebook 08's exercise: steps started in the order of ns."""

import asyncio
import sys

from dbos import DBOS

from fiblab.crashes import note_step
from fiblab.fib import fib_iterative
from fiblab.server import main
from fiblab.variants.completion_order import network_wait


@DBOS.step()
async def my_fetch_step(n: int, crash_at: int | None = None) -> tuple[int, int]:
    note_step(n, crash_at)  # SIGKILLs this server once, in the step for crash_at
    return n, fib_iterative(n)


@DBOS.step()
async def my_wait_and_fetch_step(position: int, n: int, crash_at: int | None) -> tuple[int, int]:
    await network_wait(position)  # the wait happens inside a step that is already numbered
    return await my_fetch_step(n, crash_at)  # in a step, a step is a plain call (dbos/_core.py)


@DBOS.workflow()
async def my_fetch_workflow(ns: list[int], crash_at: int | None = None) -> list[tuple[int, int]]:
    # gather starts the steps in the order of ns, before any of them waits: step k is
    # always the fetch of ns[k], whatever the network does.
    calls = [my_wait_and_fetch_step(j, n, crash_at) for j, n in enumerate(ns)]
    return list(await asyncio.gather(*calls))


if __name__ == "__main__":
    sys.exit(main(prog="python -m my_orders"))

# %% tags=["exercise-check"]
from fiblab.exercises import ExerciseIncomplete
from fiblab.spawn import ProcessFailed
from fiblab.waiting import WaitTimeout

try:
    my_crash_code, my_status = crash_and_recover_my_server()
except (ProcessFailed, WaitTimeout) as error:
    raise ExerciseIncomplete(f"your server or its workflow failed: {error}") from None
print("exit code:", my_crash_code, "| status:", my_status.status, "| result:", my_status.output)
if my_crash_code != -signal.SIGKILL:
    raise ExerciseIncomplete("the server was not killed at fib(23): send every fetch "
                             "through my_fetch_step(n, crash_at)")
if my_status.status != "SUCCESS":
    raise ExerciseIncomplete(f"your workflow ended {my_status.status}: {my_status.error!r}")
if not complete_and_in_order(my_status.output):
    raise ExerciseIncomplete(f"wrong results {my_status.output} (expected {EXPECTED}): start "
                             "the steps, or child workflows, in the order of ns, and write the "
                             "module in the cell above")
print("Right: all six results, once each, in input order, through a crash and a recovery.")

# %% [markdown]
# ## Summary
#
# * DBOS matches a recovered workflow's steps to its checkpoints **by number**, in the
#   order the steps start, comparing only their names (read in `dbos/_sys_db.py`). Code
#   that starts steps in an order decided by timing — steps started as network waits
#   end, or step coroutines handed straight to `asyncio.as_completed` — can end
#   `SUCCESS` with wrong results after a recovery, and nothing raises.
# * Start steps in an order fixed by the inputs (`asyncio.gather`, or tasks created in
#   order) and do the waiting inside the steps.
#
# Going deeper:
#
# * A step renamed between a crash and its recovery is refused: the recovered workflow
#   ends `ERROR` with `DBOSUnexpectedStepError` naming the recorded and the expected step.
# * Or give each item a child workflow (section 2's fix); `DBOS.asyncio_wait` records
#   which tasks finished, when you need "first finished".
# * A workflow cannot be started inside a step: on dbos 3.4 that is a bare
#   `AssertionError`. Start child workflows from workflow code; the start is a step of
#   the parent, so a recovered parent finds its child.
# * A sync workflow cannot await an async step: called without `await`, the step never
#   runs and DBOS records nothing — Python's `TypeError` is the only error.
# * Async workflows that wait overlap on one server (`worker_concurrency` > 1); an async
#   client enqueues with `enqueue_async` and takes results as they complete.
#
# **Next:** [09 · Scaling out](09_scaling_out.ipynb) — 1, 2 and 4 servers against a
# process pool, the polling trade-off, and servers on several machines.

# %%
lab.close()  # stops every server this notebook started
