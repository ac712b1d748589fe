# %% [markdown]
# # 02 · Queues: many workflows, and who runs them when
#
# **You will be able to:** put workflows on a DBOS queue, control how many run at once
# with `worker_concurrency`, draw a timeline of what ran when from the step rows DBOS
# recorded, and explain why the polling interval decides how long a small job waits.
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

# %%
from dbos import DBOS

from fiblab import client as fc
from fiblab import plots, timeline
from fiblab.app import fibonacci_index_step, fibonacci_steps_workflow, fibonacci_workflow
from fiblab.display import show_source
from fiblab.lab import Lab

lab = Lab.fresh("02_queues")
await lab.launch_dbos()
show_source(fibonacci_index_step, fibonacci_steps_workflow)

# %% [markdown]
# ## Two queues, two concurrency limits
#
# A queue is a named table of waiting workflows. A DBOS process polls queues and starts
# what their limits allow: this kernel polls every queue of its application in the
# database; fiblab's servers (from notebook 03 on) listen only to their own queue
# (`DBOS.listen_queues`). `worker_concurrency` is the number of
# workflows from that queue **one process** may run at the same time. The settings are
# stored in the system database, so every process on that database sees the same ones.
#
# We register `one_at_a_time` (concurrency 1) and `three_at_a_time` (concurrency 3),
# both polled every 0.1 s, and put the same six jobs on each. Each job,
# `fibonacci_steps_workflow(5)`, has 4 steps that each wait 0.05 s: about 0.2 s of
# waiting and very little computing, so running three at once should not slow each of
# them down, even on a busy machine.
#
# One thing to know first: DBOS looks for newly registered queues once a second, so a
# queue registered a moment ago is first polled up to a second later. We send one tiny
# job through each new queue before timing it (`warm`), so the batches measure the
# queues, not that first look.

# %%
import time

one_at_a_time = await DBOS.register_queue_async(
    "one_at_a_time", worker_concurrency=1, polling_interval_sec=0.1
)
three_at_a_time = await DBOS.register_queue_async(
    "three_at_a_time", worker_concurrency=3, polling_interval_sec=0.1
)


async def warm(*queues):
    """Run one tiny job through each queue: it is then polled at its own interval."""
    handles = [await queue.enqueue_async(fibonacci_workflow, 1) for queue in queues]
    for handle in handles:
        await handle.get_result(polling_interval_sec=0.01)


await warm(one_at_a_time, three_at_a_time)


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

# %%
serial_spans = timeline.workflow_spans(serial_rows)
parallel_spans = timeline.workflow_spans(parallel_rows)
print("most jobs at once:", timeline.max_concurrency(serial_spans), "vs", timeline.max_concurrency(parallel_spans))
assert timeline.max_concurrency(serial_spans) == 1
assert timeline.max_concurrency(parallel_spans) in (2, 3)
print(f"three at a time took {parallel_wall / serial_wall:.0%} of the one-at-a-time time")
assert parallel_wall < 0.6 * serial_wall

# %% [markdown]
# ## Concurrency does not help CPU-bound work in one process
#
# The jobs above mostly *wait*. `fibonacci_workflow` computes — and the workflows of
# one process run as threads that share one interpreter lock (the GIL): only one of them
# runs Python at a time, however many CPUs the machine has. We run three `fib(30)` one
# at a time, then three at once, and measure two things for the three at once: the CPU
# time this process used while they ran, and when they started and ended (from the step
# rows DBOS recorded; whole-batch times would also count the waits for the next poll).
#
# What to expect: with the GIL, the three take turns on one CPU. The process uses at
# most one CPU's worth of time, the three together take about as long as one after the
# other (3× one job), and each takes longer than it did alone. Threads without a GIL
# would run side by side: on two CPUs, two CPUs' worth of time, about 1.5× one job.
# That is why fiblab gives CPU-bound work several server **processes** with
# `worker_concurrency=1` each (notebooks 03–04 and 09).

# %%
import statistics

import psutil

from fiblab.machine import usable_cores

kernel = psutil.Process()  # this notebook's kernel: DBOS runs the workflows here


async def cpu_batch(queue, jobs=3, n=30):
    """Enqueue `jobs` fib(n) workflows on `queue`; return results, step rows, CPU seconds."""
    cpu_before = sum(kernel.cpu_times()[:2])
    handles = [await queue.enqueue_async(fibonacci_workflow, n) for _ in range(jobs)]
    results = [await h.get_result(polling_interval_sec=0.01) for h in handles]
    cpu = sum(kernel.cpu_times()[:2]) - cpu_before
    return results, fc.step_rows(lab.client, [h.workflow_id for h in handles]), cpu


alone, _, _ = await cpu_batch(one_at_a_time)
shared, shared_rows, shared_cpu = await cpu_batch(three_at_a_time)
alone_seconds = [seconds for (_n, _v, seconds) in alone]
shared_seconds = [seconds for (_n, _v, seconds) in shared]
one_job = statistics.mean(alone_seconds)
shared_span = max(r["end"] for r in shared_rows) - min(r["start"] for r in shared_rows)
cpus_used = shared_cpu / shared_span  # CPU seconds per second while the three ran
cores = usable_cores()
print("each fib(30), one at a time:  ", ", ".join(f"{s:.2f} s" for s in alone_seconds))
print("each fib(30), three at a time:", ", ".join(f"{s:.2f} s" for s in shared_seconds))
print(f"three at once: {shared_span:.2f} s from first start to last end = "
      f"{shared_span / one_job:.1f}x one job (one after the other: 3x; "
      f"without a GIL on {cores} CPUs: {3 / min(3, cores):.1f}x)")
print(f"CPUs this process used meanwhile: {cpus_used:.2f} "
      f"(without a GIL: up to {min(3, cores)})")

# %% [markdown]
# **Check:** every answer is right, and while the three computed, this process used
# less than halfway between one CPU (the GIL) and two (threads side by side on two
# CPUs). Twenty runs on a busy 2-core machine measured 0.83–1.20 CPUs
# (`benchmarks/README.md`). On one CPU the two cannot be told apart, so the check needs
# two. The times above are for reading: a busy machine moves them by ±30 %.

# %%
assert all(r[:2] == (30, 832040) for r in alone + shared)
if cores >= 2:
    assert cpus_used < 1.5

# %% [markdown]
# ## Polling decides how long a small job waits
#
# Nothing *pushes* work to a DBOS process: it looks at the queue every
# `polling_interval_sec`. And a handle's `get_result` looks at the workflow every
# `polling_interval_sec` of its own. Both default to **1 second**. For a job that
# takes microseconds, those intervals are the whole latency.
#
# We time the round trip enqueue → result for a tiny job, `fibonacci_workflow(1)`, with
# three settings:
#
# | setting | queue polls every | `get_result` polls every |
# |---|---|---|
# | DBOS defaults | 1.0 s | 1.0 s |
# | fast queue, default handle | 0.1 s | 1.0 s |
# | fiblab's defaults | 0.1 s | 0.01 s |

# %%
import asyncio

default_queue = await DBOS.register_queue_async("dbos_default_polling")  # 1.0 s
fast_queue = await DBOS.register_queue_async("fast_polling", polling_interval_sec=0.1)


async def round_trips(queue, result_polling, repeats):
    # One unmeasured job first: a queue registered a moment ago waits for the queue
    # manager's next scan (about a second) before its first poll.
    await (await queue.enqueue_async(fibonacci_workflow, 1)).get_result(polling_interval_sec=0.01)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        handle = await queue.enqueue_async(fibonacci_workflow, 1)
        assert (await handle.get_result(polling_interval_sec=result_polling))[:2] == (1, 1)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# The two slow settings side by side, one trip each: a handle that looks once a second
# makes every trip about a whole number of seconds. Then ours, the median of five, alone
# (run beside the slow ones, it once made the 1-second handle's trip shorter than 0.9 s).
slow = await asyncio.gather(round_trips(default_queue, 1.0, repeats=1),
                            round_trips(fast_queue, 1.0, repeats=1))
latency = {
    "DBOS defaults": slow[0],
    "fast queue,\ndefault handle": slow[1],
    "fiblab defaults": await round_trips(fast_queue, 0.01, repeats=5),
}
for name, seconds in latency.items():
    print(f"{name.replace(chr(10), ' '):28s} {seconds * 1000:7.0f} ms")
plots.plot_bars(list(latency), list(latency.values()), "round trip (s)",
                "Round trip of a tiny job");

# %% [markdown]
# **Check:** with a 1-second handle, any result not ready at the first look costs at
# least a second; fiblab's settings bring the round trip down by more than 5×.
#
# The price of polling faster is CPU: every poll is a database query, even when the
# queue is empty. Notebook 09 measures that trade-off; 0.1 s costs a few percent of a
# core per idle process, which is why fiblab's servers use it.

# %%
assert latency["fast queue,\ndefault handle"] >= 0.9
assert latency["fiblab defaults"] < latency["DBOS defaults"] / 5
assert latency["fiblab defaults"] < 0.5

# %% [markdown]
# ## Exercise
#
# Register a queue `two_at_a_time` with `worker_concurrency=2` and run `run_batch` on
# it. Predict the wall time before you run it: what fraction of the concurrency-1 time
# should it be? Check the peak overlap with `timeline.max_concurrency`.

# %%
# Your code here

# %% tags=["solution"] jupyter={"source_hidden": true}
two_at_a_time = await DBOS.register_queue_async(
    "two_at_a_time", worker_concurrency=2, polling_interval_sec=0.1
)
await warm(two_at_a_time)  # its first look, as for the others
two_wall, two_rows = await run_batch(two_at_a_time)
print(f"{two_wall:.2f} s, about {two_wall / serial_wall:.0%} of the one-at-a-time time")
# Six jobs in three rounds of two instead of six rounds of one: about half (thirty runs on
# a 2-core machine with every core kept busy: 0.49–0.62; three at a time gave 0.40–0.49).
assert timeline.max_concurrency(timeline.workflow_spans(two_rows)) == 2
assert 0.4 < two_wall / serial_wall < 0.75

# %% [markdown]
# ## Summary
#
# * A queue holds workflows until a process takes them; `worker_concurrency` caps how
#   many one process runs at once. Queue settings live in the system database.
# * Threads in one process help waiting work, not CPU-bound work.
# * Latency of small jobs is set by two polling intervals: the queue's and the handle's.
#   fiblab uses 0.1 s and 0.01 s instead of DBOS's 1 s defaults.
#
# **Next:** [03 · Servers](03_servers.ipynb) — the same workflows in separate server
# processes that we can start, stop and kill.

# %%
lab.close()  # shut down DBOS in this kernel
