# %% [markdown]
# # 06 · The health split: a probe that answers while the worker computes
#
# **You will be able to:** tell why the original `server2.py`'s health check says
# "healthy" while its worker is dead, run a health endpoint in a process of its own next
# to a DBOS worker, and keep the worker alive with a supervisor that restarts it under
# the same executor id — so DBOS finishes the workflow the crash interrupted.
#
# Going deeper: why the same endpoint *inside* a CPU-bound Python worker answers
# slowly, a stop that is not a crash, and the crash loop a supervisor must give up on.
#
# **Prerequisites:** [03 · Servers](03_servers.ipynb) (processes, signals) and
# [05 · Crash and recovery](05_crash_and_recovery.ipynb) (recovery per executor id).
#
# **Time:** about 15 minutes.

# %% [markdown]
# ## The original's health check: healthy while the worker is dead
#
# The original `server2.py` ran three processes: a parent that started a health server
# and a DBOS worker as two children, then waited for the health server
# (`health_process.join()`), which never ends — so it never waited for the worker. Its
# handler answered every `GET /health` with 200 and `"status": "healthy"`, without
# looking at the worker. `fiblab.variants.blind_health` has the same shape (with a free
# port instead of the fixed 8080). We start it, probe it, SIGKILL its worker, and probe
# again. (The copy of its successor's shape, for the next demonstration, starts at the
# same time: a worker takes a moment to start.)

# %%
import signal

import psutil

from fiblab.lab import Lab
from fiblab.probe import probe
from fiblab.processes import BlindHealthProcess
from fiblab.waiting import wait_for

lab = Lab.fresh("06_health_split")
blind = lab.adopt(BlindHealthProcess("blind-health", lab.database_url, lab.scratch))
loop = lab.adopt(BlindHealthProcess("parent-loop", lab.database_url, lab.scratch,
                                    "--parent-loop"))
loop.start()  # for the next demonstration: it starts while this one runs
blind.start().wait_ready()  # the worker's ready line, in the parent's log
blind_port, worker_pid = blind.port_and_worker()
blind_worker = psutil.Process(worker_pid)
assert blind_worker.ppid() == blind.pid  # the worker is its child: ours to kill
before_kill = probe(blind_port)
blind_worker.send_signal(signal.SIGKILL)
wait_for(lambda: blind_worker.status() == psutil.STATUS_ZOMBIE, 10, "the worker to die")
after_kill = probe(blind_port)
print("before the kill:", before_kill.status, before_kill.body)
print("after the kill: ", after_kill.status, after_kill.body,
      "| the worker:", blind_worker.status())

# %% [markdown]
# **Check:** after the kill the health server still answers 200 "healthy"; the worker is
# a zombie — dead, never waited for by its parent. Work sent to its queue would wait,
# while anyone who asks is told all is well.

# %%
assert before_kill.status == after_kill.status == 200
assert after_kill.body["status"] == "healthy"
assert blind_worker.status() == psutil.STATUS_ZOMBIE

# %%
assert blind.stop() == 0  # its SIGTERM handler is the only place it waits for the worker
assert not blind_worker.is_running()  # reaped at last

# %% [markdown]
# Its successor, `server3.py`, watched both children instead (once a second; our copy,
# `--parent-loop`, every 0.2 s). But its parent loop **restarts nothing**: when either
# child died, it terminated the other and exited with status 1. The zombie is gone, and
# so is the service — the health endpoint dies with the worker.

# %%
loop.wait_ready()  # started with the first demonstration
loop_port, worker_pid = loop.port_and_worker()
loop_worker = psutil.Process(worker_pid)
assert loop_worker.ppid() == loop.pid
loop_before = probe(loop_port)
loop_worker.send_signal(signal.SIGKILL)
loop_exit = loop.wait(10)
loop_after = probe(loop_port)
print("before the kill:", loop_before.status, "| parent's exit code:", loop_exit,
      "| after:", loop_after.status, loop_after.error)

# %%
assert loop_before.status == 200
assert loop_exit == 1  # the parent gave up, as server3.py did
assert loop_after.status is None  # no health endpoint any more: the service is gone
assert not loop_worker.is_running()  # waited for this time: no zombie

# %% [markdown]
# ## Three processes, three jobs
#
# `server2.py` was right to move the health check out of the process that computes.
# fiblab keeps the split and adds what both originals missed: a health process that
# looks at the worker, and a supervisor that restarts it:
#
# ```
#   this notebook ── GET /health ──▶  health process   (python -m fiblab.health)
#        │                                 │ reads the worker's pid file and log
#        │ enqueue / results               ▼
#        │ (system database)          worker process   (python -m fiblab.server,
#        └───────────────────────────▶  runs the DBOS    executor id "worker")
#                                       workflows
#   supervisor (a thread in this kernel) ── starts it, restarts it after a crash ──┘
# ```
#
# * The **worker** is an ordinary fiblab server. It only computes.
# * The **health process** answers `GET /health` on `127.0.0.1`, on a port the operating
#   system picks. The JSON names its own pid, the worker's, and whether the worker is
#   *alive* (exists, not a zombie) and *ready* (its log holds a ready line naming that
#   pid): 200 when healthy, 503 when not.
# * The **supervisor** restarts the worker after a crash with the **same executor id**,
#   so DBOS recovers the worker's unfinished workflows, and gives up when the worker
#   crashes too often, too fast.
#
# For a comparison further down, this notebook's worker also serves the same endpoint
# from a thread of its own (`--health-port 0`).

# %%
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from fiblab import client as fc
from fiblab.display import show_source, table
from fiblab.health_endpoint import HealthServer
from fiblab.pidfile import pid_gone
from fiblab.processes import worker_health_port
from fiblab.spawn import HealthProcess
from fiblab.supervisor import Supervisor, SupervisorGaveUp
from fiblab.worker_watch import WorkerWatch

worker = lab.server("worker", extra_args=["--health-port", "0"])
health = lab.adopt(HealthProcess.watching(worker)).start()  # starts while the worker does
supervisor = Supervisor(worker, restart_delay=0.3).start()
health.wait_ready()
in_worker_port = worker_health_port(worker)
print(f"worker pid {worker.pid}, its own endpoint on port {in_worker_port}")
print(f"health pid {health.pid}, endpoint {health.url}")

# %% [markdown]
# This is all the health process checks on every probe — the worker's pid comes from the
# pid file the process handle writes, so a restarted worker is followed automatically:

# %%
show_source(WorkerWatch.__call__, HealthServer.health)

# %% [markdown]
# Ask both endpoints. Watch the pids: the health process answers with its **own** pid
# and reports on the worker's; the in-worker endpoint is the worker.

# %%
separate, inside = probe(health.port), probe(in_worker_port)
print(json.dumps(separate.body, indent=2))
print("in the worker:", json.dumps(inside.body["worker"]))

# %% [markdown]
# **Check:** both answer 200; the health process is a process of its own; both name the
# worker's pid and its executor id; other paths (404) and methods (405) are refused.

# %%
assert separate.status == inside.status == 200
assert separate.body["pid"] == health.pid != worker.pid
assert separate.body["worker"]["pid"] == inside.body["pid"] == worker.pid
assert separate.body["worker"]["executor_id"] == "worker"
assert probe(health.port, "/").status == 404
assert probe(health.port, method="POST").status == 405

# %% [markdown]
# ## Going deeper: probe latency while the worker computes
#
# Now the worker computes `fib(N)` recursively, with `N` chosen so that it takes about
# half a second of pure Python CPU work on this machine (printed below), in one step.
# Meanwhile this notebook probes **both** endpoints every 20 ms and records how long
# each answer takes.
#
# What to expect: the in-worker endpoint is a thread of a process whose other thread
# computes, and the two share one interpreter lock (the GIL:
# [02 · Queues](02_queues.ipynb#Concurrency-does-not-help-CPU-bound-work-in-one-process)).
# A thread waiting for the lock gets it only after the *switch interval*
# (`sys.getswitchinterval()`) has passed. The separate process has a GIL of its own.

# %%
from fiblab.machine import n_for_seconds, usable_cores

print(f"switch interval: {sys.getswitchinterval() * 1000:.0f} ms")

PERIOD = 0.02
ENDPOINTS = {"in the worker": in_worker_port, "separate process": health.port}


def probe_both(stop, ticks=None):
    """Probe both endpoints every PERIOD s until ``stop`` is set (or ``ticks`` rounds)."""
    rows, started, tick = [], time.perf_counter(), 0
    while not stop.is_set() and (ticks is None or tick < ticks):
        for where, port in ENDPOINTS.items():
            answer = probe(port)
            rows.append({"where": where, "at": answer.at, "ms": answer.seconds * 1000,
                         "status": answer.status})
        tick += 1
        stop.wait(max(0.0, started + tick * PERIOD - time.perf_counter()))  # keep the pace
    return rows


idle = probe_both(threading.Event(), ticks=15)  # the worker has nothing to do


async def probe_while_computing(n):
    """Enqueue fibonacci_workflow(n), probe until it is done; return probes and step row."""
    handle = await lab.client.enqueue_async(fc.enqueue_options(), n)
    stop = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        probing = pool.submit(probe_both, stop)
        result = await handle.get_result(polling_interval_sec=0.02)
        stop.set()
        rows = probing.result()
    (step,) = fc.step_rows(lab.client, [handle.workflow_id])
    return result, rows, step


N = n_for_seconds(0.5)  # about half a second of CPU on this machine
result, busy, step = await probe_while_computing(N)
print(f"fib({N}) = {result[1]}, computed in {result[2]:.2f} s; {len(busy) // 2} probe pairs")

# %%
import statistics


def ms(rows, where, during=None):
    """Latencies (ms) of one endpoint, optionally only probes sent during a step."""
    return [r["ms"] for r in rows if r["where"] == where
            and (during is None or during["start"] <= r["at"] <= during["end"])]


def summary(values):
    ordered = sorted(values)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


figures = []
for label, rows, during in (("idle", idle, None), (f"computing fib({N})", busy, step)):
    for where in ENDPOINTS:
        values = ms(rows, where, during)
        median, p95 = summary(values)
        figures.append({"worker": label, "endpoint": where, "probes": len(values),
                        "median ms": median, "p95 ms": p95, "max ms": max(values)})
table(figures)

# %%
import matplotlib.pyplot as plt

t0 = step["start"]
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained",
                                  gridspec_kw={"width_ratios": [2.3, 1]})
left.axvspan(0, step["end"] - t0, color="0.92", label=f"fib({N}) computing")
for where, marker in zip(ENDPOINTS, "o^"):
    rows = [r for r in busy if r["where"] == where]
    left.plot([r["at"] - t0 for r in rows], [r["ms"] for r in rows], marker, ms=4, label=where)
left.set(yscale="log", xlabel="seconds since the step started", ylabel="probe latency (ms)",
         title="GET /health while the worker computes")
left.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=3)  # below
right.boxplot([ms(busy, where, step) for where in ENDPOINTS], showfliers=True)
right.set_xticks([1, 2], list(ENDPOINTS))
right.set(yscale="log", ylabel="ms", title="during the computation")
for ax in (left, right):
    ax.grid(True, which="both", alpha=0.3)

# %% [markdown]
# **Check:** while the worker computes, the separate health process answers many times
# faster than the worker's own endpoint (median). Both run on the same machine at the
# same moment, so what slows the worker's endpoint is its own process computing. How
# many times depends on the machine and on what else runs on it (the load is printed
# beside the figures); the check asks for more than 3×.

# %%
busy_inside, busy_separate = (summary(ms(busy, w, step))[0] for w in ENDPOINTS)
idle_inside = summary(ms(idle, "in the worker"))[0]
print(f"median while computing: in the worker {busy_inside:.1f} ms, "
      f"separate process {busy_separate:.2f} ms ({busy_inside / busy_separate:.0f}x)")
print(f"in the worker, at rest: {idle_inside:.1f} ms ({busy_inside / idle_inside:.0f}x faster "
      "than while computing)")
load = os.getloadavg()[0]
print(f"load average: {load:.1f} on {usable_cores()} cores"
      + (" — other programs were competing for the CPUs: these figures are disturbed"
         if load > usable_cores() - 0.5 else ""))
assert len(ms(busy, "separate process", step)) >= 10  # enough probes during the step
assert all(r["status"] == 200 for r in idle + busy)
if usable_cores() >= 2:  # with one core the separate process waits for the CPU as well
    assert busy_inside > 3 * busy_separate

# %% [markdown]
# Each answer from inside the worker needs the lock several times (to accept the
# connection, read the request, write the answer), and each time it waits about one
# switch interval for the computing thread to let go. An endpoint that looks fine in a
# quick test at rest is slower while its own process computes (this run's factor is
# printed above) — and a probe with a short timeout would report a busy, perfectly
# healthy worker as down. Worse, it can only ever say "I am alive": a dead worker
# answers nothing at all. Those are the two reasons for the split.

# %% [markdown]
# ## Kill the worker
#
# Next, a real `SIGKILL` in the middle of a workflow. The worker runs
# `fibonacci_steps_workflow(24, step_seconds=0.02)` — 23 steps, each recorded in DBOS —
# and we kill it after eight steps. Watch for three things:
#
# 1. the health process keeps answering, and says the worker is dead;
# 2. the supervisor restarts it after its `restart_delay` (0.3 s here) with the same
#    executor id, and the health process follows the new pid;
# 3. the new worker recovers the workflow, which completes without re-running the steps
#    that were already done.

# %%
WATCH_PERIOD = 0.02  # seconds between two probes of the health process


def watch_health(stop, answers):
    """Probe the health process every WATCH_PERIOD s until ``stop`` is set."""
    while not stop.wait(WATCH_PERIOD):
        answers.append(health.probe())


handle = await lab.enqueue_steps_async(24, step_seconds=0.02)
answers, stop_watching = [], threading.Event()
with ThreadPoolExecutor(1) as pool:
    watcher = pool.submit(watch_health, stop_watching, answers)
    await lab.wait_steps_async(handle.workflow_id, 8)  # probed all the while
    wait_for(lambda: len(answers) >= 5, 10, "a few probes of the live worker")
    old_pid = worker.pid
    killed_at = time.time()
    os.kill(old_pid, signal.SIGKILL)  # what `kill -9` does
    # The signal takes effect when the worker next gets a CPU: on a busy machine a
    # moment later, and probes sent meanwhile rightly find it alive.
    wait_for(lambda: pid_gone(old_pid), 5, "the killed worker to die")
    died_at = time.time()
    reported_dead = wait_for(
        lambda: (a := health.probe()).worker.get("pid") == old_pid and not a.worker["alive"] and a,
        5, "the health process to see the worker die",
    )
    supervisor.wait_running(restarts=1, timeout=60)
    recovered = await handle.get_result(polling_interval_sec=0.02)
    wait_for(lambda: answers[-1].healthy, 10, "a healthy answer from the new worker")
    stop_watching.set()
    watcher.result()

print("after the kill:", reported_dead.status, reported_dead.worker)
print("result:", recovered, "| new worker pid:", worker.pid)
table([{"at": time.strftime("%H:%M:%S", time.localtime(e.at)) + f".{int(e.at % 1 * 1000):03d}",
        "event": e.kind, "pid": e.pid, "note": e.note} for e in supervisor.events])

# %% [markdown]
# The timeline below is drawn from the side-channel record of every step execution
# (which process ran which step, when) and from the health answers collected meanwhile.

# %%
import matplotlib.pyplot as plt

runs = lab.executions(handle.workflow_id)
first_resumed = min(r["at"] for r in runs if r["pid"] == worker.pid)
ready_again = next(e.at for e in supervisor.events if e.kind == "ready" and e.pid == worker.pid)


def health_label(answer):
    if answer.healthy:
        return f"healthy (pid {answer.worker['pid']})"
    state = "not ready" if answer.worker.get("alive") else answer.worker.get("state")
    return f"{state} (pid {answer.worker.get('pid')})"


labels = list(dict.fromkeys(health_label(a) for a in answers))
fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5), sharex=True, layout="constrained",
                                  gridspec_kw={"height_ratios": [2, 1.2]})
for pid, marker in ((old_pid, "o"), (worker.pid, "s")):
    mine = [r for r in runs if r["pid"] == pid]
    top.plot([r["at"] - killed_at for r in mine], [r["step"] for r in mine], marker, ms=4,
             label=f"step run by pid {pid}")
top.set(ylabel="step index", title="fibonacci_steps_workflow(24): killed, restarted, resumed")
bottom.plot([a.at - killed_at for a in answers], [labels.index(health_label(a)) for a in answers],
            "|", ms=12)
bottom.set_yticks(range(len(labels)), labels)
bottom.set(xlabel="seconds since the SIGKILL", title="what GET /health said")
for ax in (top, bottom):
    ax.axvline(0, color="red", ls="--", label="SIGKILL")
    ax.axvline(ready_again - killed_at, color="green", ls="--", label="new worker ready")
    ax.grid(True, alpha=0.3)
top.legend(fontsize=8, loc="lower center")
print(f"kill → new worker ready: {ready_again - killed_at:.2f} s; "
      f"kill → first resumed step: {first_resumed - killed_at:.2f} s")

# %% [markdown]
# **Check:** the health process answered every probe and stayed the same process; after
# the worker died it reported it dead (and never healthy again); the old worker was
# reaped (no zombie left); the supervisor restarted it once, with the same executor id;
# the workflow completed with the right result, and no step that had finished before
# the kill ran again (only the one in flight may have).

# %%
from collections import Counter


assert all(a.status in (200, 503) and a.body["pid"] == health.pid for a in answers)
assert reported_dead.status == 503 and reported_dead.worker["state"] in ("zombie", "gone")
assert not any(a.healthy and a.worker["pid"] == old_pid for a in answers if a.at > died_at)
assert pid_gone(old_pid, reaped=True)
assert supervisor.restarts == 1 and supervisor.crashes[-1].code == -signal.SIGKILL
assert answers[-1].worker["pid"] == worker.pid != old_pid
assert answers[-1].worker["executor_id"] == "worker"
assert recovered == (24, 46368)
assert fc.workflow_rows(lab.client, [handle.workflow_id])[0]["executor_id"] == "worker"
counts = Counter(r["step"] for r in runs)
assert sorted(counts) == list(range(2, 25)) and sum(counts.values()) - len(counts) <= 1
done_before = {r["step"] for r in runs if r["pid"] == old_pid}
assert len(done_before) >= 8 and {r["pid"] for r in runs} == {old_pid, worker.pid}

# %% [markdown]
# ## Going deeper: a stop is not a crash
#
# We are done with this worker. Stopping it *through its supervisor* ends the supervision
# first and then sends SIGTERM: the worker finishes what it was doing and exits 0, and it
# is not restarted. The health process stays up and reports that there is no worker.

# %%
print("worker exit code:", supervisor.stop(), "| supervisor:", supervisor.state)
after_stop = health.probe()
print(after_stop.status, after_stop.worker)

# %%
assert supervisor.state == "stopped" and worker.returncode == 0 and supervisor.restarts == 1
assert after_stop.status == 503 and after_stop.worker["alive"] is False
assert after_stop.body["pid"] == health.pid and health.alive

# %% [markdown]
# ## Going deeper: when restarting cannot help, the supervisor gives up
#
# A restart helps when the crash was bad luck. It does not when the crash comes back every
# time: a workflow whose step crashes the process (`crash_every_time=True`) is recovered by
# every new worker — and kills it again. This is the original experiment's `ex2.py`.
# DBOS itself stops recovering such a workflow only after its `max_recovery_attempts`
# ([05 · Crash and recovery](05_crash_and_recovery.ipynb) shows that crash loop); a
# supervisor must not loop until then. Ours allows `max_crashes` crashes (3 by default; 2
# here: one restart that crashes again already shows the loop) within `window_sec=60`,
# and then stops with a message that says why.
#
# (The worker above had to be stopped first: it serves `my_queue`, the same queue as
# `poison`, so a healthy worker could have taken the poison pill and crashed on it
# instead.)

# %%
poison = lab.server("poison")
poison_supervisor = Supervisor(poison, max_crashes=2, window_sec=60).start()
poison_handle = await lab.client.enqueue_async(
    fc.enqueue_options("fibonacci_steps_workflow"), 8, crash_at=4, crash_every_time=True
)
print("supervisor:", poison_supervisor.wait_finished(timeout=90))
# Its message names the log file and database; we show them relative to this folder.
print(poison_supervisor.message.replace(str(lab.scratch), os.path.relpath(lab.scratch)))

# %% [markdown]
# **Check:** the supervisor gave up after exactly two crashes (one restart), each one a
# SIGKILL at step 4; the worker is not running; the workflow is still `PENDING` — nobody
# finished it, nobody lost it.

# %%
poison_status = await poison_handle.get_status()
assert poison_supervisor.state == "gave-up" and poison_supervisor.restarts == 1
assert [e.code for e in poison_supervisor.crashes] == [-signal.SIGKILL] * 2
assert "crashed 2 times within 60 s" in poison_supervisor.message
assert not poison.alive
assert poison_status.status == "PENDING"
assert Counter(r["step"] for r in lab.executions(poison_handle.workflow_id))[4] == 2
assert {r["pid"] for r in lab.executions(poison_handle.workflow_id)} == {
    e.pid for e in poison_supervisor.crashes
}

# %% [markdown]
# A worker that cannot even start — here a typo in an option — ends the same way, only
# faster. `start()` waits for the worker to be ready, so it raises `SupervisorGaveUp`;
# we catch it and print its first sentence, and the worker's own complaint, the last
# line of its log:

# %%
typo = Supervisor(lab.server("typo", extra_args=["--polling-interval", "0"]), max_crashes=3)
try:
    typo.start()
    typo_refusal = None
except SupervisorGaveUp as gave_up:
    typo_refusal = gave_up
print(f"{type(typo_refusal).__name__}: {str(typo_refusal).split('. ')[0]}.")
print("the worker said:", typo.worker.logs().strip().splitlines()[-1])

# %%
assert isinstance(typo_refusal, SupervisorGaveUp)
assert typo.state == "gave-up" and [e.code for e in typo.crashes] == [2, 2, 2]
assert "--polling-interval: must be > 0" in typo.worker.logs().strip().splitlines()[-1]

# %% [markdown]
# The way out of a poison pill is a decision, not another restart: fix the code, or
# cancel the workflow. Cancelled, it is no longer recovered, and a new supervisor keeps
# the `poison` worker up:

# %%
await lab.client.cancel_workflow_async(poison_handle.workflow_id)
poison_supervisor = Supervisor(poison, max_crashes=3, window_sec=60).start()
print((await poison_handle.get_status()).status, poison_supervisor)

# %%
assert (await poison_handle.get_status()).status == "CANCELLED"
assert poison_supervisor.state == "running" and poison.alive

# %% [markdown]
# ## Going deeper: exercise
#
# The `poison` worker is up again under its new supervisor. A SIGKILL is a crash and gets
# a restart; SIGTERM, as you saw, is a request to stop — but that was sent *by the
# supervisor*. What if someone else sends it? Send the `poison` worker a **SIGTERM**
# yourself (`os.kill(poison.pid, signal.SIGTERM)`), wait until the supervisor has
# finished (`poison_supervisor.wait_finished(timeout=30)`), and find out: is the worker
# restarted? Keep what you found in a dict `sigterm_outcome` with the keys `"state"`
# (`poison_supervisor.state`), `"restarts"` (`poison_supervisor.restarts`) and
# `"exit_code"` (`poison.returncode`), and print `poison_supervisor.message`. The check
# compares your dict with the supervisor, and says whether the worker was restarted.

# %% tags=["solution"] jupyter={"source_hidden": true}
os.kill(poison.pid, signal.SIGTERM)  # a graceful stop: the worker exits 0
poison_supervisor.wait_finished(timeout=30)
sigterm_outcome = {"state": poison_supervisor.state, "restarts": poison_supervisor.restarts,
                   "exit_code": poison.returncode}
print(sigterm_outcome, "|", poison_supervisor.message)

# %% tags=["exercise-check"]
from fiblab.exercises import ExerciseIncomplete, require

require(globals(), "sigterm_outcome",
        task="send the poison worker SIGTERM, wait for its supervisor, and record "
             '`sigterm_outcome = {"state": …, "restarts": …, "exit_code": …}`')
if not poison_supervisor.finished:
    raise ExerciseIncomplete(f"the supervisor is still {poison_supervisor.state}: send "
                             "os.kill(poison.pid, signal.SIGTERM), then "
                             "poison_supervisor.wait_finished(timeout=30)")
truth = {"state": poison_supervisor.state, "restarts": poison_supervisor.restarts,
         "exit_code": poison.returncode}
if sigterm_outcome != truth:
    raise ExerciseIncomplete(f"`sigterm_outcome` is {sigterm_outcome}, but the supervisor "
                             f"and the worker say {truth}: read them after wait_finished()")
if not (truth == {"state": "exited", "restarts": 0, "exit_code": 0} and not poison.alive):
    raise ExerciseIncomplete(f"expected a clean exit that is not restarted, got {truth}: "
                             "was the signal SIGTERM?")
print("Right: a SIGTERM from anyone is a request to stop; the supervisor lets the worker go "
      "(state 'exited', no restart, exit code 0).")

# %% [markdown]
# ## Summary
#
# * A health endpoint belongs in a **process of its own**: a dead worker cannot answer
#   at all, and (going deeper) inside a CPU-bound Python worker its thread waits for the
#   GIL, so probes answer slower exactly when the worker is busy.
# * The health process reports on the worker from the outside: its pid (followed through
#   a pid file across restarts), alive (a zombie is not), ready (its ready line).
# * A **supervisor** restarts a crashed worker with the **same executor id**, so DBOS
#   resumes the interrupted workflow after its last completed step. Going deeper: it
#   leaves a worker that was asked to stop alone, and gives up when crashes come too
#   fast; the way out of a poison pill is a decision (fix the code, cancel the
#   workflow), not another restart.
# * The same supervisor runs outside a notebook. In a terminal, from the repository folder
#   (Ctrl-C stops it, its worker and its health process):
#
# <!-- doc-test: background -->
# ```bash
# .venv/bin/python -m fiblab.supervisor --database-url sqlite:///$PWD/scratch/worker.sqlite --executor-id worker --health-port 0
# ```
#
# **Next:** [07 · Class-based designs that break](07_class_based_variants.ipynb) — the designs that
# look natural and fail under exactly these crashes.

# %%
lab.close()  # stops every worker and the health process this notebook started
