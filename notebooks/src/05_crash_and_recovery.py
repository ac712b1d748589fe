# %% [markdown]
# # 05 · Crash and recovery: durable execution, seen
#
# **You will be able to:** crash a DBOS server in the middle of a workflow — with a real
# SIGKILL and with a real segfault — and show, step by step, that a restart picks the
# workflow up after its last checkpoint; explain why a server with a *different*
# executor id does not, and use the three ways out (`resume_workflow`, `fork_workflow`,
# the old id); tell step retries from recovery attempts; and avoid the
# application-version trap.
#
# Along the way: fix a crash-looping workflow and resume it with DBOS's `dbos`
# command-line tool, and see who recovers a dead executor's work in production.
#
# **Prerequisites:** [03 · Servers](03_servers.ipynb) and
# [04 · Client handles](04_client_handles.ipynb).
#
# **Time:** about 20 minutes.

# %% [markdown]
# ## The workflow we will crash
#
# `fibonacci_steps_workflow(n)` computes fib(n) as one **step per index** 2..n, so a
# crash in the middle leaves a trail of checkpoints behind. It can crash its own
# process on purpose at step `crash_at` — for real, by SIGKILL or by reading address 0
# (a segfault) — once per workflow (a marker file in the scratch folder survives the
# crash). Every step execution also appends a line to a side file, so we can count
# how often each step *really* ran, checkpoints or not. This is the code the server runs:

# %%
from fiblab.app import crash_process, fibonacci_index_step, fibonacci_steps_workflow
from fiblab.display import show_source

show_source(fibonacci_index_step, fibonacci_steps_workflow, crash_process)

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
from fiblab.waiting import wait_for

lab = Lab.fresh("05_crash_and_recovery")
client = lab.client
server = lab.start_server("server-1")
STEPS = fc.enqueue_options("fibonacci_steps_workflow")
N, STEP_SECONDS = 25, 0.02  # fib(25) as 24 steps of 0.02 s each


def runs_per_step(workflow_id):
    """How many times each step index really executed (from the side file)."""
    return Counter(e["step"] for e in lab.executions(workflow_id))


# %% [markdown]
# ## Crash 1: SIGKILL in the middle
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
# their queue; the workflow function runs again from the top, but every step that has a
# checkpoint returns its recorded output instead of running. Watch which step the new
# process executes first, and how long that took.

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
# ## Crash 2: a segfault inside a step
#
# A segfault is what a buggy C extension does to a Python process: no exception, no
# `finally`, no cleanup — the process is gone. This time the step itself crashes, at
# index 12 (`crash_at=12, crash_mode="segfault"`), so we know exactly which step was in
# flight.

# %%
segv = await client.enqueue_async(STEPS, N, crash_at=12, crash_mode="segfault",
                                  step_seconds=STEP_SECONDS)
wait_for(lambda: not server.alive, 30, "the server to crash")
segv_code = server.returncode
segv_checkpoints = await client.list_workflow_steps_async(segv.workflow_id)
print(f"exit code {segv_code}; status {(await segv.get_status()).status}; "
      f"{len(segv_checkpoints)} checkpoints")
print(server.tail(1))

segv_restart_time = time.time()
server.restart()
segv_ready_time = time.time()
segv_result = await segv.get_result(polling_interval_sec=0.01)
segv_runs = runs_per_step(segv.workflow_id)
segv_first = next(e for e in lab.executions(segv.workflow_id) if e["pid"] == server.pid)
segv_recovery_seconds = segv_first["at"] - segv_restart_time
print("result:", segv_result, "| steps that ran twice:",
      sorted(s for s, c in segv_runs.items() if c > 1))
print(f"restart -> first resumed step: {segv_recovery_seconds:.2f} s")

# %% [markdown]
# **Check:** killed by signal 11 (SIGSEGV) with steps 2–11 checkpointed; after the
# restart step 12 ran a second time, every other step exactly once, and the result is
# right.

# %%
import signal

assert segv_code == -signal.SIGSEGV
assert [s["function_id"] + 1 for s in segv_checkpoints] == list(range(2, 12))
assert segv_first["step"] == 12
assert segv_runs[12] == 2 and all(segv_runs[i] == 1 for i in range(2, N + 1) if i != 12)
assert segv_result == (N, fib_iterative(N))

# %% [markdown]
# ## Both crashes on a timeline
#
# Drawn from the step rows DBOS recorded (millisecond timestamps), one lane per
# process: each step row belongs to the process that wrote its checkpoint (the side
# file says which; `plots.lanes_by_process` does the matching). `server-1` ran as three
# processes one after the other, numbered in the order they started, in both panels; the
# numbers under the bars are the first and last Fibonacci index each process completed.
# The red lines mark the crash, the restart command and the moment the restarted server
# reported ready: restart → ready is the time a new server process takes to start, and
# the first resumed step follows soon after. (Run cell by cell, the gap between crash
# and restart is your reading time.)

# %%
import matplotlib.pyplot as plt

both = lab.executions(killed.workflow_id) + lab.executions(segv.workflow_id)
pids = list(dict.fromkeys(e["pid"] for e in sorted(both, key=lambda e: e["at"])))
segv_time = min(e["at"] for e in lab.executions(segv.workflow_id) if e["step"] == 12)
fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5), layout="constrained")
for ax, handle, markers, title in [
    (top, killed, [(kill_time, "SIGKILL"), (restart_time, "restart"), (ready_time, "ready")],
     "Crash 1: the server is killed"),
    (bottom, segv, [(segv_time, "segfault"), (segv_restart_time, "restart"),
                    (segv_ready_time, "ready")],
     "Crash 2: step 12 segfaults"),
]:
    rows = fc.step_rows(client, [handle.workflow_id])
    plots.plot_timeline(plots.lanes_by_process(rows, lab.executions(handle.workflow_id), pids),
                        lane_key="lane", ax=ax, markers=markers, title=title,
                        ylabel="server-1 process")

# %% [markdown]
# ## Step retries are not recovery
#
# A step that *raises* is a different story from a process that *dies*. With
# `retries_allowed=True` DBOS retries the step in the same process, waiting
# `interval_seconds`, then `backoff_rate` times longer each time, at most
# `max_attempts` attempts in all; after the last one the step fails with
# `DBOSMaxStepRetriesExceeded`. `flaky_step` fails on its first `failures` attempts
# (counted in the side file, so the pattern is fixed):

# %%
from fiblab.app import FLAKY_MAX_ATTEMPTS, flaky_step, flaky_workflow

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
# workflow; pauses of at least 0.05, 0.1, 0.2 s; all attempts in one process; and each
# workflow has a single checkpoint for the step — retries are not steps.

# %%
recovered_pauses, gave_up_pauses = pauses(recovers.workflow_id), pauses(gives_up.workflow_id)
assert recovered_result == (20, 6765) and len(lab.executions(recovers.workflow_id)) == 3
assert len(lab.executions(gives_up.workflow_id)) == FLAKY_MAX_ATTEMPTS
assert type(gave_up_error).__name__ == "DBOSMaxStepRetriesExceeded"
assert (await gives_up.get_status()).status == "ERROR"
assert all(p >= 0.9 * 0.05 * 2**i for i, p in enumerate(gave_up_pauses))
assert {e["pid"] for e in lab.executions(gives_up.workflow_id)} == {server.pid}
assert [len(await client.list_workflow_steps_async(h.workflow_id))
        for h in (recovers, gives_up)] == [1, 1]

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
# `max_recovery_attempts=2`; step 5 crashes the process on every execution. A
# **supervisor** loop restarts the server whenever it dies, until the workflow reaches a
# final status (with a bound, in case it never does):

# %%
from fiblab.app import CRASH_LOOP_MAX_RECOVERY_ATTEMPTS, crash_loop_workflow

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
print(f"{restarts} restarts; status {looping_status.status}; "
      f"recovery_attempts {looping_status.recovery_attempts}")
print("executions per step:", dict(sorted(runs_per_step(looping.workflow_id).items())))
print(gave_up_line[gave_up_line.index("DBOS Error"):])

# %% [markdown]
# How the three numbers above fit together: `recovery_attempts` counts every start of
# the workflow, the first one included — 1 (the first run) + 3 (one per restart) = 4.
# DBOS lets a workflow start `max_recovery_attempts` + 1 times (the first run and two
# recoveries; its message's "maximum of 2" counts the recoveries). The third restart
# makes the fourth start, one too many: DBOS marks the workflow
# `MAX_RECOVERY_ATTEMPTS_EXCEEDED` without running it, and that server stays up.
#
# **Check:** step 5 ran 1 + 2 = 3 times (the first run and two recoveries), steps 2–4
# once (checkpointed), nothing after 5; 3 restarts, `recovery_attempts` 4 and the
# message's maximum of 2, as above; the last server is still alive. Waiting on the
# workflow raises.

# %%
looping_runs = runs_per_step(looping.workflow_id)
assert looping_status.status == "MAX_RECOVERY_ATTEMPTS_EXCEEDED"
assert looping_runs == Counter({2: 1, 3: 1, 4: 1, 5: 1 + CRASH_LOOP_MAX_RECOVERY_ATTEMPTS})
assert restarts == CRASH_LOOP_MAX_RECOVERY_ATTEMPTS + 1 and server.alive
assert looping_status.recovery_attempts == 1 + restarts
assert f"maximum of {CRASH_LOOP_MAX_RECOVERY_ATTEMPTS} " in gave_up_line
try:
    await looping.get_result(polling_interval_sec=0.01)
    raise AssertionError("get_result should have raised")
except Exception as error:
    print(type(error).__name__)
    assert "MaxRecoveryAttemptsExceeded" in type(error).__name__

# %% [markdown]
# ### Fix the bug, then resume
#
# The workflow is not lost. Its checkpoints for steps 2–4 are still in the database;
# `MAX_RECOVERY_ATTEMPTS_EXCEEDED` only means DBOS will not start it again by itself.
# Once the bug is fixed, we ask for one more start. In fiblab the bug can be fixed
# without touching code: a step told to crash every time stops crashing once a file
# `bug-fixed` is in the scratch folder (our stand-in for deploying a fixed version):

# %%
from fiblab.app import BUG_FIXED_FILE, should_crash

show_source(should_crash)

# %% [markdown]
# Then we resume the workflow with DBOS's command-line tool, run from this cell on the
# notebook's own database: `dbos workflow resume ID -s URL` (the program from this
# environment's `.venv/bin`; a password in the URL is masked in what we print). Resuming
# sets the workflow back to `ENQUEUED` and its recovery count to 0 (read
# `resume_workflows` in `dbos/_sys_db.py`: `recovery_attempts=0`); the server that takes
# it off the queue counts that start, as it counts every start. The command has no queue
# option (read `resume` in `dbos/cli/cli.py`), so the workflow goes on DBOS's internal
# queue, which every DBOS process polls about once a second. Watch `recovery_attempts`, and which steps run.

# %%
import subprocess
import sys
from pathlib import Path

DBOS_CLI = Path(sys.executable).parent / "dbos"  # the `dbos` command of this environment

attempts_before = (await looping.get_status()).recovery_attempts
(lab.scratch / BUG_FIXED_FILE).touch()  # the fix is deployed
print("$ dbos workflow resume", looping.workflow_id, "-s", config.mask_url(lab.database_url))
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
# `recovery_attempts` went from 4 to 1 (reset to 0, plus this start); and only step 5
# and the steps after it ran — once each — while steps 2–4 came from their checkpoints.

# %%
assert resume_command.returncode == 0
assert fixed_result == (8, fib_iterative(8)) and fixed_status.status == "SUCCESS"
assert attempts_before == 1 + restarts and fixed_status.recovery_attempts == 1
assert fixed_runs == looping_runs + Counter({5: 1, 6: 1, 7: 1, 8: 1})

# %% [markdown]
# ## Stranded under a dead executor id: three ways out
#
# Notebook 03 showed it (section "The killed workflow waits for its own executor id"): a
# server with a new id, or another live server, never picks up a `PENDING` workflow
# whose server died. Start-up recovery looks only for the starting server's own id, and
# queue polling only at `ENQUEUED` rows. Here we strand three workflows that way and try
# the three ways out on them.
#
# We kill `server-1` while it runs three workflows, then start `server-new` — its
# replacement under a new id, as when a container comes back with a generated id — and
# `server-2`, a second live server. To have three workflows in flight on one server we
# let it run three at a time: queue settings live in the database and every server
# re-reads them before each poll, so the client can change them on the fly. Their steps
# wait 0.04 s: on a loaded machine the three may start a few tenths of a second apart, and
# none may finish before the last one is under way.

# %%
await client.register_queue_async(
    config.QUEUE_NAME, worker_concurrency=3,
    polling_interval_sec=config.QUEUE_POLLING_INTERVAL_SEC,
)
stranded = [await client.enqueue_async(STEPS, N, step_seconds=2 * STEP_SECONDS)
            for _ in range(3)]
stranded_ids = [h.workflow_id for h in stranded]
wait_for(lambda: all(len(lab.executions(w)) >= 5 for w in stranded_ids), 30,
         "all three workflows to be under way")
server.kill()
executions_before = {w: len(lab.executions(w)) for w in stranded_ids}
others = lab.start_servers(["server-new", "server-2"], worker_concurrency=3)
stranded_now = await client.list_workflows_async(workflow_ids=stranded_ids)
print([(w.status, w.executor_id) for w in stranded_now])

# %% [markdown]
# **Check:** both new servers are up and polling, and the three workflows are still
# `PENDING` under the dead `server-1`. (The fork's check below looks again, a second or
# more later, at the two that are still waiting by then.)

# %%
assert all(runs >= 5 for runs in executions_before.values())  # all three under way
assert [(w.status, w.executor_id) for w in stranded_now] == [("PENDING", "server-1")] * 3
assert all(s.alive for s in others)

# %% [markdown]
# ### Way out 1: `resume_workflow`
#
# `resume_workflow(id)` sets a `PENDING` (or cancelled, or given-up) workflow back to
# `ENQUEUED`, with its checkpoints kept. By default it goes on DBOS's internal queue,
# which every process polls once a second; we pass `queue_name="my_queue"` so it is
# picked up at the next 0.1 s poll. Any live server takes it — the interrupted step
# runs again, the checkpointed ones do not. (`dbos workflow resume ID -s URL`, which you
# ran above, does the same without the queue option.) Resume only a workflow whose owner
# is known to be dead: resuming one that is still running starts a second execution
# beside it (DBOS's "Concurrent Executions" page).

# %%
first, second, third = stranded
second_done = len(await client.list_workflow_steps_async(second.workflow_id)) + 1
resumed = await client.resume_workflow_async(second.workflow_id, queue_name=config.QUEUE_NAME)
resumed_result = await resumed.get_result(polling_interval_sec=0.01)
resumed_status = await second.get_status()
live_pids = {s.pid: s.executor_id for s in others}
after_resume = [e for e in lab.executions(second.workflow_id) if e["pid"] in live_pids]
print(resumed_result, "on", resumed_status.executor_id,
      "| first step after resume:", after_resume[0]["step"], f"(last checkpoint: {second_done})")

# %%
resumed_runs = runs_per_step(second.workflow_id)
assert resumed_result == (N, fib_iterative(N)) and resumed_status.status == "SUCCESS"
assert resumed_status.executor_id in ("server-new", "server-2")
assert after_resume[0]["step"] == second_done + 1  # the interrupted step re-runs
assert all(resumed_runs[i] == 1 for i in range(2, second_done + 1))

# %% [markdown]
# ### Way out 2: `fork_workflow` from a chosen step
#
# `fork_workflow(id, start_step)` starts a **new** workflow with the same inputs, copies
# the original's checkpoints *before* `start_step`, and runs the rest. `start_step`
# counts DBOS step ids: step id *k* is Fibonacci index *k*+1 here. We fork the third
# workflow from step id 4, earlier than where it stopped, so indices 2–4 come from
# checkpoints and 5–25 run again. We pin the fork to fiblab's application version (by
# default it would have none; see the last section for why that matters).

# %%
fork = await client.fork_workflow_async(third.workflow_id, 4,
                                        application_version=config.APP_VERSION,
                                        queue_name=config.QUEUE_NAME)
fork_result = await fork.get_result(polling_interval_sec=0.01)
fork_status = await fork.get_status()
original_status = await third.get_status()
fork_runs = runs_per_step(fork.workflow_id)
print("fork:", fork.workflow_id[:8], fork_status.status, fork_result, "forked from",
      fork_status.forked_from[:8])
print("indices the fork ran:", min(fork_runs), "to", max(fork_runs))
print("the original:", original_status.status, "on", original_status.executor_id)

# %% [markdown]
# **Check:** the fork is a different workflow that ran only indices 5–25, each once,
# and got the right answer. The original is untouched: still `PENDING`, still owned by
# the dead `server-1`, and neither it nor the first workflow ran a single step since the
# kill, while two live servers polled the queue all along.

# %%
assert fork.workflow_id != third.workflow_id and fork_status.forked_from == third.workflow_id
assert fork_result == (N, fib_iterative(N))
assert sorted(fork_runs) == list(range(5, N + 1)) and set(fork_runs.values()) == {1}
assert len(await client.list_workflow_steps_async(fork.workflow_id)) == N - 1  # 3 copied, rest run
assert (original_status.status, original_status.executor_id) == ("PENDING", "server-1")
assert all(len(lab.executions(h.workflow_id)) == executions_before[h.workflow_id]
           for h in (first, third))

# %% [markdown]
# ### Way out 3: bring the old executor id back
#
# Finally `server-1` returns. It finds two `PENDING` workflows of its id: the first one,
# and the original of the fork. Recovery puts both back on `my_queue` — so **whichever
# server polls first** finishes them, not necessarily `server-1`. And the forked
# original runs to the end as well: a fork does not replace its original. If you fork
# instead of resuming, cancel the original (`cancel_workflow`) or its work is done twice.

# %%
server = lab.start_server("server-1", worker_concurrency=3)
back_results = [await h.get_result(polling_interval_sec=0.01) for h in (first, third)]
back_statuses = await client.list_workflows_async(workflow_ids=[first.workflow_id,
                                                                third.workflow_id])
print(back_results)
print([(w.status, w.executor_id) for w in back_statuses])
third_runs = runs_per_step(third.workflow_id)
print(f"step executions: the forked original {sum(third_runs.values())}, "
      f"the fork {sum(fork_runs.values())}: the work from index 5 on was done twice")

# %%
assert back_results == [(N, fib_iterative(N))] * 2
assert all(w.status == "SUCCESS" for w in back_statuses)
assert sorted(third_runs) == list(range(2, N + 1))  # the original finished all its steps too
assert sorted(runs_per_step(first.workflow_id)) == list(range(2, N + 1))

# %% [markdown]
# ### In production: who recovers a dead executor's workflows?
#
# Without a management service — as here — it is the process that starts with the dead
# executor's id (and the same application version), or a person who resumes or forks
# its workflows. DBOS's documentation describes the other way, **DBOS Conductor**
# (docs.dbos.dev: "Workflow Recovery" and "Distributed Recovery"): a service each DBOS
# process connects to (a `conductor_key` in its configuration; in dbos 3.4 the
# connection itself comes from the separate `dbos-enterprise` package, see
# `dbos/_enterprise.py`). When an executor's connection has been gone longer than the
# executor timeout (60 s by default), Conductor marks it dead and tells a healthy
# executor to recover its workflows. **What changes:** nobody has to bring the old
# executor id back, and recovery starts after that timeout instead of at a restart.
# **What stays the same:** the workflows, their checkpoints and statuses live in your
# system database; a recovered workflow carries on after its last checkpoint, and the
# step in flight runs again (steps are at-least-once, workflow outcomes are recorded
# once: docs.dbos.dev, "Concurrent Executions"). Conductor is not on the path the work
# takes: while it is unreachable the servers keep running workflows, and only
# recovery, observation and management wait for it.

# %% [markdown]
# ## The application-version trap
#
# Every workflow row carries an **application version**, and DBOS remembers which
# version registered last ("latest"). A server dequeues workflows of its own version,
# plus version-less ones only if it *is* the latest version. Recovery, too, only picks
# up its own version. DBOS's default version is a hash of the workflow source code, so
# any process with different code — like a notebook kernel that defines or imports
# workflows — is a different version. fiblab pins `application_version` for every
# process:

# %%
versions = await client.list_application_versions_async()
print("pinned:", config.APP_VERSION, "| registered so far:", [v["version_name"] for v in versions])

# %% [markdown]
# Now this kernel launches DBOS the unpinned way, on the same database, with the same
# application name. (On SQLite the registration time has one-second resolution, so we
# first make sure a new second has begun.) Watch the "latest" version change, and who
# takes a plain, version-less request while this kernel's DBOS is running.

# %%
latest_before = await client.get_latest_application_version_async()
wait_for(lambda: time.time() * 1000 >= latest_before["version_timestamp"] + 1000, 5,
         "the next second")
DBOS(config={"name": config.APP_NAME, "system_database_url": lab.database_url,
             "executor_id": "kernel", "log_level": "WARNING",
             "notification_listener_polling_interval_sec": 0.1})  # a quicker destroy()
DBOS.launch()
kernel_version = DBOS.application_version
latest = await client.get_latest_application_version_async()
print("this kernel's version:", kernel_version, "| latest now:", latest["version_name"])

PLAIN = {"queue_name": config.QUEUE_NAME, "workflow_name": "fibonacci_workflow"}  # no version
taken = await client.enqueue_async(PLAIN, 21)
print(await taken.get_result(polling_interval_sec=0.01), "ran on",
      (await taken.get_status()).executor_id)
fc.off_loop(DBOS.destroy)  # the kernel's DBOS stops, as when a kernel restarts

# %% [markdown]
# **Check:** the kernel's hashed version became the latest, and the kernel itself took
# the plain request — our three servers were no longer allowed to.

# %%
assert kernel_version != config.APP_VERSION and latest["version_name"] == kernel_version
assert (await taken.get_status()).executor_id == "kernel"

# %% [markdown]
# The kernel's DBOS is gone, but its version stays the latest. A plain request now
# waits forever: our servers run `fiblab-1`, which is not the latest. We send one plain
# request and one with `app_version` pinned (what `fc.enqueue_options` does), wait for
# the pinned one, then watch the plain one for half a second — five polls by each of the
# three servers, which take the pinned kind at their first poll.

# %%
stuck = await client.enqueue_async(PLAIN, 22)
pinned = await client.enqueue_async(fc.enqueue_options(), 23)
pinned_result = await pinned.get_result(polling_interval_sec=0.01)
stuck_seen = set()
watch_until = time.monotonic() + 0.5
while time.monotonic() < watch_until:
    stuck_seen.add((await stuck.get_status()).status)
    await asyncio.sleep(0.1)
print("pinned:", pinned_result, "| plain request seen as:", stuck_seen)

# %%
assert pinned_result[:2] == (23, fib_iterative(23))
SERVERS = ("server-1", "server-new", "server-2")
assert (await pinned.get_status()).executor_id in SERVERS
assert stuck_seen == {"ENQUEUED"}

# %% [markdown]
# Restarting the servers does not help (a version's time is set once, when it is first
# registered). The way out is to make the servers' version the latest again, which is
# one client call; the stuck request is then served at once:

# %%
await client.set_latest_application_version_async(config.APP_VERSION)
unstuck = await stuck.get_result(polling_interval_sec=0.01)
unstuck_status = await stuck.get_status()
print(unstuck, "on", unstuck_status.executor_id, "stamped with version", unstuck_status.app_version)

# %%
assert unstuck[:2] == (22, fib_iterative(22))
assert unstuck_status.executor_id in SERVERS and unstuck_status.app_version == config.APP_VERSION
assert (await client.get_latest_application_version_async())["version_name"] == config.APP_VERSION

# %% [markdown]
# How fiblab avoids the trap: every fiblab process — servers, and this kernel when it
# uses `lab.launch_dbos()` — launches with the one pinned version `fiblab-1`, so no
# fiblab process moves "latest"; and fiblab's client helpers enqueue with
# `app_version="fiblab-1"`, so even after someone else's launch their requests are
# served. When you deploy new workflow code, change the pinned version on purpose.

# %% [markdown]
# ## Exercise
#
# Use `client.list_workflows_async` to find every workflow of this notebook that did
# **not** end in `SUCCESS`, print each one's name, status and inputs, and explain each
# from what you saw above.

# %%
# Your code here

# %% tags=["solution"] jupyter={"source_hidden": true}
not_ok = [w for w in await client.list_workflows_async() if w.status != "SUCCESS"]
for w in not_ok:
    print(f"{w.name:22s} {w.status:32s} inputs {w.input['args']}")
assert sorted((w.name, w.status) for w in not_ok) == [
    ("flaky_workflow", "ERROR"),  # 9 planned failures, 4 attempts allowed
]  # the crash loop ended SUCCESS once the bug was fixed and it was resumed

# %% [markdown]
# ## Summary
#
# * A SIGKILL or a segfault leaves the workflow `PENDING` with its checkpoints. A
#   restart under the **same executor id** re-enqueues it; checkpointed steps return
#   their recorded outputs, only the step in flight runs again. From the restart
#   command to the first resumed step takes about as long as a new Python process with
#   DBOS takes to start (printed above).
# * Another executor id never recovers it by itself. Ways out: restart the old id,
#   `resume_workflow` (same id, checkpoints kept), `fork_workflow` (a new workflow from a
#   chosen step — the original stays `PENDING` until recovered or cancelled).
# * Step retries happen inside one process with backoff; recovery attempts count
#   process-level restarts and end in `MAX_RECOVERY_ATTEMPTS_EXCEEDED`. Fix the bug,
#   then resume (`dbos workflow resume ID -s URL`): the count starts again and the
#   workflow finishes from its checkpoints.
# * In production, DBOS Conductor can hand a dead executor's workflows to a live one;
#   without it, bring the executor id back or resume by hand.
# * Pin the application version, or a process with other code silently stops your
#   servers from taking version-less requests.
#
# **Next:** [06 · The health split](06_health_split.ipynb) — a health endpoint that
# keeps answering while the worker is dead, and a supervisor that restarts it.

# %%
lab.close()  # stops every server this notebook started
