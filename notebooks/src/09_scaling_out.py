# %% [markdown]
# # 09 · Scaling out: more servers, one queue, one database
#
# **You will be able to:** measure how throughput grows with the number of servers on
# one queue against what the machine gives plain processes at the same moment, explain the polling trade-off between
# latency and idle CPU, and sketch a deployment where servers on several machines share
# one PostgreSQL system database.
#
# **Prerequisites:** [04 · Client handles](04_client_handles.ipynb) and
# [05 · Crash and recovery](05_crash_and_recovery.ipynb).
#
# **Time:** about 15 minutes.

# %% [markdown]
# ## The baseline: what this machine can do
#
# Before timing DBOS servers we time the same jobs with Python's
# `concurrent.futures.ProcessPoolExecutor`: plain processes, no database, no queue. That
# is the practical limit of this machine for CPU-bound work *at this moment*: it gets
# only the CPUs other programs leave free. Every server figure below is compared to it.
# Each job is a recursive `fib(n)` sized to take about 0.15 s, six of them: about 0.9 s
# of work for one process. The pools with 1, 2 and 4 processes are timed first, before
# any server runs. While we time (here, and the servers below) we also count the CPU
# time the whole machine spent, to tell how much of it went to *other* programs.

# %%
import time

import psutil

from fiblab.machine import n_for_seconds, pool_seconds, usable_cores


def cpu_snapshot():
    """(now, CPU seconds the machine spent busy, CPU seconds of this kernel and its children)."""
    machine = psutil.cpu_times()
    busy = sum(machine) - machine.idle - getattr(machine, "iowait", 0)
    kernel = psutil.Process()
    mine = sum(kernel.cpu_times()[:4])  # user, system, and of its ended children
    for child in kernel.children(recursive=True):  # servers that still run
        try:
            mine += sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return time.perf_counter(), busy, mine


def others_window(before):
    """(seconds, CPU seconds of other programs) since the snapshot ``before``."""
    (now, busy, mine), (then, busy_then, mine_then) = cpu_snapshot(), before
    return now - then, max(0.0, (busy - busy_then) - (mine - mine_then))


cores = usable_cores()  # logical CPUs this process may run on (affinity included)
n = n_for_seconds(0.15)  # time fib(25) here, scale by the golden ratio per step of n
jobs = [n] * 6

server_counts = [1, 2, 4]
pools_start = cpu_snapshot()
pool = {k: pool_seconds(jobs, k) for k in server_counts}  # ProcessPoolExecutor(k)
windows = {"pools": others_window(pools_start)}
print(f"{cores} cores; {len(jobs)} jobs of fib({n}); pool of 1, 2, 4 processes:",
      ", ".join(f"{seconds:.2f} s" for seconds in pool.values()))

# %% [markdown]
# ## 1, 2 and 4 servers on one queue
#
# Now the same six jobs through `my_queue`, served by 1, then 2, then 4 fiblab servers
# that each compute one job at a time: we start one server, time the jobs, add a second,
# time them again, add two more. The timer starts at the first enqueue and stops at the
# last result; the new servers are started (and ready) before it. We run this on the
# embedded SQLite database first.
#
# A server with `worker_concurrency=1` takes its next job only at its next poll (polling
# sets latency: [02 · Queues](02_queues.ipynb#Polling-decides-how-long-a-small-job-waits)),
# so it idles up to 0.1 s between jobs. fiblab's `--prefetch 1` (a fiblab option, not a
# DBOS one) avoids that: the queue gets `worker_concurrency=2`, and a semaphore in
# fiblab's `compute_fibonacci` step lets only one of the two compute at a time, so the
# next job waits inside the server and starts the moment the last one ends. The price:
# a prefetched job is bound to that server — an idle server cannot take it, and if
# this one crashes, it waits for its recovery too. All servers below run with
# `--prefetch 1`; `benchmarks/run.py` measures what it changes (`benchmarks/README.md`).

# %%
from fiblab import client as fc
from fiblab.fib import fib_iterative
from fiblab.lab import Lab


def add_servers(lab, servers, k):
    """Start servers until k run (server-1 … server-k, each with --prefetch 1)."""
    names = [f"server-{i + 1}" for i in range(len(servers), k)]
    servers.extend(lab.start_servers(names, extra_args=["--prefetch", "1"]))


def jobs_seconds(lab):
    """Run the jobs through the queue on the servers running now; return the time."""
    fc.wait_result(lab.client.enqueue(fc.enqueue_options(), 1))  # warm: a first dequeue
    started = time.perf_counter()
    handles = fc.enqueue_many(lab.client, jobs)
    results = dict(fc.results_as_completed(lab.client, handles))
    seconds = time.perf_counter() - started
    assert all(r[:2] == (n, fib_iterative(n)) for r in results.values()), results
    return seconds


sqlite_lab = Lab.fresh("09_scaling_sqlite", sqlite=True)
sqlite_servers, on_sqlite = [], {}
servers_start = cpu_snapshot()
for k in server_counts:
    add_servers(sqlite_lab, sqlite_servers, k)
    on_sqlite[k] = jobs_seconds(sqlite_lab)
    print(f"{k} server(s): {on_sqlite[k]:.2f} s   (pool of {k}: {pool[k]:.2f} s)")
windows["servers"] = others_window(servers_start)

# %% [markdown]
# We compare everything with **one plain process** (`pool[1]`): a value of 2 means
# "twice the throughput of one plain process". The black marks show what the pool with
# as many processes got: the most this machine gave plain processes at that moment.
# More processes than free CPUs cannot add CPU: they take turns.

# %%
from fiblab import plots

servers_x = {k: pool[1] / on_sqlite[k] for k in server_counts}
pool_x = {k: pool[1] / pool[k] for k in server_counts}
ax = plots.plot_bars([f"{k} server(s)" for k in server_counts], list(servers_x.values()),
                     "throughput vs one plain process",
                     f"{len(jobs)} x fib({n}) on {cores} CPUs (SQLite)")
ax.hlines(list(pool_x.values()), [i - 0.4 for i in range(len(server_counts))],
          [i + 0.4 for i in range(len(server_counts))], colors="black",
          label="ProcessPoolExecutor, as many processes")
ax.set_ylim(0, max([*servers_x.values(), *pool_x.values()]) * 1.3)  # room for the legend
ax.legend(loc="upper left", fontsize=8);

# %% [markdown]
# **What this run shows**, in words computed from its numbers. How far servers scale
# depends on the CPUs actually free while they run (other programs take some), on the
# polling and checkpoint writes between jobs, and on the job size (the shorter the job,
# the more those fixed costs weigh). One run on a shared machine moves a lot from one
# moment to the next, too much for a check that means something; `benchmarks/run.py`
# repeats it. What is checked: every result was right (inside `jobs_seconds`).

# %%
wall = sum(seconds for seconds, _cpu in windows.values())
others = sum(cpu for _seconds, cpu in windows.values()) / wall  # CPUs busy for others
share = {k: pool[k] / on_sqlite[k] for k in server_counts}  # servers' share of the pool
most = min(2, cores)  # what two plain processes can give at best
print(f"Servers: 2 gave {servers_x[2]:.2f}x and 4 gave {servers_x[4]:.2f}x the throughput of "
      f"one plain process; the pool with as many processes gave {pool_x[2]:.2f}x and "
      f"{pool_x[4]:.2f}x, so the servers got {share[2]:.0%} and {share[4]:.0%} of it.")
print(f"Two plain processes gave {pool_x[2]:.2f}x one (at most {most}x on {cores} CPUs); "
      f"other programs kept {others:.1f} of the machine's {psutil.cpu_count()} CPUs busy on "
      f"average while we timed ({wall:.0f} s).")
if others >= 0.25 or pool_x[2] < 0.8 * most:
    print("This run was disturbed: other programs competed for the CPUs, so the figures above "
          "show what was left of the machine, not what it gives when quiet.")
else:
    print("Other programs left the CPUs to this notebook: the figures above are this "
          "machine's, quiet.")

# %% [markdown]
# ## Going deeper: the same on PostgreSQL
#
# SQLite is one file on one machine: fine for a laptop, and all servers must share that
# machine. Servers on *several* machines need a database they can all reach: PostgreSQL.
# This part runs when `FIBLAB_DATABASE_URL` points at one (`make test` runs every
# notebook a second time on a throwaway PostgreSQL). To try it yourself, in a terminal
# from the repository folder:
#
# <!-- doc-test: needs-postgres -->
# ```bash
# .venv/bin/python -m fiblab.localpg start     # a throwaway local PostgreSQL
# source scratch/postgres/env                  # sets FIBLAB_DATABASE_URL (password not shown)
# .venv/bin/python -m fiblab.localpg status
# ```
#
# then `make lab` in that terminal; `python -m fiblab.localpg stop` removes it again.
#
# On one machine the PostgreSQL server's processes share the CPUs with the servers (and
# answer every poll): the times below include what they take (printed, not checked, for
# the reason given above). Across machines the database has CPUs of its own.

# %%
import os

from fiblab import config

postgres_url = os.environ.get(config.DATABASE_URL_ENV, "")
if config.is_postgres(postgres_url or "sqlite:///"):
    pg_lab, pg_servers, on_postgres = Lab.fresh("09_scaling_pg"), [], {}
    for k in (1, 2):
        add_servers(pg_lab, pg_servers, k)
        on_postgres[k] = jobs_seconds(pg_lab)
    for k, seconds in on_postgres.items():
        print(f"PostgreSQL, {k} server(s): {seconds:.2f} s   (SQLite: {on_sqlite[k]:.2f} s)")
    pg_lab.close()
else:
    print("No PostgreSQL URL in FIBLAB_DATABASE_URL: skipping this part (see above).")

# %% [markdown]
# ## Going deeper: the polling trade-off, measured on servers
#
# [02 · Queues](02_queues.ipynb#Polling-decides-how-long-a-small-job-waits) showed that
# polling sets how long a small job waits. Here we measure both sides of the trade-off on
# server processes: four servers, each on a queue of its own polled every 0.02, 0.1, 0.3
# and 1.0 s (DBOS's default); the CPU each one burns while idle (all four over the same
# 2.5 seconds), then the round trip of a tiny job through each queue.

# %%
import statistics
from concurrent.futures import ThreadPoolExecutor

from fiblab.processes import ServerGroup
from fiblab.spawn import cpu_percents

ServerGroup(sqlite_servers).stop()  # the scaling servers are done
lab = Lab.fresh("09_polling", sqlite=True)
intervals = [0.02, 0.1, 0.3, 1.0]
pollers = {i: lab.server(f"poller-{round(i * 1000)}ms", queue=f"poll-{round(i * 1000)}ms",
                         polling_interval=i) for i in intervals}
ServerGroup(list(pollers.values())).start()
# CPU time is counted in clock ticks (10 ms on Linux): 2.5 s span several polls and
# several ticks even at 1 s polling, where a short sample would show 0 %.
idle_cpu = dict(zip(intervals, cpu_percents(list(pollers.values()), 2.5)))


def median_round_trip(interval):
    """Median time from enqueue to result of fib(1) on the poller polled every `interval`."""
    queue, trips = pollers[interval].queue, []
    for _ in range(3 if interval < 0.3 else 2):
        started = time.perf_counter()
        fc.wait_result(lab.client.enqueue(fc.enqueue_options(queue=queue), 1))
        trips.append(time.perf_counter() - started)
    return statistics.median(trips)


# The two fast pollers one after the other; then the slow two side by side, to save time:
# their trips are mostly waits for the next poll.
latency = {interval: median_round_trip(interval) for interval in intervals[:2]}
with ThreadPoolExecutor(2) as side_by_side:
    latency.update(zip(intervals[2:], side_by_side.map(median_round_trip, intervals[2:])))
for interval in intervals:
    print(f"poll every {interval:4.2f} s: round trip {latency[interval] * 1000:6.0f} ms, "
          f"idle CPU {idle_cpu[interval]:5.1f}% of a core")

# %%
import matplotlib.pyplot as plt
from matplotlib.ticker import FixedLocator, NullLocator

fig, left = plt.subplots(figsize=(7, 3.5), layout="constrained")
left.plot(intervals, [latency[i] * 1000 for i in intervals], "o-", color="tab:blue")
left.set_xscale("log")
left.xaxis.set_major_locator(FixedLocator(intervals))  # ticks at the measured intervals
left.xaxis.set_minor_locator(NullLocator())
left.set_xticklabels([f"{i:g}" for i in intervals])
left.set_xlabel("queue polling interval (s)")
left.set_ylabel("round trip (ms)", color="tab:blue")
right = left.twinx()
right.plot(intervals, [idle_cpu[i] for i in intervals], "s--", color="tab:red")
right.set_ylabel("idle CPU (% of a core)", color="tab:red")
left.set_title("Polling: latency against idle CPU");

# %% [markdown]
# **Check:** above 0.1 s, a longer interval means a slower round trip (1.0 s at least
# twice as slow as 0.1 s), and the fastest polling costs more idle CPU than the slowest
# (more than twice as much). Below 0.1 s the fixed costs of a round trip — database
# writes and reads on both sides, the client's own polling — are a larger part of it.
# What polling 5× as often bought in this run, in numbers (the idle figures are counted
# in clock ticks, so the small ones are rough: one tick is 0.4 % of 2.5 s):

# %%
print(f"0.02 s instead of 0.1 s: round trip {latency[0.02] * 1000:.0f} ms instead of "
      f"{latency[0.1] * 1000:.0f} ms, idle CPU {idle_cpu[0.02]:.1f}% instead of "
      f"{idle_cpu[0.1]:.1f}% of a core")
print(f"1.0 s instead of 0.1 s: round trip {latency[1.0] / latency[0.1]:.1f}x as long, idle CPU "
      f"{idle_cpu[1.0]:.1f}% of a core")
assert latency[1.0] > 2 * latency[0.1]  # 3.9x at the least in benchmarks/README.md's runs
assert latency[0.3] > latency[0.1]
assert idle_cpu[1.0] > 0  # the sample was long enough to see a slow-polling server at all
assert idle_cpu[0.02] > 2 * idle_cpu[1.0]

# %% [markdown]
# ## Servers on other machines
#
# Nothing in fiblab assumes one machine except the SQLite default. With PostgreSQL:
#
# ```
#   machine A                  machine B                  anywhere
#  ┌──────────────────────┐   ┌──────────────────────┐   ┌───────────────────────┐
#  │ fiblab.server        │   │ fiblab.server        │   │ client (DBOSClient)   │
#  │ executor_id=a-1      │   │ executor_id=b-1      │   │ enqueue my_queue      │
#  │ app version fiblab-1 │   │ app version fiblab-1 │   │ fibonacci_workflow(n) │
#  └─────────┬────────────┘   └─────────┬────────────┘   └──────────┬────────────┘
#            │  poll my_queue, write     │                           │ enqueue, read
#            │  checkpoints              │                           │ results
#            └────────────┬──────────────┴─────────────┬─────────────┘
#                  ┌──────┴──────────────────────────────┐
#                  │ PostgreSQL: the DBOS system database │
#                  └──────────────────────────────────────┘
# ```
#
# What to get right:
#
# * **One database, reachable by all.** Every server and client uses the same
#   `system_database_url`; the database is the only thing they share.
# * **A stable executor id per server slot** (a host name plus a slot number, a
#   StatefulSet ordinal), restarted under the same id: recovery is per executor id,
#   [05 · Crash and recovery](05_crash_and_recovery.ipynb#Recovery-is-per-executor-id).
# * **One pinned application version** everywhere, and a new one rolled out on purpose:
#   [05 · Crash and recovery](05_crash_and_recovery.ipynb#The-application-version-trap)
#   shows what a second version does.
# * **One computation at a time per server process, one process per free core** (the
#   GIL: [02 · Queues](02_queues.ipynb#Concurrency-does-not-help-CPU-bound-work-in-one-process)):
#   `worker_concurrency=1`, or `2` with fiblab's prefetch, as above.

# %% [markdown]
# ## Going deeper: how far one database goes
#
# Every server polls, even with nothing to do, so the database pays for servers × polls
# per second. Measured with PostgreSQL on this project's 2-core machine (to read, not
# checked here: `benchmarks/README.md`, section 11, `benchmarks/run.py --only pg-cost
# --postgres`): an idle server polling every 0.1 s cost PostgreSQL about 16–17.5 ms of
# CPU per second, and a workflow about 20 statements and 4–5 ms. That puts roughly 27
# busy servers (0.3 s jobs) or 35–65 idle ones per database core — but connections ran
# out first: each server held 6, so PostgreSQL's default `max_connections = 100` stopped
# at about 15 servers. Fewer polls (a longer interval while idle) buy more room.

# %% [markdown]
# ## Going deeper: Exercise — slow down a running server
#
# A queue's settings live in the system database, and a running server re-reads them
# before each poll ([02 · Queues](02_queues.ipynb)). Make the busiest idle server,
# `pollers[0.02]`, poll only once a second **without restarting it**: register its queue
# (`pollers[0.02].queue`) again from the client with
# `await lab.client.register_queue_async(...)`, keeping `worker_concurrency=1` and setting
# `polling_interval_sec` (a client's `register_queue` defaults it to DBOS's 1.0 s, so say
# it anyway). Then measure its idle CPU over 1 second into `slowed_cpu`
# (`pollers[0.02].cpu_percent(1.0)`). The check compares it with the 0.02 s figure above.
#
# (A *shorter* interval takes effect gradually: DBOS's queue thread shortens its wait
# by 10 % per poll until it reaches the new one — read `queue_worker_thread` in
# `dbos/_queue.py`. A longer one applies at the next poll.)

# %% tags=["solution"] jupyter={"source_hidden": true}
await lab.client.register_queue_async(
    pollers[0.02].queue, worker_concurrency=1, polling_interval_sec=1.0
)
slowed_cpu = pollers[0.02].cpu_percent(1.0)

# %% tags=["exercise-check"]
from fiblab.exercises import expect, require

require(globals(), "slowed_cpu", task="register the queue again and measure slowed_cpu")
print(f"idle CPU at 0.02 s polling: {idle_cpu[0.02]:.1f}%; after the change: {slowed_cpu:.1f}%")
expect(pollers[0.02].alive, "pollers[0.02] is no longer running: change its queue, do not stop it")
expect(slowed_cpu < idle_cpu[0.02] / 2,
       f"{slowed_cpu:.1f}% is not less than half of {idle_cpu[0.02]:.1f}%: register "
       "pollers[0.02].queue with polling_interval_sec=1.0, then measure again")

# %% [markdown]
# ## Summary
#
# * More servers on one queue add throughput only while they find free CPUs: how much
#   depends on the cores actually free (other programs take some), on the polling
#   between jobs (a server idles up to a poll unless it prefetches, `--prefetch 1`), and
#   on the job size (fixed costs weigh more on short jobs). Past the free cores, servers
#   only take turns. This run's figures and their conditions are printed under the plot.
# * Across machines: one PostgreSQL, stable executor ids, one pinned application
#   version.
# * Going deeper: the queue polling interval trades latency for idle CPU; fiblab chose
#   0.1 s.
#
# This is the end of the series. Back to the [index](00_index.ipynb).

# %%
sqlite_lab.close()  # stops every server this notebook started
lab.close()
