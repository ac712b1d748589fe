# %% [markdown]
# # 04 · Client handles: a client drives remote servers
#
# **You will be able to:** send work to DBOS servers from a `DBOSClient` that has none
# of the workflow code, follow each request through its **workflow handle** (status,
# result), collect results **as they complete** from two servers (DBOS's `wait_first`,
# measured against the original's `asyncio.as_completed` in database queries), ask the system
# database what ran where with `list_workflows`, and say what happens to a request for
# a workflow no server knows.
#
# Going deeper: the synchronous API and bad input, DBOS's `dbos` command-line tool, a
# deduplication id, and a timeout or a cancel.
#
# **Prerequisites:** [03 · Servers](03_servers.ipynb).
#
# **Time:** about 20 minutes.

# %% [markdown]
# ## Setup: a client and one server
#
# This is the original experiment's `client.py` side. The client is a plain
# `DBOSClient` on the system database: it knows the queue name `my_queue` and the
# workflow name `fibonacci_workflow`, nothing else. This is the code the servers run:

# %%
from fiblab.app import compute_fibonacci, fibonacci_workflow
from fiblab.display import show_source

show_source(compute_fibonacci, fibonacci_workflow)

# %% [markdown]
# `Lab` registers `my_queue` in the fresh database before any server starts: one
# workflow at a time per server, polled every 0.1 s (where such settings live:
# [02 · Queues](02_queues.ipynb)). The database is a SQLite file in this notebook's
# scratch folder; we print its path relative to this notebook's folder.

# %%
import asyncio
import os
import time

from fiblab import client as fc
from fiblab import config, timeline
from fiblab.display import table
from fiblab.lab import Lab
from fiblab.worker_thread import in_worker_thread


def relative_url(url):
    """The database URL to show: a SQLite file relative to this folder (PostgreSQL: masked)."""
    path = config.sqlite_path(url)
    return f"sqlite:///{os.path.relpath(path)}" if path else config.mask_url(url)


lab = Lab.fresh("04_client_handles")
client = lab.client  # a plain dbos.DBOSClient
server_1 = lab.start_server("server-1")
my_queue = await client.retrieve_queue_async(config.QUEUE_NAME)
print(type(client).__name__, "on", relative_url(lab.database_url))
print(f"{my_queue.name}: worker_concurrency={await my_queue.get_worker_concurrency_async()}, "
      f"polled every {await my_queue.get_polling_interval_sec_async()} s")

# %% [markdown]
# ## One request, one handle
#
# `enqueue_async` writes the request into the queue and returns a **handle** at once:
# the workflow's ID plus methods to ask about it. Watch the status move from
# `ENQUEUED` (waiting) to `SUCCESS`, and which executor ran it. The result comes back
# through the database; `polling_interval_sec=0.01` makes the handle look often
# (DBOS's default is once a second).

# %%
handle = await client.enqueue_async(fc.enqueue_options(), 27)
first_look = await handle.get_status()
result = await handle.get_result(polling_interval_sec=0.01)
final = await handle.get_status()
print("workflow id:  ", handle.workflow_id)
print("right after:  ", first_look.status)
print("result:       ", result)
print("finally:      ", final.status, "on", final.executor_id)

# %% [markdown]
# **Check:** the result is `(27, fib(27), seconds)`, the workflow ended `SUCCESS`, and
# the only server ran it.

# %%
from fiblab.fib import fib_iterative

assert result[:2] == (27, fib_iterative(27))
assert final.status == "SUCCESS" and final.executor_id == "server-1"

# %% [markdown]
# ## Two servers, one queue: the original screenshot
#
# The original experiment ran two servers and an async client in three terminals. Here
# it is in one cell. `server-2` joins `server-1` on `my_queue`; each runs **one
# workflow at a time** (`worker_concurrency=1`). The client enqueues a mix of sizes and
# prints each result **as it completes** — not in the order it was sent — with the
# server that computed it. This is the pattern (from `fiblab.client`):

# %%
server_2 = lab.start_server("server-2")
show_source(fc.results_as_completed_async)

# %% [markdown]
# Why both servers must get work, whatever the machine is doing: a server that is
# running a workflow takes no other (its concurrency is 1). The batch starts with its
# largest jobs, `fib(31)` and `fib(30)`, so while one server computes the first, the
# other server's next poll (every 0.1 s) finds the second one waiting.
#
# Watch for: results arriving out of order, the two lanes in the timeline (drawn from
# the step rows DBOS recorded), and the batch's wall time against **one plain process**
# (this kernel, no DBOS) computing the same twelve numbers one after the other.

# %%
from statistics import median

from fiblab import plots
from fiblab.fib import fib_recursive
from fiblab.machine import usable_cores

ns = [31, 30, 29, 30, 29, 28, 30, 27, 29, 26, 29, 28]
load_before = os.getloadavg()[0]  # the last minute's load, before the batch
started = time.perf_counter()
handles = await fc.enqueue_many_async(client, ns)
by_id = {h.workflow_id: h for h in handles}
completed = []
async for workflow_id, outcome in fc.results_as_completed_async(client, handles):
    n, value, seconds = outcome
    executor = (await by_id[workflow_id].get_status()).executor_id
    completed.append({"n": n, "fib(n)": value, "seconds": seconds, "executor": executor})
    print(f"{time.perf_counter() - started:5.2f} s  fib({n}) = {value:<8} "
          f"computed in {seconds:.3f} s on {executor}")
wall = time.perf_counter() - started

step_rows = fc.step_rows(client, list(by_id))
plots.plot_timeline([{**row, "label": row["output"][0]} for row in step_rows],
                    title="Two servers share my_queue (bar label: n)")

plain_started = time.perf_counter()
for n in ns:
    fib_recursive(n)
plain = time.perf_counter() - plain_started
ratio = plain / wall
verdict = ("faster than" if ratio > 1.05 else "slower than" if ratio < 0.95
           else "about as fast as")
print(f"two servers: {wall:.2f} s; one plain process, the same jobs: {plain:.2f} s. "
      f"The servers were {verdict} one plain process ({ratio:.2f}x its throughput).")
cores = usable_cores()
print(f"load average before the batch: {load_before:.1f} on {cores} cores"
      + (" — other programs were competing for the CPUs, so these times are disturbed"
         if load_before > cores - 0.5 else ""))

# %% [markdown]
# **Check:** every result is right, both executors did work, and at some moment both
# were computing at once (their step rows overlap in time).
#
# The two times above are something to read, not to check: they depend on the machine,
# on what else runs on it, and on the size of the jobs. Why are two servers not twice as
# fast as one plain process, with jobs this short often not faster at all? Between two
# jobs a server computes nothing: it records the
# outcome, waits for its next poll of the queue (every 0.1 s) and claims the next
# workflow. The cell below measures those gaps from the step rows; with jobs as short
# as these (their times are printed above) they are a large share. **Check** that too: the typical gap is a poll wait,
# not nothing (over 20 ms), and the gaps are more than half of the time a server sat
# idle during the batch (the rest: the start, and the end, where one server finishes
# alone). Notebook 09 measures throughput with more servers and longer batches.

# %%
from collections import Counter

by_server = {}
for row in sorted(step_rows, key=lambda row: row["start"]):
    by_server.setdefault(row["executor_id"], []).append(row)
gaps = [b["start"] - a["end"] for rows in by_server.values() for a, b in zip(rows, rows[1:])]
busy = sum(row["end"] - row["start"] for row in step_rows)
span = max(row["end"] for row in step_rows) - min(row["start"] for row in step_rows)
idle = 2 * span - busy  # lane time in which a server computed nothing
print(f"gaps between two jobs on one server: {len(gaps)}, median {1000 * median(gaps):.0f} ms, "
      f"{sum(gaps):.2f} s in all = {sum(gaps) / idle:.0%} of the idle lane time")
work_per_executor = Counter(row["executor_id"] for row in step_rows)
print("jobs per server:", dict(work_per_executor))

assert sorted(r["n"] for r in completed) == sorted(ns)
assert all(r["fib(n)"] == fib_iterative(r["n"]) for r in completed)
assert set(work_per_executor) == {"server-1", "server-2"}
assert timeline.max_concurrency(timeline.workflow_spans(step_rows)) == 2
assert median(gaps) > 0.02 and sum(gaps) > 0.5 * idle

# %% [markdown]
# ## As they complete: one query for all, or one per handle
#
# The original `client.py` waited like this: one coroutine per handle, each awaiting its
# own `handle.get_result()`, handed to `asyncio.as_completed`:
#
# ```python
# tasks = [get_result_with_context(n, handle) for n, handle in workflow_handles]
# for task in asyncio.as_completed(tasks):
#     original_n, workflow_id, result = await task
# ```
#
# Every `get_result` polls **its own** workflow: N handles waiting, N database queries
# per polling interval. DBOS 3.4's `DBOSClient.wait_first` (and `wait_first_async`) asks
# once per interval which of the N has finished, in one query (read in `dbos/_sys_db.py`:
# `check_first_workflow_id`), and returns that handle. `fc.results_as_completed_async`
# above is built on it, adding what DBOS lacks: a timeout, and a pause that grows while
# nothing finishes.
#
# We measure both, one batch each of the same four jobs, polling every 0.01 s: a SQLAlchemy hook on the
# client's engine (`client._sys_db.engine`, the one a `DBOSClient` queries through, read
# in `dbos/_client.py`) counts every statement the client sends while it waits.

# %%
from sqlalchemy import event

WAIT_NS = [27, 26, 27, 26]


class StatementCounter:
    """Counts the statements an engine sends, per way of waiting, while `way` is set."""

    def __init__(self, engine):
        self.counts, self.way = Counter(), None
        event.listen(engine, "before_cursor_execute", self.seen)

    def seen(self, *_args):
        if self.way is not None:
            self.counts[self.way] += 1


statements = StatementCounter(client._sys_db.engine)


async def original_as_completed(handles):
    """The original client.py: asyncio.as_completed over each handle's get_result."""
    async def result_of(handle):
        return handle.workflow_id, await handle.get_result(polling_interval_sec=0.01)
    return [await next_done for next_done in asyncio.as_completed([result_of(h) for h in handles])]


async def with_wait_first(handles):
    """DBOS's wait_first_async: one query per poll for all the handles still waiting."""
    pending, done = list(handles), []
    while pending:
        first = await client.wait_first_async(pending, polling_interval_sec=0.01)
        pending.remove(first)
        done.append((first.workflow_id, await first.get_result(polling_interval_sec=0.01)))
    return done


waiting_costs = {}  # way: (statements, seconds, results)
for way in (original_as_completed, with_wait_first):
    way_handles = await fc.enqueue_many_async(client, WAIT_NS)
    statements.way, way_started = way.__name__, time.perf_counter()
    way_results = await way(way_handles)
    statements.way, way_seconds = None, time.perf_counter() - way_started
    waiting_costs[way.__name__] = (statements.counts[way.__name__], way_seconds, way_results)
for name, (count, seconds, _results) in waiting_costs.items():
    print(f"{name:22s} {count:4d} statements in {seconds:.2f} s of waiting = "
          f"{count / seconds:5.0f} per second")
per_second = {name: count / seconds for name, (count, seconds, _r) in waiting_costs.items()}
print(f"wait_first sent {per_second['original_as_completed'] / per_second['with_wait_first']:.1f}x "
      f"fewer statements per second of waiting on {len(WAIT_NS)} handles")

# %% [markdown]
# **Check:** both ways got all four results right, and waiting with `wait_first` sent
# fewer statements per second of waiting, and fewer in all. (With four handles the
# original polls four workflows per interval; the gap grows with the number waiting:
# `benchmarks/README.md` measures 10 and 50.)

# %%
for name, (_count, _seconds, way_results) in waiting_costs.items():
    assert sorted(r[:2] for _wid, r in way_results) == sorted(
        (n, fib_iterative(n)) for n in WAIT_NS), name
assert per_second["with_wait_first"] < per_second["original_as_completed"]
assert waiting_costs["with_wait_first"][0] < waiting_costs["original_as_completed"][0]

# %% [markdown]
# ## What ran where: `list_workflows`
#
# Everything above is in the system database, so the client can ask about it later,
# without the handles. `fc.workflow_rows` reads the status rows (inputs, outputs,
# executor); `list_workflows_async` filters on the database side — by workflow ids,
# queue, status and executor.

# %%
summary = [
    {"n": row["input"]["args"][0], "status": row["status"], "executor": row["executor_id"],
     "fib(n)": row["output"][1], "seconds": row["output"][2]}
    for row in fc.workflow_rows(client, list(by_id))
]
table(sorted(summary, key=lambda r: r["n"]))

# %%
batch_ids = list(by_id)
batch_done = await client.list_workflows_async(
    workflow_ids=batch_ids, queue_name=config.QUEUE_NAME, status="SUCCESS")
batch_per_server = {
    eid: len(await client.list_workflows_async(workflow_ids=batch_ids, status="SUCCESS",
                                               executor_id=eid))
    for eid in ("server-1", "server-2")
}
print(f"the batch on {config.QUEUE_NAME}, SUCCESS: {len(batch_done)} of {len(batch_ids)}")
print("SUCCESS per executor:", batch_per_server)

# %% [markdown]
# **Check:** the database agrees with the client: all twelve of the batch are `SUCCESS`
# on `my_queue`, and its per-executor counts are the jobs each server's step rows show.

# %%
assert len(batch_done) == len(ns)
assert batch_per_server == {eid: work_per_executor[eid] for eid in batch_per_server}

# %% [markdown]
# ## Limits: a workflow name no server knows
#
# A client sends **names and arguments**, nothing else. The server looks the name up
# among the workflows *it* registered.
#
# **A name the server does not know is not an error for the client.** Enqueueing
# succeeds; a server takes the request, cannot find the function, writes the reason to
# *its own log* and records no outcome: the workflow stays `PENDING` under that server
# (read in `dbos/_core.py`: `execute_dequeued_workflow` raises
# `DBOSWorkflowFunctionNotFoundError` before anything is written). Nothing moves it on
# by itself, and a client waiting on it waits forever. Here with a typo; we watch its
# status for half a second after the server's log line (five of each server's polls):

# %%
from fiblab.waiting import wait_for

typo = await client.enqueue_async(fc.enqueue_options("fibonaci_workflow"), 20)
not_registered = "fibonaci_workflow is not a registered workflow function"
wait_for(lambda: any(not_registered in s.logs() for s in (server_1, server_2)), 10,
         "a server to report the unknown name")
print(next(line for s in (server_1, server_2) for line in s.logs().splitlines()
           if not_registered in line))
TYPO_WATCH_SECONDS = 0.5
typo_seen, watch_started = [], time.monotonic()
while time.monotonic() - watch_started < TYPO_WATCH_SECONDS:
    typo_seen.append(await typo.get_status())
    await asyncio.sleep(0.1)
watched = time.monotonic() - watch_started
print(f"{len(typo_seen)} looks over {watched:.1f} s: "
      f"{sorted({s.status for s in typo_seen})} on {sorted({s.executor_id for s in typo_seen})}")

# %% [markdown]
# **Check:** every look over that half second found it `PENDING` on the server that took
# it. The way out is to cancel it, which the client can do:

# %%
assert {s.status for s in typo_seen} == {"PENDING"}
assert len({s.executor_id for s in typo_seen}) == 1 and watched >= TYPO_WATCH_SECONDS
await client.cancel_workflow_async(typo.workflow_id)
assert (await typo.get_status()).status == "CANCELLED"

# %% [markdown]
# Workflows that are methods of classes are the other limit: `EnqueueOptions` has
# `class_name` and `instance_name` for them, and section 2 of
# [07 · Class-based designs](07_class_based_variants.ipynb) shows which of them a
# client can start.

# %% [markdown]
# ## Going deeper: the synchronous API, and bad input
#
# In a script you would call `client.enqueue(...)` and `handle.get_result(...)`
# directly. You may do that in a cell too (notebooks 03 and 07–09 do); the call just
# blocks the cell's event loop while it waits. fiblab's helpers run the long waits on a
# helper thread (`in_worker_thread`), so DBOS has no reason to warn. `fc.enqueue_many` checks
# every input first, then enqueues one workflow per `n`.

# %%
sync_handles = fc.enqueue_many(client, [10, 20, 25])
sync_results = [fc.wait_result(h) for h in sync_handles]
sync_statuses = [in_worker_thread(h.get_status).status for h in sync_handles]
print(sync_results)
print(sync_statuses)

# %%
assert [r[:2] for r in sync_results] == [(10, 55), (20, 6765), (25, 75025)]
assert sync_statuses == ["SUCCESS"] * 3

# %% [markdown]
# There are two places to catch a bad `n`. **In the client**, before anything is
# written: `fc.enqueue_many` validates the whole list first, so one bad value means
# nothing is enqueued. We try a negative number, a float, a string and an `n` above
# the recursive maximum (35), each next to a good value, and show the error we get.

# %%
count_before_refusals = len(await client.list_workflows_async())
refused = []
for bad in (-1, 2.5, "30", 36):
    try:
        fc.enqueue_many(client, [20, bad])
        refused.append({"input": repr(bad), "error": "nothing raised!"})
    except (TypeError, ValueError) as error:
        refused.append({"input": repr(bad), "error": f"{type(error).__name__}: {error}"})
count_after_refusals = len(await client.list_workflows_async())
table(refused)

# %% [markdown]
# **Check:** every bad value was refused with a message naming it, and not a single
# workflow was written (not even the good `20` next to it).

# %%
assert len(refused) == 4
assert all(r["error"].split(":")[0] in ("TypeError", "ValueError") for r in refused)
assert all(r["input"].strip("'") in r["error"] for r in refused)
assert count_after_refusals == count_before_refusals

# %% [markdown]
# **In the server.** A client that skips the check — here a bare `client.enqueue_async`
# with `-3` and `"x"` — gets its request accepted: the database cannot know what `n`
# means. The workflow validates `n` first thing, so the bad request ends `ERROR` with a
# readable message, which the handle raises. The server is not hurt: the next request
# is served as before, by the same two processes.

# %%
servers = (server_1, server_2)
pids_before = [s.pid for s in servers]
bad_handles = [await client.enqueue_async(fc.enqueue_options(), bad) for bad in (-3, "x")]
server_errors = []
for bad_handle in bad_handles:
    try:
        await bad_handle.get_result(polling_interval_sec=0.01)
    except Exception as error:  # the workflow's own exception, re-raised by the handle
        server_errors.append(error)
bad_statuses = [await h.get_status() for h in bad_handles]
for error, status in zip(server_errors, bad_statuses):
    print(f"{status.status} on {status.executor_id}: {type(error).__name__}: {error}")

next_handle = await client.enqueue_async(fc.enqueue_options(), 22)
next_result = await next_handle.get_result(polling_interval_sec=0.01)
print("next request:", next_result, "on", (await next_handle.get_status()).executor_id)

# %%
assert [s.status for s in bad_statuses] == ["ERROR", "ERROR"]
assert "got -3" in str(server_errors[0]) and "'x'" in str(server_errors[1])
assert next_result[:2] == (22, fib_iterative(22))
assert all(s.alive for s in servers) and [s.pid for s in servers] == pids_before

# %% [markdown]
# ## Going deeper: the same rows, read by the `dbos` command-line tool
#
# The `dbos` package installs a command-line program, `dbos`, that needs nothing but the
# system database URL. `dbos workflow list -s URL` prints the workflows it finds there as
# JSON (at most ten unless you pass `-l`), and `dbos workflow steps ID -s URL` the step
# rows of one workflow. It knows nothing about fiblab: it reads what the servers wrote.
# We run both on this notebook's database (the program from this environment's
# `.venv/bin`; we print the URL relative to this folder, a password masked) and parse
# what they print.

# %%
import json
import sys
from pathlib import Path

from IPython.display import display

DBOS_CLI = Path(sys.executable).parent / "dbos"  # the `dbos` command of this environment


async def dbos_cli(*args):
    """Run `dbos ARGS -s <this notebook's database>`; return the JSON it prints, parsed."""
    print("$ dbos", *args, "-s", relative_url(lab.database_url))
    process = await asyncio.create_subprocess_exec(
        DBOS_CLI, *args, "-s", lab.database_url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"dbos {' '.join(args)} exited {process.returncode}: {err.decode()}")
    return json.loads(out)


one_id = handles[0].workflow_id
listed, one_steps = await asyncio.gather(  # two programs at once: each takes a second to start
    dbos_cli("workflow", "list", "-l", "100"), dbos_cli("workflow", "steps", one_id))
print(f"{len(listed)} workflows listed; the last six:")
display(table([{"workflow_id": w["workflow_id"][:8], "name": w["name"], "status": w["status"],
                "executor": w["executor_id"], "input": w["input"]["args"]}
               for w in listed][-6:]))
print(f"the steps of {one_id[:8]}:")
display(table([{k: step[k] for k in ("function_id", "function_name", "output")}
               for step in one_steps]))

# %% [markdown]
# **Check:** the command-line tool lists exactly the workflows the client sees, each with
# the same status and executor; the twelve of the two-server batch are `SUCCESS` on the
# server whose step rows we plotted; and the one workflow's steps are one
# `compute_fibonacci` whose recorded output is the result its handle returned.

# %%
cli_view = {w["workflow_id"]: (w["status"], w["executor_id"]) for w in listed}
client_view = {w.workflow_id: (w.status, w.executor_id)
               for w in await client.list_workflows_async(load_input=False, load_output=False)}
assert cli_view == client_view
ran_on = {row["workflow_id"]: row["executor_id"] for row in step_rows}
assert all(cli_view[wid] == ("SUCCESS", ran_on[wid]) for wid in by_id)
one_result = await handles[0].get_result(polling_interval_sec=0.01)
assert [(s["function_name"], s["output"]) for s in one_steps] == [
    ("compute_fibonacci", list(one_result))]

# %% [markdown]
# ## Going deeper: at most one at a time, with a deduplication id
#
# A client that timed out, crashed, or is simply run again sends the same request a
# second time. Your own workflow id makes that harmless — the same id is one workflow,
# computed once ([01 · Same workflow ID](01_step_workflow.ipynb#Same-workflow-ID,-no-second-computation)
# shows it; `fc.enqueue_options(workflow_id=…)` passes one through a client).
#
# **A deduplication id** guards a *queue*, and only while the workflow holding it is
# waiting or running: a second enqueue with the same `deduplication_id` on `my_queue` is
# refused with `DBOSQueueDeduplicatedError`, and nothing is written. When the first one
# ends, DBOS clears its deduplication id (read `_sys_db.py`: every update that records an
# outcome sets `deduplication_id=None`), so the same id is free again. Use it for "at
# most one of these at a time", and a workflow id for "this one, once". (With
# `duplication_policy="return-existing"` in the options, the second enqueue gets the
# first one's handle instead of the error: `dbos/_enqueue_options.py`.)

# %%
from dbos import error as dbos_error

REPORT = fc.enqueue_options(deduplication_id="nightly-report")
count_before_reports = len(await client.list_workflows_async(load_input=False,
                                                             load_output=False))
report = await client.enqueue_async(REPORT, 31)
try:
    await client.enqueue_async(REPORT, 31)  # while the first is queued or running
    dedup_refused = None
except dbos_error.DBOSQueueDeduplicatedError as refusal:
    dedup_refused = refusal
attached = await client.enqueue_async({**REPORT, "duplication_policy": "return-existing"}, 31)
status_after_refusal = (await report.get_status()).status
report_result = await report.get_result(polling_interval_sec=0.01)
later_report = await client.enqueue_async(REPORT, 31)  # the first has finished
later_result = await later_report.get_result(polling_interval_sec=0.01)
reports_added = len(await client.list_workflows_async(load_input=False,
                                                      load_output=False)) - count_before_reports
print("second send refused:", type(dedup_refused).__name__, "| the first was", status_after_refusal,
      "| return-existing got", "the first's handle" if attached.workflow_id == report.workflow_id
      else "a new workflow")
print("after the first finished:", later_result, "| workflows added:", reports_added)

# %% [markdown]
# **Check:** the repeat with the same deduplication id was refused while the first was
# still `ENQUEUED` or `PENDING`, and with `return-existing` it got the first one's handle
# instead; once the first had finished the same id was accepted as a new workflow — two
# workflows in all, both right.

# %%
assert isinstance(dedup_refused, dbos_error.DBOSQueueDeduplicatedError)
assert status_after_refusal in ("ENQUEUED", "PENDING")
assert attached.workflow_id == report.workflow_id
assert later_report.workflow_id != report.workflow_id and reports_added == 2
assert report_result[:2] == later_result[:2] == (31, fib_iterative(31))

# %% [markdown]
# ## Going deeper: a timeout, or cancel it
#
# Two ways to stop a workflow from the client, both ending in the status `CANCELLED`:
#
# * **`workflow_timeout`** (seconds, in the enqueue options). The clock starts when a
#   server takes the workflow off the queue: that is when DBOS writes its
#   `workflow_deadline_epoch_ms` (read `_sys_db.py`, "set the deadline on dequeue"). A
#   background job of the DBOS processes, about once a second, marks every workflow
#   past its deadline `CANCELLED` (`cancel_timed_out_workflows`, run from
#   `_workflow_commands.py`).
# * **`cancel_workflow(id)`**: `CANCELLED` at once.
#
# Neither stops a step that is already running (a synchronous one; an async step can opt
# in to being interrupted with `@DBOS.step(preemptible=True)`). The workflow finds out
# when it starts its next step (DBOS reads the workflow's status before each step) and
# goes no further. Its checkpoints stay, so `resume_workflow` could carry it on later —
# a timed-out one with a fresh timeout, which starts again at its next dequeue. (Those two
# asides are read in the dbos source, not shown here: `preemptible` in `dbos/_dbos.py`,
# the cleared deadline in `resume_workflow` of `dbos/_sys_db.py`.)
#
# We send two copies of a job too long to wait for — `fibonacci_steps_workflow(60)` at
# 0.1 s per step, about six seconds — one with a 0.3 s timeout; the other we cancel after
# its third step. Watch the statuses and how many steps each ran.

# %%
LONG_JOB = fc.enqueue_options("fibonacci_steps_workflow")
timed = await client.enqueue_async({**LONG_JOB, "workflow_timeout": 0.3}, 60, step_seconds=0.1)
stopped = await client.enqueue_async(LONG_JOB, 60, step_seconds=0.1)
lab.wait_steps(stopped.workflow_id, 3)
await client.cancel_workflow_async(stopped.workflow_id)
stopped_status = (await stopped.get_status()).status  # straight after the call
stopped_steps = len(lab.executions(stopped.workflow_id))
timed_handle = client.retrieve_workflow(timed.workflow_id)
wait_for(lambda: fc.is_finished(timed_handle), 10, "the timed workflow to end")
timed_status = await timed.get_status()
timed_steps = len(lab.executions(timed.workflow_id))
await asyncio.sleep(0.3)  # three steps' time: a workflow still running would show it
steps_later = [len(lab.executions(h.workflow_id)) for h in (timed, stopped)]
try:
    await timed.get_result(polling_interval_sec=0.01)
    awaited = None
except Exception as error:
    awaited = error
clock_started = timed_status.workflow_deadline_epoch_ms / 1000 - 0.3
first_step_at = lab.executions(timed.workflow_id)[0]["at"]
print(f"timed:   {timed_status.status} after {timed_steps} steps; timeout "
      f"{timed_status.workflow_timeout_ms} ms, its clock started "
      f"{first_step_at - clock_started:.3f} s before the first step")
print(f"stopped: {stopped_status} after {stopped_steps} steps")
print("steps 0.3 s later:", steps_later, "| get_result raises", type(awaited).__name__)

# %% [markdown]
# **Check:** both ended `CANCELLED` long before their 59 steps, the cancelled one at once;
# neither ran more than the step in flight afterwards; the timeout was recorded as
# 300 ms, and its clock started before the first step and less than 0.3 s before it (the
# workflow got its time to run); and waiting on a cancelled workflow raises.

# %%
assert timed_status.status == stopped_status == "CANCELLED"
assert timed_status.workflow_timeout_ms == 300
assert clock_started <= first_step_at < clock_started + 0.3
assert timed_steps < 59 and stopped_steps < 59
assert steps_later[0] <= timed_steps + 1 and steps_later[1] <= stopped_steps + 1
assert type(awaited).__name__ == "DBOSAwaitedWorkflowCancelledError"

# %% [markdown]
# ## Going deeper: exercise
#
# Enqueue `fib(29)` six times (`await client.enqueue_async(fc.enqueue_options(), 29)`)
# and keep the six handles in a list `exercise_handles`. Print the results as they
# complete (`fc.results_as_completed_async`), then ask the database with
# `client.list_workflows_async(workflow_ids=[...])` how many of them each executor ran,
# and keep that as a dict (or `Counter`) `ran_per_executor`, e.g.
# `{"server-1": 3, "server-2": 3}`. The check looks at both names, and at the database.

# %% tags=["solution"] jupyter={"source_hidden": true}
exercise_handles = [await client.enqueue_async(fc.enqueue_options(), 29) for _ in range(6)]
async for exercise_id, exercise_outcome in fc.results_as_completed_async(client, exercise_handles):
    print(exercise_id[:8], exercise_outcome)
exercise_rows = await client.list_workflows_async(
    workflow_ids=[h.workflow_id for h in exercise_handles])
ran_per_executor = Counter(w.executor_id for w in exercise_rows)
print(ran_per_executor)

# %% tags=["exercise-check"]
from fiblab.exercises import ExerciseIncomplete, require

require(globals(), "exercise_handles", "ran_per_executor",
        task="enqueue fib(29) six times as `exercise_handles` and count what each executor "
             "ran in `ran_per_executor`")
if len(exercise_handles) != 6:
    raise ExerciseIncomplete(f"`exercise_handles` holds {len(exercise_handles)} "
                             "handles: enqueue fib(29) exactly six times")
recorded = await client.list_workflows_async(
    workflow_ids=[h.workflow_id for h in exercise_handles])
if not all(tuple(w.input["args"]) == (29,) for w in recorded):
    raise ExerciseIncomplete("every one of the six should be fibonacci_workflow(29)")
if not all(w.status == "SUCCESS" for w in recorded):
    raise ExerciseIncomplete("not all six have finished yet: wait for their results "
                             "before you count")
if dict(ran_per_executor) != dict(Counter(w.executor_id for w in recorded)):
    raise ExerciseIncomplete(f"`ran_per_executor` is {dict(ran_per_executor)}, but the "
                             "database says otherwise: count `executor_id` over "
                             "list_workflows_async(workflow_ids=…)")
print("Right:", dict(ran_per_executor))

# %% [markdown]
# ## Summary
#
# * A `DBOSClient` needs only the system database URL, a queue name and a workflow
#   name. `enqueue`/`enqueue_async` return a handle: `workflow_id`, `get_status()`,
#   `get_result()` (pass a small `polling_interval_sec`).
# * Results can be collected as they complete: `wait_first` asks for all waiting
#   handles in one query per poll, where `asyncio.as_completed` over `get_result` polls
#   each handle on its own (this run's counts are printed above). The system database keeps every
#   status, so `list_workflows` answers later questions by ids, queue, status and
#   executor — and so does `dbos workflow list -s URL`, DBOS's command-line tool.
# * Two servers with `worker_concurrency=1` share a queue. Between two jobs each server
#   waits for its next poll, so with jobs this short two servers do not double the
#   throughput of one plain process (this run's figures are printed above).
# * An unknown workflow name does not fail: the workflow sits `PENDING`, with the reason
#   only in the server's log. Cancel it.
# * Going deeper: validate in the client to refuse bad input before anything is
#   written (the workflow validates again, so a bad request ends `ERROR`); a
#   deduplication id refuses a second request while the first is queued or running;
#   `workflow_timeout` and `cancel_workflow` both end a workflow `CANCELLED`.
#
# **Next:** [05 · Crash and recovery](05_crash_and_recovery.ipynb) — kill servers in the
# middle of a workflow and watch DBOS finish it.

# %%
lab.close()  # stops every server this notebook started
