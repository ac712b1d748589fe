# %% [markdown]
# # 02 · Queues: many workflows, and who runs them when
#
# **You will be able to:** put workflows on a DBOS queue, control how many run at once
# with `worker_concurrency`, draw a timeline of what ran when from the step rows DBOS
# recorded, change a queue's settings while it runs (going deeper: let small jobs jump
# the queue with `priority`, and limit all processes together with `global_concurrency`),
# explain why one process per core
# serves CPU-bound work, and why the polling interval decides how long a small job waits.
#
# **Prerequisites:** [01 · A workflow with one step](01_step_workflow.ipynb).
#
# **Time:** about 10 minutes.

# %% [markdown]
# ## Setup
#
# DBOS runs inside this kernel again, on this notebook's own database. This time we
# use the second fiblab workflow: one step per Fibonacci index, each step adding the two
# previous numbers. `step_seconds` makes every step wait a little, like a step that
# calls a slow web service, so the timelines have something to show.
#
# Before DBOS launches here, a `DBOSClient` registers every queue this notebook uses,
# with its settings (the next sections explain them). Why before: DBOS's queue thread
# starts polling each queue it finds in the database at launch, but looks for queues
# registered later only once a second.

# %%
from collections import Counter

from dbos import DBOS

from fiblab import client as fc
from fiblab import plots, timeline
from fiblab.app import fibonacci_index_step, fibonacci_steps_workflow, fibonacci_workflow
from fiblab.display import show_source
from fiblab.lab import Lab
from fiblab.worker_thread import in_worker_thread

lab = Lab.fresh("02_queues")
QUEUES = {  # name: settings; every queue polled every 0.1 s but the last (DBOS's 1 s default)
    "one_at_a_time": {"worker_concurrency": 1, "polling_interval_sec": 0.1},
    "three_at_a_time": {"worker_concurrency": 3, "polling_interval_sec": 0.1},
    "retuned": {"worker_concurrency": 1, "polling_interval_sec": 0.1},
    "shared": {"worker_concurrency": 2, "polling_interval_sec": 0.1},
    "capped": {"worker_concurrency": 2, "global_concurrency": 2, "polling_interval_sec": 0.1},
    "fast_polling": {"polling_interval_sec": 0.1},
    "dbos_default_polling": {},
}
for name, settings in QUEUES.items():  # blocking calls: on a worker thread, not the cell's loop
    in_worker_thread(lab.client.register_queue, name, **settings)
await lab.launch_dbos()
show_source(fibonacci_index_step, fibonacci_steps_workflow)

# %% [markdown]
# ## Two queues, two concurrency limits
#
# A queue is a named table of waiting workflows. A DBOS process polls queues and starts
# what their limits allow: this kernel polls every queue of its application in the
# database; fiblab's servers (from notebook 03 on) listen only to their own queue
# (`DBOS.listen_queues`). `worker_concurrency` is the number of
# workflows from that queue **one process** may run at the same time.
#
# `one_at_a_time` has concurrency 1 and `three_at_a_time` concurrency 3, both polled
# every 0.1 s (Setup registered them); we put the same six jobs on each. Each job,
# `fibonacci_steps_workflow(5)`, has 4 steps that each wait 0.05 s: about 0.2 s of
# waiting and very little computing, so running three at once should not slow each of
# them down, even on a busy machine.
#
# DBOS's queue thread looks for newly registered queues once a second (read
# `queue_thread` in `dbos/_queue.py`: `check_interval = 1.0`): a queue registered after
# the launch is first polled up to a second later. Ours were registered before it. For
# a queue registered later (you will register one in the exercise), `warm` sends one
# tiny job through it first, so that timing it measures the queue, not that first look.

# %%
import time

one_at_a_time = await DBOS.retrieve_queue_async("one_at_a_time")
three_at_a_time = await DBOS.retrieve_queue_async("three_at_a_time")


async def warm(*queues):
    """Run one tiny job through each queue: it is then polled at its own interval."""
    handles = [await queue.enqueue_async(fibonacci_workflow, 1) for queue in queues]
    for handle in handles:
        await handle.get_result(polling_interval_sec=0.01)


async def run_batch(queue, jobs=6, n=5, step_seconds=0.05):
    """Enqueue `jobs` step workflows on `queue`; return (wall seconds, step rows)."""
    started = time.perf_counter()
    handles = [
        await queue.enqueue_async(fibonacci_steps_workflow, n, step_seconds=step_seconds)
        for _ in range(jobs)
    ]
    results = [await h.get_result(polling_interval_sec=0.01) for h in handles]
    wall = time.perf_counter() - started
    assert all(r == (n, 5) for r in results)
    return wall, fc.step_rows(lab.client, [h.workflow_id for h in handles])


serial_wall, serial_rows = await run_batch(one_at_a_time)
parallel_wall, parallel_rows = await run_batch(three_at_a_time)
print(f"worker_concurrency=1: {serial_wall:.2f} s   worker_concurrency=3: {parallel_wall:.2f} s")

# %% [markdown]
# The timelines below are drawn from the step rows DBOS recorded (they carry
# millisecond timestamps). One lane per workflow; each small bar is one step.

# %%
import matplotlib.pyplot as plt

fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, layout="constrained")
for rows, ax, title in ((serial_rows, top, "worker_concurrency=1"),
                        (parallel_rows, bottom, "worker_concurrency=3")):
    plots.plot_timeline(plots.lanes_by_workflow(rows), lane_key="lane", label_key=None,
                        ax=ax, title=title, ylabel="workflow, by start");

# %% [markdown]
# **Check:** with concurrency 1 no two jobs ever overlap; with concurrency 3 up to three
# do, never more, and the batch takes well under the one-at-a-time time: ideally a third
# (two rounds of three instead of six rounds of one, each also waiting for a poll). Thirty
# runs on a 2-core machine with every core kept busy gave 0.40–0.49 of it
# (`benchmarks/README.md`); we check for less than 0.6 (two at a time would give about half).
# And the installed DBOS's queue thread does scan for new queues once a second.

# %%
import inspect

from dbos import _queue

assert "check_interval = 1.0" in inspect.getsource(_queue.queue_thread)
serial_spans = timeline.workflow_spans(serial_rows)
parallel_spans = timeline.workflow_spans(parallel_rows)
print("most jobs at once:", timeline.max_concurrency(serial_spans),
      "vs", timeline.max_concurrency(parallel_spans))
assert timeline.max_concurrency(serial_spans) == 1
assert timeline.max_concurrency(parallel_spans) in (2, 3)
print(f"three at a time took {parallel_wall / serial_wall:.0%} of the one-at-a-time time")
assert parallel_wall < 0.6 * serial_wall

# %% [markdown]
# ## Queue settings live in the database, re-read at every poll
#
# `register_queue` writes a queue's settings into the system database, so every process
# on that database sees the same ones. And a process does not keep its own copy: its
# worker for a queue reads the queue's row again before every poll (read
# `queue_worker_thread` in `dbos/_queue.py`: "Reload database-backed queue config once
# per iteration"). So a setting changed by *anyone* — here a `DBOSClient`, which shares
# nothing with this kernel but the database — takes effect at the next poll, with no
# restart. We put four jobs of 0.2 s on `retuned` (concurrency 1) and, once the first has
# started, raise its concurrency to 4 from the client. A registration writes every
# setting, so we pass the polling interval again (the client's default is 1 s).
#
# **Check:** the jobs that started after the change ran side by side (with concurrency 1
# they would have run one after another).

# %%
from fiblab.waiting import wait_for

retuned = await DBOS.retrieve_queue_async("retuned")  # concurrency 1 (Setup registered it)
handles = [await retuned.enqueue_async(fibonacci_steps_workflow, 3, step_seconds=0.1)
           for _ in range(4)]
wait_for(lambda: fc.step_rows(lab.client, [handles[0].workflow_id]), 10, "the first job to start")
changed_at = time.time()
await lab.client.register_queue_async("retuned", worker_concurrency=4, polling_interval_sec=0.1)
assert all([await h.get_result(polling_interval_sec=0.01) == (3, 2) for h in handles])
retuned_spans = timeline.workflow_spans(fc.step_rows(lab.client, [h.workflow_id for h in handles]))
later = [span for span in retuned_spans if span["start"] > changed_at]
print(f"{len(later)} of the 4 jobs started after the change, at most "
      f"{timeline.max_concurrency(later)} of them at once")
assert len(later) >= 2 and timeline.max_concurrency(later) >= 2

# %% [markdown]
# ## Going deeper: which job goes first, and a limit for all processes together
#
# Two more of a queue's answers to "how many run at once, and which?".
#
# **Priority.** Every DBOS 3.4 queue orders its waiting workflows by `priority` (a
# number given at enqueue; lower goes first, none given is 0, the first of all), then by
# the time they were enqueued (read `dbos/_sys_db.py`: the dequeue query orders by
# `priority`, then `created_at`). On `one_at_a_time` (concurrency 1, idle) we enqueue
# two big jobs (3 steps of 0.05 s) with priority 2, then two small ones (1 step) with
# priority 1 (the client's enqueue option `priority`; in a DBOS process,
# `with SetEnqueueOptions(priority=…)` around `queue.enqueue` does the same), all four in
# **one database transaction** (`DBOSClient.enqueue_in_transaction`, shown below): the
# queue's next poll sees all four at once. (Enqueued one by one, the first big job could
# be taken before the small ones arrive, and run to its end.) Watch the order in which
# they start.

# %%
import asyncio

from fiblab.processes import ServerGroup

JOB_SIZES = {"big": (4, 2), "small": (2, 1)}  # kind: (n, priority); 3 steps or 1
ENQUEUED = ["big"] * 2 + ["small"] * 2
sized_handles = fc.enqueue_together(lab.client, [
    (fc.enqueue_options("fibonacci_steps_workflow", "one_at_a_time", priority=JOB_SIZES[kind][1]),
     [JOB_SIZES[kind][0]], {"step_seconds": 0.05})
    for kind in ENQUEUED
])
size_of = {sized.workflow_id: kind for sized, kind in zip(sized_handles, ENQUEUED)}
queue_servers = ServerGroup([  # for the second part below: they start while these jobs run
    lab.server("shared-server", queue="shared", worker_concurrency=2),
    lab.server("capped-server", queue="capped", worker_concurrency=2, global_concurrency=2),
])
for server in queue_servers:
    server.start()
for sized in sized_handles:
    fc.wait_result(sized)
sized_rows = fc.step_rows(lab.client, list(size_of))
start_order = [size_of[span["workflow_id"]]
               for span in sorted(timeline.workflow_spans(sized_rows), key=lambda s: s["start"])]
print("enqueued:", ", ".join(ENQUEUED))
print("started: ", ", ".join(start_order))
show_source(fc.enqueue_together)
plots.plot_timeline([{**row, "label": size_of[row["workflow_id"]]}
                     for row in plots.lanes_by_workflow(sized_rows)],
                    lane_key="lane", title="One at a time, small jobs at priority 1",
                    ylabel="workflow, by start");

# %% [markdown]
# **Check:** the small jobs started before both big ones, though they were enqueued
# after them.

# %%
assert start_order == ["small"] * 2 + ["big"] * 2

# %% [markdown]
# **A limit for all processes.** `worker_concurrency` limits each process on its own;
# `global_concurrency` limits all processes on a queue together. Two queues, each served
# by this kernel (it polls every queue) and by one fiblab server of its own, both with
# `worker_concurrency=2`: `shared` has no other limit, so its two processes may run up to
# four at once; `capped` also has `global_concurrency=2` (the server's
# `--global-concurrency 2`; Setup registered both with these settings, so this kernel
# polls them from its launch). Four jobs of 0.4 s on each, long enough for both processes
# to poll several times while they run. Watch the most at once, and which processes ran
# them.

# %%
for server in queue_servers:  # started in the cell above
    if not server.alive:  # stopped at the end of this cell, when you run it again
        server.start()
    server.wait_ready()
uncapped_queue = await DBOS.retrieve_queue_async("shared")
capped_queue = await DBOS.retrieve_queue_async("capped")


async def two_process_batch(queue, jobs=4):
    """Enqueue `jobs` step workflows of 0.4 s on `queue`; return their step rows."""
    batch = [await queue.enqueue_async(fibonacci_steps_workflow, 5, step_seconds=0.1)
             for _ in range(jobs)]
    for handle in batch:
        await handle.get_result(polling_interval_sec=0.01)
    return fc.step_rows(lab.client, [h.workflow_id for h in batch])


uncapped_rows, capped_rows = await asyncio.gather(two_process_batch(uncapped_queue),
                                                  two_process_batch(capped_queue))
most_at_once = {}
jobs_per_process = {}
for name, rows in (("shared", uncapped_rows), ("capped", capped_rows)):
    spans = timeline.workflow_spans(rows)
    most_at_once[name] = timeline.max_concurrency(spans)
    jobs_per_process[name] = Counter(span["executor_id"] for span in spans)
    print(f"{name}: at most {most_at_once[name]} at once; jobs per process: "
          f"{dict(jobs_per_process[name])}")
if most_at_once["shared"] > 2:
    print(f"On shared the two processes ran {most_at_once['shared']} at once: more than either "
          "process's own limit of 2.")
else:
    print("On shared the two processes did not overlap this time (one of them did not poll "
          "while the other's jobs ran: a busy machine delays a poll); run the cell again to see "
          "them overlap.")
print(f"On capped (global_concurrency=2): at most {most_at_once['capped']} at once.")
for server in queue_servers:  # idle, nothing to lose: a SIGKILL ends them at once (a
    server.kill()             # graceful stop waits about a second in DBOS's shutdown)

# %% [markdown]
# **Check:** on `capped` never more than 2 ran at once, its `global_concurrency`,
# though each of its two processes may take 2; on `shared` never more than 2 × 2 (each
# process's own `worker_concurrency`). How many ran at once on `shared` is observed, not
# checked: it depends on both processes polling while the other's jobs run, which a busy
# machine can delay.
#
# DBOS keeps the global limit by counting the queue's running workflows in the
# transaction that claims new ones (read `start_queued_workflows` in `dbos/_sys_db.py`:
# the claim's `pending_count`). On SQLite, though, DBOS 3.4's transaction really begins
# only at the claim's first write, after the count: another process's claim in between
# goes uncounted, and two processes on a queue capped at 2 were seen running four. So
# fiblab makes the claim take SQLite's write lock before it counts
# (`lock_sqlite_claims` in `fiblab/database.py`, called by every fiblab launch, this
# kernel's included); on PostgreSQL DBOS claims under REPEATABLE READ, which refuses such
# a claim.

# %%
assert most_at_once["capped"] <= 2
assert most_at_once["shared"] <= 4

# %% [markdown]
# ## Concurrency does not help CPU-bound work in one process
#
# The jobs above mostly *wait*. `fibonacci_workflow` computes — and the workflows of
# one process run as threads that share one interpreter lock (the GIL): only one of them
# runs Python at a time, however many CPUs the machine has. We run three `fib(30)` one
# at a time, then three at once, and measure two things for the three at once: when
# they started and ended (from the step rows DBOS recorded; whole-batch times would also
# count the waits for the next poll), and the CPU time this process used in that same
# window (a thread samples the process's CPU counters every 5 ms).
#
# What to expect: with the GIL, the three take turns on one CPU. The process uses about
# one CPU's worth of time (a little more where C code that releases the GIL, such as a
# SQLite query, overlaps another thread's Python), the three together take about as
# long as one after the other (3× one job), and each takes longer than it did alone.
# Threads without a GIL would run side by side: on two CPUs, two CPUs' worth of time,
# about 1.5× one job. That is why fiblab runs CPU-bound work in server **processes**,
# one per core, with `worker_concurrency=1` each (notebooks 03–04 and 09 build on it).

# %%
import statistics
import threading

import psutil

from fiblab.machine import usable_cores

kernel = psutil.Process()  # this notebook's kernel: DBOS runs the workflows here


async def cpu_batch(queue, jobs=3, n=30):
    """Enqueue `jobs` fib(n) workflows on `queue`; return results, step rows, and
    (time, CPU seconds so far) samples of this process taken meanwhile."""
    samples, done = [], threading.Event()

    def sample():
        while not done.wait(0.005):
            samples.append((time.time(), sum(kernel.cpu_times()[:2])))

    sampler = threading.Thread(target=sample)
    sampler.start()
    handles = [await queue.enqueue_async(fibonacci_workflow, n) for _ in range(jobs)]
    results = [await h.get_result(polling_interval_sec=0.01) for h in handles]
    done.set()
    sampler.join()
    return results, fc.step_rows(lab.client, [h.workflow_id for h in handles]), samples


load_before = psutil.getloadavg()[0]  # runnable processes, last minute: this one included
alone, _, _ = await cpu_batch(one_at_a_time)
shared, shared_rows, shared_samples = await cpu_batch(three_at_a_time)
alone_seconds = [seconds for (_n, _v, seconds) in alone]
shared_seconds = [seconds for (_n, _v, seconds) in shared]
one_job = statistics.median(alone_seconds)  # the median: one disturbed run moves it little
first_start = min(r["start"] for r in shared_rows)
last_end = max(r["end"] for r in shared_rows)
shared_span = last_end - first_start
(t0, cpu0), *_, (t1, cpu1) = [s for s in shared_samples if first_start <= s[0] <= last_end]
cpus_used = (cpu1 - cpu0) / (t1 - t0)  # CPU seconds per second while the three ran
cores = usable_cores()
print("each fib(30), one at a time:  ", ", ".join(f"{s:.2f} s" for s in alone_seconds))
print("each fib(30), three at a time:", ", ".join(f"{s:.2f} s" for s in shared_seconds))
print(f"three at once: {shared_span:.2f} s from first start to last end = "
      f"{shared_span / one_job:.1f}x one job (the median above; one after the other: 3x; "
      f"without a GIL on {cores} CPUs: {3 / min(3, cores):.1f}x)")
print(f"CPUs this process used while the three ran: {cpus_used:.2f} "
      f"(without a GIL: up to {min(3, cores)})")
print(f"load average before: {load_before:.1f} on {cores} cores: "
      + ("other programs competed for the CPUs, so the times above are disturbed"
         if load_before > cores - 1 else "the machine was otherwise about idle"))

# %% [markdown]
# **Check:** every answer is right, and while the three computed, this process used
# less than halfway between one CPU (the GIL) and two (threads side by side on two
# CPUs). On one CPU the two cannot be told apart, so the check needs two. The times
# above are for reading: another program competing for the CPUs moves them.

# %%
assert all(r[:2] == (30, 832040) for r in alone + shared)
if cores >= 2:
    assert cpus_used < 1.5

# %% [markdown]
# ## Polling decides how long a small job waits
#
# Nothing *pushes* work to a DBOS process: it looks at the queue every
# `polling_interval_sec`. And a handle's `get_result` looks at the workflow right away,
# then every `polling_interval_sec` of its own. Both default to **1 second**. For a job
# that takes microseconds, those intervals are the whole latency:
#
# * a job waits for the queue's next poll: anywhere between 0 and the queue's interval,
#   depending on where in the poll's cycle it arrives (half the interval on average);
# * a result not ready at the handle's first look is seen at its next look: the trip is
#   rounded up to a whole number of the handle's intervals.
#
# We time the round trip enqueue → result for a tiny job, `fibonacci_workflow(1)`, with
# three settings, and draw beside each trip the range those two rules allow for it:
#
# | setting | queue polls every | `get_result` polls every |
# |---|---|---|
# | DBOS defaults | 1.0 s | 1.0 s |
# | fast queue, default handle | 0.1 s | 1.0 s |
# | fiblab's defaults | 0.1 s | 0.01 s |

# %%
import asyncio
import math

default_queue = await DBOS.retrieve_queue_async("dbos_default_polling")  # polls every 1.0 s
fast_queue = await DBOS.retrieve_queue_async("fast_polling")  # every 0.1 s


async def round_trips(queue, result_polling, repeats):
    """The median of `repeats` round trips of a tiny job (both queues are polled since
    the launch: Setup registered them before it)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        handle = await queue.enqueue_async(fibonacci_workflow, 1)
        assert (await handle.get_result(polling_interval_sec=result_polling))[:2] == (1, 1)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# The two slow settings side by side, one trip each (each trip costs a second or two);
# then ours, the median of five, alone (beside the slow ones it once made the 1-second
# handle's trip shorter than 0.9 s).
slow = await asyncio.gather(round_trips(default_queue, 1.0, repeats=1),
                            round_trips(fast_queue, 1.0, repeats=1))
fast = await round_trips(fast_queue, 0.01, repeats=5)
settings = {  # name: (queue interval, handle interval, the trip we measured)
    "DBOS defaults": (1.0, 1.0, slow[0]),
    "fast queue,\ndefault handle": (0.1, 1.0, slow[1]),
    "fiblab defaults": (0.1, 0.01, fast),
}
floor = fast - 0.1 / 2  # the job and its database round trips, less half a 0.1 s poll
allowed = {}  # name: (shortest, longest) trip the two rules allow
for name, (queue_s, handle_s, _trip) in settings.items():
    allowed[name] = tuple(handle_s * math.ceil((max(floor, 0) + wait) / handle_s)
                          for wait in (0.0, queue_s * 1.05))  # ±5 % jitter: queue_worker_thread
for name, (queue_s, handle_s, trip) in settings.items():
    low, high = allowed[name]
    print(f"{name.replace(chr(10), ' '):28s} this trip {trip:5.2f} s; the rules allow "
          f"{low:.2f}-{high:.2f} s (queue wait 0-{queue_s:g} s, rounded up to {handle_s:g} s; "
          "plus the queries' own few ms)")
trip_axes = plots.plot_bars(list(settings), [trip for *_, trip in settings.values()],
                            "round trip (s)", "Round trip of a tiny job: one trip, and its range")
trip_axes.errorbar(range(len(settings)), [(lo + hi) / 2 for lo, hi in allowed.values()],
                   yerr=[(hi - lo) / 2 for lo, hi in allowed.values()], fmt="none",
                   ecolor="black", capsize=10, linewidth=2, label="range the intervals allow")
trip_axes.legend();

# %% [markdown]
# **Check:** with a 1-second handle, a result not ready at the first look costs at least
# a second; fiblab's settings bring the round trip down by more than 5×. One trip per
# slow setting shows a single draw from its range, so it cannot show what the 1-second
# queue poll costs: on average half its interval per job, hidden here whenever the
# handle's rounding swallows it.
#
# The price of polling faster is CPU: every poll is a database query, even when the
# queue is empty. [09 · Scaling out](09_scaling_out.ipynb) measures that trade-off.

# %%
default_trip = settings["DBOS defaults"][2]
print(f"DBOS defaults: this trip {default_trip:.2f} s; the same setting allows "
      f"{allowed['DBOS defaults'][0]:.0f} s (job arrived just before a poll) up to "
      f"{allowed['DBOS defaults'][1]:.0f} s (just after one); the 1 s queue poll's mean "
      f"cost, half its interval, is hidden in that rounding")
assert settings["fast queue,\ndefault handle"][2] >= 0.9
assert default_trip >= 0.9
assert fast < default_trip / 5 and fast < 0.5

# %% [markdown]
# ## Going deeper: exercise — two at a time
#
# Register a queue `two_at_a_time` with `worker_concurrency=2` and a 0.1 s polling
# interval, send one job through it with `warm` (its first look), then run
# `two_wall, two_rows = await run_batch(two_at_a_time)`. Predict the wall time before you
# run it: what fraction of the concurrency-1 time should it be? The check reads
# `two_rows` (no more than two jobs at once, and two at some moment) and `two_wall`
# against the one-at-a-time batch.

# %% tags=["solution"] jupyter={"source_hidden": true}
two_at_a_time = await DBOS.register_queue_async(
    "two_at_a_time", worker_concurrency=2, polling_interval_sec=0.1
)
await warm(two_at_a_time)  # its first look, as for the others
two_wall, two_rows = await run_batch(two_at_a_time)

# %% [markdown]
# **Check:** at most two at once, and two at some moment. Was your prediction right? Six
# jobs in three rounds of two instead of six rounds of one: about half the time, plus a
# poll's wait per round (thirty runs on a 2-core machine with every core kept busy gave
# 0.49–0.62 of it, `benchmarks/README.md`; a busier machine moves it).

# %% tags=["exercise-check"]
from fiblab.exercises import ExerciseIncomplete, require

require(globals(), "two_wall", "two_rows",
        task="register two_at_a_time, warm it, and run `two_wall, two_rows = await run_batch(two_at_a_time)`")
two_most = timeline.max_concurrency(timeline.workflow_spans(two_rows))
print(f"{two_wall:.2f} s, {two_wall / serial_wall:.0%} of the one-at-a-time time; "
      f"at most {two_most} at once")
if two_most != 2:
    raise ExerciseIncomplete(f"at most {two_most} jobs ran at once, not 2: "
                             "is worker_concurrency 2?")

# %% [markdown]
# ## Summary
#
# * A queue holds workflows until a process takes them; `worker_concurrency` caps how
#   many one process runs at once.
# * Queue settings live in the system database and are read again before every poll:
#   a change takes effect at the next poll, in every process, with no restart.
# * Going deeper: a lower `priority` number lets small jobs pass big ones still waiting;
#   `global_concurrency` is DBOS's limit for all processes on a queue together (on SQLite
#   it holds because fiblab's claims lock first), `worker_concurrency` each one's.
# * Threads in one process help waiting work, not CPU-bound work (the GIL): run one
#   process per core, each with `worker_concurrency=1`.
# * Latency of small jobs is set by two polling intervals: the queue's (a wait between 0
#   and its interval) and the handle's (a trip rounded up to its interval). fiblab uses
#   0.1 s and 0.01 s instead of DBOS's 1 s defaults.
#
# **Next:** [03 · Servers](03_servers.ipynb) — the same workflows in separate server
# processes that we can start, stop and kill.

# %%
lab.close()  # shut down DBOS in this kernel
