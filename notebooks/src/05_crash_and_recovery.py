# %% [markdown]
# # 05 · Crash and recovery: durable execution, seen
#
# **You will be able to:** crash a DBOS server with a real SIGKILL in the middle of a
# workflow and show, step by step, that a restart under the same executor id picks the
# workflow up after its last checkpoint; recognise the crash loop DBOS ends with
# `MAX_RECOVERY_ATTEMPTS_EXCEEDED`; explain why a server with a *different* executor id
# does not recover a dead server's work, and get it going again; and avoid the
# application-version trap, in dequeuing and in recovery.
#
# Going deeper: a segfault seen through a progress bar, step retries, fixing a
# crash-looping workflow and resuming it with DBOS's `dbos` command-line tool,
# `fork_workflow`, and what resuming a workflow that is still running does.
#
# **Prerequisites:** [03 · Servers](03_servers.ipynb) and
# [04 · Client handles](04_client_handles.ipynb).
#
# **Time:** about 20 minutes.

# %% [markdown]
# ## The workflow we will crash
#
# `fibonacci_steps_workflow(n)` computes fib(n) as one **step per index** 2..n, so a
# crash in the middle leaves a trail of checkpoints behind. Every step execution also
# appends a line to a side file, so we can count how often each step *really* ran,
# checkpoints or not. This is the code the server runs:

# %%
from fiblab.app import fibonacci_index_step, fibonacci_steps_workflow
from fiblab.display import show_source

show_source(fibonacci_index_step, fibonacci_steps_workflow)

# %% [markdown]
# One server, `server-1`, and a client (`Lab` registered `my_queue` in the fresh
# database, so the server polls it from the moment it starts).

# %%
import asyncio
import time
from collections import Counter

from fiblab import client as fc
from fiblab import config, plots
from fiblab.fib import fib_iterative
from fiblab.lab import Lab
from fiblab.waiting import wait_for, watch_async
from fiblab.worker_thread import in_worker_thread

lab = Lab.fresh("05_crash_and_recovery")
client = lab.client
server = lab.start_server("server-1")
STEPS = fc.enqueue_options("fibonacci_steps_workflow")
N, STEP_SECONDS = 25, 0.02  # fib(25) as 24 steps of 0.02 s each


def runs_per_step(workflow_id):
    """How many times each step index really executed (from the side file)."""
    return Counter(e["step"] for e in lab.executions(workflow_id))


WATCH_SECONDS = 0.3  # how long we watch where the claim is that nothing happens


def polls(seconds):
    """About how many times a server polls the queue in ``seconds`` (every 0.1 s)."""
    return round(seconds / config.QUEUE_POLLING_INTERVAL_SEC)


# %% [markdown]
# ## A SIGKILL in the middle of a workflow
#
# We send `fibonacci_steps_workflow(25)` with 0.02 s per step, wait until ten steps
# have run, and kill the server. Watch the exit code (−9: killed by signal 9), the
# status DBOS still shows, and how many step checkpoints it holds.

# %%
killed = await lab.enqueue_steps_async(N, wait_steps=10, step_seconds=STEP_SECONDS)
kill_time = time.time()
kill_code = server.kill()
kill_checkpoints = await client.list_workflow_steps_async(killed.workflow_id)
last_done = kill_checkpoints[-1]["function_id"] + 1  # step id k computes index k + 1
print(f"exit code {kill_code}; status {(await killed.get_status()).status}; "
      f"{len(kill_checkpoints)} checkpoints, the last for index {last_done}")

# %%
assert kill_code == -9
assert (await killed.get_status()).status == "PENDING"
assert len(kill_checkpoints) >= 9 and last_done == len(kill_checkpoints) + 1

# %% [markdown]
# Now start a server with the **same executor id**. At launch DBOS looks for `PENDING`
# workflows of its own executor id and application version, and puts them back on
# their queue (read in `dbos/_dbos.py`, `launch`, and `get_pending_workflows` in
# `dbos/_sys_db.py`). The workflow function runs again from the top, but every step
# that has a checkpoint returns its recorded output instead of running. Watch which
# step the new process executes first, and how long that took.

# %%
restart_time = time.time()
server.restart()
ready_time = time.time()
kill_result = await killed.get_result(polling_interval_sec=0.01)
kill_runs = runs_per_step(killed.workflow_id)
first_resumed = next(e for e in lab.executions(killed.workflow_id) if e["pid"] == server.pid)
recovery_seconds = first_resumed["at"] - restart_time
print("result:", kill_result)
print(f"first step run by the new process: index {first_resumed['step']} "
      f"(last checkpoint: {last_done})")
print(f"restart -> first resumed step: {recovery_seconds:.2f} s "
      f"({first_resumed['at'] - ready_time:.2f} s after the server was ready)")
print("steps that ran twice:", sorted(s for s, c in kill_runs.items() if c > 1))

# %% [markdown]
# **Check:** the result is right; the new process started at the step right after the
# last checkpoint; every checkpointed step ran exactly once; the only step that may
# have run twice is the one in flight at the kill (it had started, but its checkpoint
# was never written — steps are *at-least-once*).

# %%
assert kill_result == (N, fib_iterative(N))
assert first_resumed["step"] == last_done + 1
assert sorted(kill_runs) == list(range(2, N + 1))
assert all(kill_runs[i] == 1 for i in range(2, last_done + 1))
assert {s for s, c in kill_runs.items() if c > 1} <= {last_done + 1}
assert max(kill_runs.values()) <= 2
assert recovery_seconds < 10  # a process start, not a timeout (the benchmark measures it)

# %% [markdown]
# ## Going deeper: a segfault, through a progress bar and on a timeline
#
# A segfault is what a buggy C extension does to a Python process: no exception, no
# `finally`, no cleanup — the process is gone. This time the step itself crashes, at
# index 12 (`crash_at=12, crash_mode="segfault"`), so we know exactly which step was in
# flight. fiblab's crash is deterministic: once per workflow (a marker file in the
# scratch folder survives the crash), by reading address 0:

# %%
from fiblab.crashes import crash_process

show_source(crash_process)

# %% [markdown]
# Above, you stared at `[*]` through the crash. This time the workflow also reports its
# progress: with `progress=True` it writes the index it has reached to a DBOS **stream**
# (`DBOS.write_stream`) from the workflow body, after every 8 steps and always after the
# last, and closes the stream at the end. Only every 8th, because each write is one more
# database transaction, about what a step's own checkpoint costs (`benchmarks/README.md`,
# section 15, measures it); and which ones depends on `n` alone, never on the clock,
# because a recovered run must make the same writes in the same order as the first:

# %%
from fiblab.app import progress_positions
from fiblab.display import show_excerpt

print(f"fib({N}) writes the positions {progress_positions(N)}")
show_excerpt(fibonacci_steps_workflow, "positions = set", "DBOS.close_stream")

# %% [markdown]
# What DBOS guarantees for such a write, read in `dbos/_sys_db.py`:
#
# * **From a workflow** (`write_stream_from_workflow`): in ONE transaction, DBOS first
#   looks for an operation recorded at the workflow's next step id; if there is one (a
#   recovered workflow replaying the write) it writes nothing; else it writes the stream
#   value *and* records the operation, named `DBOS.writeStream`. Exactly once, in the
#   workflow's order.
# * **From inside a step** (`write_stream_from_step`): the value only, with no record of
#   its own. A step that wrote and then died before its checkpoint runs again and writes
#   again: at least once, like the step.
#
# The bar below reads the stream on a background thread (`fiblab.progress.watch_progress`,
# DBOS's `read_stream`), so it moves while the cell waits for the crash and restarts the
# server. The segfault at index 12 comes after the first position (9) and before the
# second (17): watch the bar stop at 8 steps and go on from there after the restart, and
# which step runs twice.

# %%
from fiblab.progress import expected_positions, stream_positions, watch_progress

segv = await client.enqueue_async(STEPS, N, crash_at=12, crash_mode="segfault",
                                  step_seconds=STEP_SECONDS, progress=True)
bar = watch_progress(client, segv.workflow_id, N - 1, description=f"fib({N})")
wait_for(lambda: not server.alive, 30, "the server to crash")
segv_code, segv_status = server.returncode, (await segv.get_status()).status
segv_operations = await client.list_workflow_steps_async(segv.workflow_id)
segv_checkpoints = [s for s in segv_operations if s["function_name"] not in fc.STREAM_OPERATIONS]
bar_written = sum(s["function_name"] == "DBOS.writeStream" for s in segv_operations)
wait_for(lambda: len(bar.positions) == bar_written, 30, "the reader to catch up")
print(f"exit code {segv_code}; status {segv_status}; {len(segv_checkpoints)} step checkpoints")
print(server.tail(1))

segv_restart_time, bar_restarted_at = time.time(), time.monotonic()
server.restart()
segv_ready_time = time.time()
await bar.wait_async(60)
segv_result = await segv.get_result(polling_interval_sec=0.01)
segv_runs = runs_per_step(segv.workflow_id)
segv_first = next(e for e in lab.executions(segv.workflow_id) if e["pid"] == server.pid)
bar_stream = stream_positions(client, segv.workflow_id)
bar_pause = bar.arrivals[bar_written] - bar.arrivals[bar_written - 1]
bar_stood = bar.positions[bar_written - 1]
print(f"The bar stood at {bar_stood - 1}/{N - 1} steps (index {bar_stood}) "
      f"for {bar_pause:.2f} s: the segfault, then server-1's restart "
      f"({bar.arrivals[bar_written] - bar_restarted_at:.2f} s from the restart command "
      f"to the next position); then it went on to {bar.steps_done}/{N - 1}. "
      f"Positions read: {bar.positions}.")
print("result:", segv_result, "| steps that ran twice:",
      sorted(s for s, c in segv_runs.items() if c > 1))

# %% [markdown]
# **Check:** killed by signal 11 (SIGSEGV) with the steps of indices 2–11 checkpointed
# (each with its Fibonacci number as output); after the restart step 12 ran a second
# time, every other step exactly once, and the result is right.

# %%
import signal

assert segv_code == -signal.SIGSEGV and segv_status == "PENDING"
assert [s["output"] for s in segv_checkpoints] == [fib_iterative(i) for i in range(2, 12)]
assert segv_first["step"] == 12
assert segv_runs[12] == 2 and all(segv_runs[i] == 1 for i in range(2, N + 1) if i != 12)
assert segv_result == (N, fib_iterative(N))

# %% [markdown]
# **Check:** when the process died the bar held exactly the positions written before
# index 12 (just 9), and no position after that arrived before the restart command; and,
# read again from the database once the workflow ended, the stream holds every position
# the workflow writes (`expected_positions(25)`: 9, 17, 25) exactly once and in order —
# the write of 9, replayed by the recovered workflow, found its record and wrote nothing.
# Each write is one `DBOS.writeStream` operation.

# %%
print(f"The stream holds {len(bar_stream)} positions, {bar_stream[0]}..{bar_stream[-1]}; "
      f"{len(set(bar_stream))} different ones.")
assert bar.positions[:bar_written] == [i for i in expected_positions(N) if i < 12]
assert bar.arrivals[bar_written] >= bar_restarted_at
assert bar.positions == expected_positions(N)
assert bar_stream == expected_positions(N)
bar_operations = Counter(s["function_name"]
                         for s in await client.list_workflow_steps_async(segv.workflow_id))
assert bar_operations["DBOS.writeStream"] == len(expected_positions(N))
assert bar_operations["DBOS.closeStream"] == 1

# %% [markdown]
# Both crashes, drawn from the step rows DBOS recorded (millisecond timestamps), one
# lane per process: each step row belongs to the process that wrote its checkpoint (the
# side file says which; `plots.lanes_by_process` does the matching). `server-1` ran as
# three processes one after the other, numbered in the order they started; the numbers
# under the bars are the first and last Fibonacci index each process completed. The red
# lines mark the crash, the restart command and the moment the restarted server
# reported ready. (Run cell by cell, the gap between crash and restart is your reading
# time.)

# %%
import matplotlib.pyplot as plt

both = lab.executions(killed.workflow_id) + lab.executions(segv.workflow_id)
pids = list(dict.fromkeys(e["pid"] for e in sorted(both, key=lambda e: e["at"])))
segv_time = min(e["at"] for e in lab.executions(segv.workflow_id) if e["step"] == 12)
fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5), layout="constrained")
for ax, crashed, markers, title in [
    (top, killed, [(kill_time, "SIGKILL"), (restart_time, "restart"), (ready_time, "ready")],
     "Crash 1: the server is killed"),
    (bottom, segv, [(segv_time, "segfault"), (segv_restart_time, "restart"),
                    (segv_ready_time, "ready")],
     "Crash 2: step 12 segfaults"),
]:
    rows = fc.step_rows(client, [crashed.workflow_id])
    plots.plot_timeline(plots.lanes_by_process(rows, lab.executions(crashed.workflow_id), pids),
                        lane_key="lane", ax=ax, markers=markers, title=title,
                        ylabel="server-1 process")

# %% [markdown]
# ## A step that crashes every time: `MAX_RECOVERY_ATTEMPTS_EXCEEDED`
#
# What if the *process* dies in the same step every time (the original `ex2.py`)? Each
# restart recovers the workflow, replays it to that step, and crashes again. DBOS
# counts every start of a workflow; after `max_recovery_attempts` recoveries it stops
# and marks the workflow `MAX_RECOVERY_ATTEMPTS_EXCEEDED`. The default is high:

# %%
import inspect

from dbos import DBOS

print("DBOS default max_recovery_attempts:",
      inspect.signature(DBOS.workflow).parameters["max_recovery_attempts"].default)

# %% [markdown]
# A hundred restarts would take minutes, so fiblab has a small workflow for this with
# `max_recovery_attempts=1`; step 5 crashes the process on every execution. A
# **supervisor** loop restarts the server whenever it dies, until the workflow reaches a
# final status (with a bound, in case it never does):

# %%
from fiblab.failing_workflows import CRASH_LOOP_MAX_RECOVERY_ATTEMPTS, crash_loop_workflow

show_source(crash_loop_workflow)

# %%
FINAL = fc.FINISHED_STATUSES  # every status a workflow ends in


def status_of(workflow_id):
    return fc.workflow_rows(client, [workflow_id])[0]["status"]


looping = await client.enqueue_async(fc.enqueue_options("crash_loop_workflow"), 8, 5)
restarts = 0
for _ in range(10):  # the bound: far more than DBOS needs
    wait_for(lambda: not server.alive or status_of(looping.workflow_id) in FINAL, 30,
             "a crash or a final status")
    if status_of(looping.workflow_id) in FINAL:
        break
    restarts += 1
    server.start()  # not waiting for "ready": it may crash again before it says so
looping_status = await looping.get_status()
gave_up_line = wait_for(
    lambda: [line for line in server.logs().splitlines() if "maximum of" in line], 30,
    "the server to log that it gave up")[0]
looping_runs = runs_per_step(looping.workflow_id)
print(f"{restarts} restarts; status {looping_status.status}; "
      f"recovery_attempts {looping_status.recovery_attempts}")
print("executions per step:", dict(sorted(looping_runs.items())))
print(gave_up_line[gave_up_line.index("DBOS Error"):])

# %% [markdown]
# How the three numbers above fit together: `recovery_attempts` counts every start of
# the workflow, the first one included — 1 (the first run) + 2 (one per restart) = 3.
# DBOS lets a workflow start `max_recovery_attempts` + 1 times (the first run and one
# recovery; its message's "maximum of 1" counts the recoveries). The second restart
# makes the third start, one too many: DBOS marks the workflow
# `MAX_RECOVERY_ATTEMPTS_EXCEEDED` without running it, and that server stays up.
#
# **Check:** step 5 ran 1 + 1 = 2 times (the first run and one recovery), steps 2–4
# once (checkpointed), nothing after 5; 2 restarts, `recovery_attempts` 3 and the
# message's maximum of 1, as above; the last server is still alive. Waiting on the
# workflow raises.

# %%
assert looping_status.status == "MAX_RECOVERY_ATTEMPTS_EXCEEDED"
assert looping_runs == Counter({2: 1, 3: 1, 4: 1, 5: 1 + CRASH_LOOP_MAX_RECOVERY_ATTEMPTS})
assert restarts == CRASH_LOOP_MAX_RECOVERY_ATTEMPTS + 1 and server.alive
assert looping_status.recovery_attempts == 1 + restarts
assert f"maximum of {CRASH_LOOP_MAX_RECOVERY_ATTEMPTS} " in gave_up_line
try:
    await looping.get_result(polling_interval_sec=0.01)
    looping_raised = None
except Exception as error:
    looping_raised = error
print(type(looping_raised).__name__)
assert "MaxRecoveryAttemptsExceeded" in type(looping_raised).__name__

# %% [markdown]
# ## Going deeper: step retries are not recovery
#
# A step that *raises* is a different story from a process that *dies*. With
# `retries_allowed=True` DBOS retries the step in the same process, waiting
# `interval_seconds`, then `backoff_rate` times longer each time, at most
# `max_attempts` attempts in all; after the last one the step fails with
# `DBOSMaxStepRetriesExceeded`. No restart, no recovery attempt. `flaky_step` fails on
# its first `failures` attempts (counted in the side file, so the pattern is fixed):

# %%
from fiblab.failing_workflows import (
    FLAKY_BACKOFF_RATE,
    FLAKY_INTERVAL_SEC,
    FLAKY_MAX_ATTEMPTS,
    flaky_step,
    flaky_workflow,
)

show_source(flaky_step, flaky_workflow)

# %%
FLAKY = fc.enqueue_options("flaky_workflow")
recovers = await client.enqueue_async(FLAKY, 20, 2)  # fails twice, then succeeds
gives_up = await client.enqueue_async(FLAKY, 20, 9)  # fails more often than allowed
recovered_result = await recovers.get_result(polling_interval_sec=0.01)
try:
    await gives_up.get_result(polling_interval_sec=0.01)
except Exception as error:
    gave_up_error = error


def pauses(workflow_id):
    at = [e["at"] for e in lab.executions(workflow_id)]
    return [round(b - a, 3) for a, b in zip(at, at[1:])]


print("fails twice: ", recovered_result, "| pauses between attempts:", pauses(recovers.workflow_id))
print("fails 9 times:", type(gave_up_error).__name__, "| pauses:", pauses(gives_up.workflow_id))
print(gave_up_error)

# %% [markdown]
# (DBOS's message says "retries" but counts attempts: 4 = the first try + 3 retries.)
#
# **Check:** 3 attempts and then success; 4 attempts (the maximum) and then an `ERROR`
# workflow; pauses of at least 0.03, 0.06, 0.12 s; all attempts in one process; and each
# workflow has a single checkpoint for the step — retries are not steps.

# %%
gave_up_pauses = pauses(gives_up.workflow_id)
assert recovered_result == (20, 6765) and len(lab.executions(recovers.workflow_id)) == 3
assert len(lab.executions(gives_up.workflow_id)) == FLAKY_MAX_ATTEMPTS
assert type(gave_up_error).__name__ == "DBOSMaxStepRetriesExceeded"
assert (await gives_up.get_status()).status == "ERROR"
assert all(p >= 0.9 * FLAKY_INTERVAL_SEC * FLAKY_BACKOFF_RATE**i
           for i, p in enumerate(gave_up_pauses))
assert {e["pid"] for e in lab.executions(gives_up.workflow_id)} == {server.pid}
assert [len(await client.list_workflow_steps_async(h.workflow_id))
        for h in (recovers, gives_up)] == [1, 1]

# %% [markdown]
# ## Going deeper: fix the bug, then resume with the `dbos` command-line tool
#
# The crash-looping workflow is not lost. Its checkpoints for steps 2–4 are still in the
# database; `MAX_RECOVERY_ATTEMPTS_EXCEEDED` only means DBOS will not start it again by
# itself. Once the bug is fixed, we ask for one more start. In fiblab the bug can be
# fixed without touching code: a step told to crash every time stops crashing once a
# file `bug-fixed` is in the scratch folder (our stand-in for deploying a fixed version):

# %%
from fiblab.crashes import BUG_FIXED_FILE, should_crash

show_source(should_crash)

# %% [markdown]
# Then we resume the workflow with DBOS's command-line tool, run from this cell on the
# notebook's own database: `dbos workflow resume ID -s URL` (the program from this
# environment's `.venv/bin`; we print the URL relative to this folder, a password
# masked). Resuming sets the workflow back to `ENQUEUED` and its recovery count to 0
# (read `resume_workflows` in `dbos/_sys_db.py`: `recovery_attempts=0`); the server
# that takes it off the queue counts that start, as it counts every start. The command
# has no queue option (read `resume` in `dbos/cli/cli.py`), so the workflow goes on
# DBOS's internal queue, which every DBOS process polls about once a second. Watch
# `recovery_attempts`, and which steps run.

# %%
import os
import subprocess
import sys
from pathlib import Path

DBOS_CLI = Path(sys.executable).parent / "dbos"  # the `dbos` command of this environment


def relative_url(url):
    """The database URL to show: a SQLite file relative to this folder (PostgreSQL: masked)."""
    path = config.sqlite_path(url)
    return f"sqlite:///{os.path.relpath(path)}" if path else config.mask_url(url)


attempts_before = (await looping.get_status()).recovery_attempts
(lab.scratch / BUG_FIXED_FILE).touch()  # the fix is deployed
print("$ dbos workflow resume", looping.workflow_id, "-s", relative_url(lab.database_url))
resume_command = subprocess.run(
    [DBOS_CLI, "workflow", "resume", looping.workflow_id, "-s", lab.database_url],
    capture_output=True, text=True, timeout=60)
print("exit code", resume_command.returncode, resume_command.stderr.strip())
fixed_result = await asyncio.wait_for(looping.get_result(polling_interval_sec=0.01), 30)
fixed_status = await looping.get_status()
fixed_runs = runs_per_step(looping.workflow_id)
print(f"result {fixed_result}; status {fixed_status.status} on {fixed_status.executor_id}; "
      f"recovery_attempts {attempts_before} before, {fixed_status.recovery_attempts} after")
print("executions per step:", dict(sorted(fixed_runs.items())))

# %% [markdown]
# **Check:** the command succeeded; the workflow ended `SUCCESS` with fib(8) = 21;
# `recovery_attempts` went from 3 to 1 (reset to 0, plus this start); and only step 5
# and the steps after it ran — once each — while steps 2–4 came from their checkpoints.

# %%
assert resume_command.returncode == 0
assert fixed_result == (8, fib_iterative(8)) and fixed_status.status == "SUCCESS"
assert attempts_before == 1 + restarts and fixed_status.recovery_attempts == 1
assert fixed_runs == looping_runs + Counter({5: 1, 6: 1, 7: 1, 8: 1})

# %% [markdown]
# ## Recovery is per executor id
#
# The server above came back under its **own** executor id, so it found its workflows.
# A server with a new id — a replacement that comes back with a generated id — or
# another live server never picks up a `PENDING` workflow whose server died: start-up
# recovery looks only for the starting server's own id (read in `dbos/_dbos.py`,
# `launch`), and queue polling takes only `ENQUEUED` rows. ([03 · Servers](03_servers.ipynb)
# met this once; this is where it is explained.)
#
# We let each server run two workflows at a time — a queue setting the client can change
# on the fly ([02 · Queues](02_queues.ipynb) explains why that works) — send two in one
# database transaction (`fc.enqueue_together`), so that one poll of `server-1` takes
# both, and kill `server-1` while both run. Then we start `server-new`, its replacement
# under a new id, and `server-2`, a second live server, and watch the two workflows for
# a few polls of the queue by each new server (every 0.1 s; the output says how long).

# %%
await client.register_queue_async(
    config.QUEUE_NAME, worker_concurrency=2,
    polling_interval_sec=config.QUEUE_POLLING_INTERVAL_SEC,
)
STRANDED_STEP_SECONDS = 0.03  # a little slower: on a busy machine the two start apart
stranded_ids = [h.workflow_id for h in fc.enqueue_together(
    client, [(STEPS, [N], {"step_seconds": STRANDED_STEP_SECONDS})] * 2)]
stranded = [await client.retrieve_workflow_async(w) for w in stranded_ids]
wait_for(lambda: all(len(lab.executions(w)) >= 5 for w in stranded_ids), 30,
         "both workflows to be under way")
server.kill()
executions_at_kill = {w: len(lab.executions(w)) for w in stranded_ids}
others = lab.start_servers(["server-new", "server-2"], worker_concurrency=2)


async def stranded_rows():
    return {(w.status, w.executor_id)
            for w in await client.list_workflows_async(workflow_ids=stranded_ids)}


stranded_seen, stranded_watched = await watch_async(stranded_rows, time.monotonic(), WATCH_SECONDS)
print(f"seen over {stranded_watched:.2f} s, about {polls(stranded_watched)} polls by each new "
      "server:", stranded_seen)

# %% [markdown]
# **Check:** both new servers are up, and for the whole watch the two workflows were
# `PENDING` under the dead `server-1`, and ran no step after the kill.

# %%
assert all(s.alive for s in others)
assert stranded_seen == {("PENDING", "server-1")}
assert {w: len(lab.executions(w)) for w in stranded_ids} == executions_at_kill

# %% [markdown]
# Two ways out. **`resume_workflow(id)`** sets a `PENDING` (or cancelled, or given-up)
# workflow back to `ENQUEUED`, its checkpoints kept; we pass `queue_name="my_queue"` so
# it is taken at the next 0.1 s poll (by default it goes on DBOS's internal queue,
# polled about once a second). Any live server takes it — the interrupted step runs
# again, the checkpointed ones do not. The other way out, **the old executor id back**,
# ends this notebook: we leave the second workflow stranded until then.

# %%
resumed_one, left_stranded = stranded
resumed_done = len(await client.list_workflow_steps_async(resumed_one.workflow_id)) + 1
resumed = await client.resume_workflow_async(resumed_one.workflow_id,
                                             queue_name=config.QUEUE_NAME)
resumed_result = await resumed.get_result(polling_interval_sec=0.01)
resumed_status = await resumed_one.get_status()
live_pids = {s.pid for s in others}
after_resume = [e for e in lab.executions(resumed_one.workflow_id) if e["pid"] in live_pids]
print(resumed_result, "on", resumed_status.executor_id,
      "| first step after resume:", after_resume[0]["step"],
      f"(last checkpoint: {resumed_done})")

# %%
resumed_runs = runs_per_step(resumed_one.workflow_id)
assert resumed_result == (N, fib_iterative(N)) and resumed_status.status == "SUCCESS"
assert resumed_status.executor_id in ("server-new", "server-2")
assert after_resume[0]["step"] == resumed_done + 1  # the interrupted step re-runs
assert all(resumed_runs[i] == 1 for i in range(2, resumed_done + 1))

# %% [markdown]
# Who recovers a dead executor's workflows in production? Here, and whenever DBOS runs
# without a management service, it is the process that starts with the dead executor's
# id (and version), or a person who resumes them. With DBOS Conductor (a
# `conductor_key` in the configuration) that changes, as read in `dbos/_dbos.py`
# (`launch`): each launch then takes a fresh random executor id and skips the start-up
# recovery above, leaving a dead executor's workflows to Conductor.

# %% [markdown]
# ## Going deeper: `fork_workflow`, and resuming a workflow that is still running
#
# `fork_workflow(id, start_step)` starts a **new** workflow with the same inputs, copies
# the original's checkpoints *before* `start_step`, and runs the rest. `start_step`
# counts DBOS step ids: step id *k* is Fibonacci index *k*+1 here. We fork the workflow
# still stranded under `server-1` from step id 4, so indices 2–4 come from checkpoints
# and 5–25 run again. We pin the fork to fiblab's application version (by default it
# would have none; the last section shows why that matters).

# %%
fork = await client.fork_workflow_async(left_stranded.workflow_id, 4,
                                        application_version=config.APP_VERSION,
                                        queue_name=config.QUEUE_NAME)
fork_result = await fork.get_result(polling_interval_sec=0.01)
fork_status = await fork.get_status()
forked_original = await left_stranded.get_status()
fork_runs = runs_per_step(fork.workflow_id)
print("fork:", fork.workflow_id[:8], fork_status.status, fork_result, "forked from",
      fork_status.forked_from[:8])
print("indices the fork ran:", min(fork_runs), "to", max(fork_runs))
print("the original:", forked_original.status, "on", forked_original.executor_id)

# %% [markdown]
# **Check:** the fork is a different workflow that ran only indices 5–25, each once,
# and got the right answer. The original is untouched: still `PENDING` under the dead
# `server-1`, not a step run since the kill. A fork does not replace its original: when
# `server-1` returns in the last section, it finishes the original too. If you fork
# instead of resuming, cancel the original, or its work is done twice.

# %%
assert fork.workflow_id != left_stranded.workflow_id
assert fork_status.forked_from == left_stranded.workflow_id
assert fork_result == (N, fib_iterative(N))
assert sorted(fork_runs) == list(range(5, N + 1)) and set(fork_runs.values()) == {1}
assert len(await client.list_workflow_steps_async(fork.workflow_id)) == N - 1  # 3 copied
assert (forked_original.status, forked_original.executor_id) == ("PENDING", "server-1")
assert len(lab.executions(left_stranded.workflow_id)) == executions_at_kill[
    left_stranded.workflow_id]

# %% [markdown]
# Resume only a workflow whose owner is known to be dead? In dbos 3.4 a resume of a
# workflow that is still running does not leave two executions running side by side. As
# read in `dbos/_sys_db.py`: the resume clears the workflow's owner (`owner_xid`), the
# server that dequeues it writes its own, and every checkpoint write first checks that
# the writer still owns the workflow (`_check_owner_txn`); the old execution's next
# write fails that check, and it stops and waits for the new owner's outcome
# (`dbos/_core.py`, "no longer owned by this execution"). The step it had in flight has
# run all the same: that one step's work is done twice. We resume a workflow five steps
# into its run, and count the executions per step:

# %%
running = await lab.enqueue_steps_async(N, wait_steps=5, step_seconds=STEP_SECONDS)
await client.resume_workflow_async(running.workflow_id, queue_name=config.QUEUE_NAME)
running_result = await running.get_result(polling_interval_sec=0.01)
running_runs = runs_per_step(running.workflow_id)
handed_over = [line for s in others for line in s.logs().splitlines()
               if running.workflow_id in line and "no longer owned by this execution" in line]
print("result:", running_result, "| steps run twice:",
      sorted(s for s, c in running_runs.items() if c > 1))
print(f"'no longer owned' log lines: {len(handed_over)}")

# %% [markdown]
# **Check:** the result is right; every step ran, at most one of them twice (the one in
# flight at the hand-over) — two executions side by side would have run every later step
# twice; and a server logged that the first execution lost ownership.

# %%
assert running_result == (N, fib_iterative(N))
assert sorted(running_runs) == list(range(2, N + 1))
assert sum(running_runs.values()) - len(running_runs) <= 1
assert len(handed_over) == 1

# %% [markdown]
# ## The application-version trap
#
# Every workflow row carries an **application version**, and DBOS remembers which
# version registered last ("latest"). A server dequeues workflows of its own version,
# plus version-less ones only if it *is* the latest version; start-up recovery takes
# only `PENDING` workflows of its own executor id **and** its own version (read in
# `dbos/_sys_db.py`, `get_pending_workflows`). DBOS's default version is a hash of the
# workflow source code, so any process with different code — like a notebook kernel
# that defines or imports workflows — is a different version. fiblab pins
# `application_version` for every process:

# %%
versions = await client.list_application_versions_async()
print("pinned:", config.APP_VERSION, "| registered so far:", [v["version_name"] for v in versions])

# %% [markdown]
# Now this kernel launches DBOS the unpinned way, on the same database, with the same
# application name — and with the dead server's executor id `server-1`, as a redeploy
# of new code under the old id would. (On SQLite the registration time has one-second
# resolution, so we first make sure a new second has begun.) Watch three things: the
# "latest" version changes; the workflow stranded under `server-1` is **not** recovered
# (it was written by version `fiblab-1`); and the kernel takes a plain, version-less
# request that the servers are no longer allowed to take.

# %%
latest_before = await client.get_latest_application_version_async()
wait_for(lambda: time.time() * 1000 >= latest_before["version_timestamp"] + 1000, 5,
         "the next second")
DBOS(config={"name": config.APP_NAME, "system_database_url": lab.database_url,
             "executor_id": "server-1", "log_level": "WARNING",
             "notification_listener_polling_interval_sec": 0.1})  # a quicker destroy()
DBOS.launch()
launched_at = time.monotonic()
kernel_version = DBOS.application_version
latest = await client.get_latest_application_version_async()
print("this kernel's version:", kernel_version, "| latest now:", latest["version_name"])

PLAIN = {"queue_name": config.QUEUE_NAME, "workflow_name": "fibonacci_workflow"}  # no version
taken = await client.enqueue_async(PLAIN, 21)
taken_result = await taken.get_result(polling_interval_sec=0.01)
taken_status = await taken.get_status()
print(taken_result, "ran on", taken_status.executor_id, "version", taken_status.app_version)


async def stranded_row():
    row = await left_stranded.get_status()
    return {(row.status, row.executor_id, row.app_version)}


stranded_now, kernel_watched = await watch_async(stranded_row, launched_at, WATCH_SECONDS)
print(f"the stranded workflow, from the kernel's launch to {kernel_watched:.2f} s after it "
      f"(about {polls(kernel_watched)} polls by each fiblab-1 server):", stranded_now)
in_worker_thread(DBOS.destroy)  # the kernel's DBOS stops, as when a kernel restarts

# %% [markdown]
# **Check:** the kernel's hashed version became the latest; the kernel, not one of our
# three servers, took the plain request and stamped it with its version; and the
# `fiblab-1` workflow under `server-1` stayed `PENDING` for the whole watch after a
# process with its executor id launched, with no step run since the kill (recovered, it
# would have gone back on `my_queue`, where our `fiblab-1` servers poll every 0.1 s).

# %%
assert kernel_version != config.APP_VERSION and latest["version_name"] == kernel_version
assert taken_status.app_version == kernel_version and taken_status.executor_id == "server-1"
assert stranded_now == {("PENDING", "server-1", config.APP_VERSION)}
assert len(lab.executions(left_stranded.workflow_id)) == executions_at_kill[
    left_stranded.workflow_id]

# %% [markdown]
# The kernel's DBOS is gone, but its version stays the latest. A plain request now
# waits forever: our servers run `fiblab-1`, which is not the latest. We send one plain
# request and one with `app_version` pinned (what `fc.enqueue_options` does), wait for
# the pinned one — the server that took it passed over the plain one, sent first — and
# watch the plain one for a few polls after we sent it.

# %%
stuck = await client.enqueue_async(PLAIN, 22)
stuck_sent = time.monotonic()
pinned = await client.enqueue_async(fc.enqueue_options(), 23)
pinned_result = await pinned.get_result(polling_interval_sec=0.01)


async def stuck_status():
    return {(await stuck.get_status()).status}


stuck_seen, stuck_watched = await watch_async(stuck_status, stuck_sent, WATCH_SECONDS)
print("pinned:", pinned_result, f"| the plain request, over {stuck_watched:.2f} s from its "
      f"enqueue (about {polls(stuck_watched)} polls by each live server), seen as:", stuck_seen)

# %%
assert pinned_result[:2] == (23, fib_iterative(23))
assert (await pinned.get_status()).executor_id in ("server-new", "server-2")
assert stuck_seen == {"ENQUEUED"}

# %% [markdown]
# The way out is to make the servers' version the latest again (restarting them does
# not help: a version's time is set once, when it is first registered). It is one
# client call, and the stuck request is then served at once. And the way out for the
# stranded workflow: `server-1` comes back with its own id **and** version, and its
# start-up recovery puts it back on `my_queue` — so **whichever server polls first**
# finishes it, not necessarily `server-1`.

# %%
await client.set_latest_application_version_async(config.APP_VERSION)
unstuck = await stuck.get_result(polling_interval_sec=0.01)
unstuck_status = await stuck.get_status()
print(unstuck, "on", unstuck_status.executor_id, "stamped with version", unstuck_status.app_version)

server.restart()
back_result = await left_stranded.get_result(polling_interval_sec=0.01)
back_status = await left_stranded.get_status()
back_runs = runs_per_step(left_stranded.workflow_id)
print("the stranded workflow:", back_result, back_status.status, "on", back_status.executor_id)

# %%
SERVERS = ("server-1", "server-new", "server-2")
assert unstuck[:2] == (22, fib_iterative(22))
assert unstuck_status.executor_id in SERVERS and unstuck_status.app_version == config.APP_VERSION
assert (await client.get_latest_application_version_async())["version_name"] == config.APP_VERSION
assert back_result == (N, fib_iterative(N)) and back_status.status == "SUCCESS"
assert sorted(back_runs) == list(range(2, N + 1))
assert sum(back_runs.values()) - len(back_runs) <= 1  # at most the step in flight at the kill

# %% [markdown]
# How fiblab avoids the trap: every fiblab process — servers, and this kernel when it
# uses `lab.launch_dbos()` — launches with the one pinned version `fiblab-1`, so no
# fiblab process moves "latest"; and fiblab's client helpers enqueue with
# `app_version="fiblab-1"`, so even after someone else's launch their requests are
# served. When you deploy new workflow code, change the pinned version on purpose — and
# let the old version's servers finish, or recover, what they started.

# %% [markdown]
# ## Going deeper: exercise
#
# Use `client.list_workflows_async` to find every workflow of this notebook that did
# **not** end in `SUCCESS`. Keep them in a list `not_ok` (the status objects it
# returns), print each one's name, status and inputs, and explain each from what you
# saw above. The check compares your list with the database.

# %% tags=["solution"] jupyter={"source_hidden": true}
not_ok = [w for w in await client.list_workflows_async() if w.status != "SUCCESS"]
for w in not_ok:
    print(f"{w.name:22s} {w.status:32s} inputs {w.input['args']}")
# flaky_workflow ERROR: 9 planned failures, 4 attempts allowed. The crash loop ended
# SUCCESS once the bug was fixed and it was resumed.

# %% tags=["exercise-check"]
from fiblab.exercises import ExerciseIncomplete, require

require(globals(), "not_ok", task="list the workflows that did not end in SUCCESS as `not_ok`")
everything = await client.list_workflows_async(load_input=False, load_output=False)
not_success = {w.workflow_id for w in everything if w.status != "SUCCESS"}
yours = {getattr(w, "workflow_id", w) for w in not_ok}
if yours - not_success:
    raise ExerciseIncomplete(f"{len(yours - not_success)} of `not_ok` ended in SUCCESS: "
                             "keep only the ones whose status is not SUCCESS")
if not_success - yours:
    raise ExerciseIncomplete(f"{len(not_success - yours)} workflow(s) that did not end "
                             "in SUCCESS are missing from `not_ok`: list every workflow of the "
                             "database")
print("Right:", sorted((w.name, w.status) for w in everything if w.workflow_id in yours))

# %% [markdown]
# ## Summary
#
# * A SIGKILL leaves the workflow `PENDING` with its checkpoints. A restart under the
#   **same executor id** (and version) re-enqueues it; checkpointed steps return their
#   recorded outputs, only the step in flight runs again. From the restart command to
#   the first resumed step takes about as long as a new Python process with DBOS takes
#   to start (printed above).
# * A step that crashes the process every time is started again at every restart, until
#   `max_recovery_attempts` runs out: `MAX_RECOVERY_ATTEMPTS_EXCEEDED`. Fix the bug,
#   then resume it.
# * Another executor id never recovers a dead server's workflow by itself. Ways out:
#   `resume_workflow` (the same workflow, checkpoints kept), or the old executor id back
#   (going deeper: `fork_workflow`, a new workflow from a chosen step).
# * Pin the application version, or a process with other code silently stops your
#   servers from taking version-less requests — and a restart under a new version does
#   not recover what the old version left `PENDING`.
#
# **Next:** [06 · The health split](06_health_split.ipynb) — a health endpoint that
# keeps answering while the worker is dead, and a supervisor that restarts it.

# %%
lab.close()  # stops every server this notebook started
