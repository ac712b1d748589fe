# %% [markdown]
# # 09 · Scaling out: more servers, one queue, one database
#
# **You will be able to:** measure how throughput grows with the number of servers on
# one queue against what the machine gives plain processes at the same moment, explain the polling trade-off between
# latency and idle CPU, and sketch a deployment where servers on several machines share
# one PostgreSQL system database; going deeper, watch servers on PostgreSQL live through
# the database going away.
#
# **Prerequisites:** [04 · Client handles](04_client_handles.ipynb) and
# [05 · Crash and recovery](05_crash_and_recovery.ipynb).
#
# **Time:** about 34 minutes: 9 on the core track, 25 going deeper.

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
# Now the same six jobs through `my_queue`, served by 4, then 2, then 1 fiblab servers
# that each compute one job at a time: we start four servers at once, time the jobs, stop
# two, time them again, stop one more (starting them together is quicker than one by
# one, and an idle server that stops leaves nothing behind on the queue). The timer
# starts at the first enqueue and stops at the last result; the servers are started (and
# ready), or stopped, before it. We run this on the embedded SQLite database first.
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
from fiblab.processes import ServerGroup


def start_servers(lab, k):
    """Start server-1 … server-k at once, each with --prefetch 1; a list of them, ready."""
    names = [f"server-{i + 1}" for i in range(k)]
    return list(lab.start_servers(names, extra_args=["--prefetch", "1"]))


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
on_sqlite = {}
servers_start = cpu_snapshot()
sqlite_servers = start_servers(sqlite_lab, max(server_counts))
for k in sorted(server_counts, reverse=True):  # 4, 2, 1
    ServerGroup(sqlite_servers[k:]).stop()  # k servers stay on my_queue
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
# This part runs on one. If `FIBLAB_DATABASE_URL` points at a PostgreSQL server, that one;
# otherwise, when PostgreSQL's programs are installed on this machine, a throwaway
# PostgreSQL that `fiblab.localpg` starts for this notebook (a temporary folder,
# 127.0.0.1 only, a random password that is never printed). The last cell removes it; if
# the kernel is restarted or dies first, a watcher process does. Without either, the cell
# says how to install PostgreSQL, and this part and the next are skipped (and say so).
#
# Two servers share `my_queue` on it and run the six jobs from above. On one machine the
# PostgreSQL server's own processes answer every poll and write every checkpoint on the
# same CPUs as the servers: when the database is this notebook's own, we count their CPU
# time while the jobs run (printed, not checked, for the reason given above; the results
# are checked). Across machines the database has CPUs of its own.

# %%
from collections import Counter

from fiblab import config
from fiblab.localpg import postgres_for_notebook

# Not inside a Lab's scratch folder: Lab.fresh empties those.
pg = postgres_for_notebook(config.scratch_dir("09_pg_cluster") / "postgres")
if pg.url is None:
    pg_lab = None
    print(pg.source)
    print("\nSo this part and the next are skipped: they need PostgreSQL. Install it as said "
          "above, then run this cell and the ones below again.")
else:
    print("PostgreSQL:", pg.source)
    if pg.cluster is not None:
        print(f"Started in {pg.start_seconds:.1f} s; the last cell of this notebook removes it.")
    pg_lab = Lab.fresh("09_postgres", postgres=pg.url)
    pg_servers = start_servers(pg_lab, 2)
    database_before = pg.cluster.cpu_seconds() if pg.cluster else None
    pg_start = cpu_snapshot()
    on_postgres = jobs_seconds(pg_lab)
    pg_seconds, _others = others_window(pg_start)
    servers_cpu = cpu_snapshot()[2] - pg_start[2]  # this kernel and its servers
    taken = Counter(w.executor_id for w in pg_lab.client.list_workflows(name="fibonacci_workflow"))
    print(f"2 servers on PostgreSQL: {on_postgres:.2f} s for the {len(jobs)} jobs (on SQLite: "
          f"{on_sqlite[2]:.2f} s); jobs per server, a first warm-up job included: "
          + ", ".join(f"{name} {count}" for name, count in sorted(taken.items())))
    if pg.cluster is not None:
        database_cpu = pg.cluster.cpu_seconds() - database_before
        print(f"While they ran ({pg_seconds:.1f} s, the warm-up included), PostgreSQL's own "
              f"processes used {database_cpu:.2f} s of CPU ({database_cpu / pg_seconds:.0%} of one "
              f"of the {cores} CPUs), against {servers_cpu:.2f} s for the servers and this "
              "notebook: time on the same CPUs the servers compute on.")
    else:
        print("PostgreSQL's own CPU is not counted here: that server is not this notebook's "
              "(it may be on another machine, or shared with other programs).")

# %% [markdown]
# ## Going deeper: the database goes away
#
# What happens to running workflows when the database disappears? We halt this
# notebook's PostgreSQL (`pg_ctl stop`: sessions ended, new connections refused) while
# four step workflows run on the two servers (`fibonacci_steps_workflow(20)`, 0.02 s a
# step), SIGKILL `server-1` while the database is down and start it again at once (as a
# supervisor would), and start PostgreSQL again, with the same data
# (`fiblab.chaos.with_outage`), as soon as both servers have met the outage: `server-2`'s
# log shows a workflow's first backoff, and the restarted `server-1`'s its first failed
# attempt to reach the database (the cell waits for both lines, so how long the database
# stays down depends on how fast this machine gets there, and is printed). What a server
# does meanwhile was read in DBOS's source and seen in its logs (`benchmarks/README.md`,
# "Chaos with database outages"):
#
# > **A workflow waits at its next checkpoint, forever, with exponential backoff.** The
# > database calls of a running workflow […] go through `db_retry` (`_sys_db.py`): on a
# > connection error […] it logs `Database connection failed: … Retrying in 0.82s
# > (attempt 1)` and sleeps 1, 2, 4, 8 … s, at most 60 s, each × 0.5–1.5, with no overall
# > deadline […]. So the step that was running finishes, its result waits in memory, and
# > no further step starts; the workflow goes on only at its first attempt after the
# > resume — up to one backoff later.
# >
# > **The queue poller keeps polling at its own interval and logs every failure.**
# >
# > **The server process stays up** […]: nothing in DBOS exits on a lost database.
# >
# > **A server started while the database is down** (the restarted victim) waits in
# > fiblab's `prepare_database` […], and fiblab tries again every 0.5 s […] for up to
# > `--database-wait` seconds (default 30, then exit code 5). Once the database is back
# > it launches DBOS, which recovers the workflows its executor id left `PENDING`.
#
# This needs a database we may halt: our own. When `FIBLAB_DATABASE_URL` names the
# server (`make test`'s PostgreSQL pass shares one between notebooks), the outage is
# skipped, and the cell says why.

# %%
from fiblab.chaos import ChaosReport, audit, with_outage
from fiblab.waiting import wait_for

STEPS_N, STEP_SECONDS = 20, 0.02
can_halt = pg.cluster is not None
if can_halt:
    victim, survivor = pg_servers
    outage_handles = [pg_lab.enqueue_steps(STEPS_N, step_seconds=STEP_SECONDS) for _ in range(4)]
    outage_ids = [handle.workflow_id for handle in outage_handles]
    wait_for(lambda: all(len(pg_lab.executions(i)) >= 6 for i in outage_ids), 30,
             "every workflow to run 6 steps")
    killed_pid, survivor_pid, moments = victim.pid, survivor.pid, {}

    def kill_and_restart():
        """While the database is down: SIGKILL server-1 and start it again at once; return
        once both servers have logged what they do without the database."""
        moments["down"] = time.time()  # pg_ctl has stopped the database by now
        survivor_logged = len(survivor.logs())  # what it wrote before the outage
        victim.kill()
        victim.start()
        wait_for(lambda: "Retrying in" in survivor.logs()[survivor_logged:]
                 and "DBOS migrations failed" in victim.logs(), 30,
                 f"{survivor.name} to back off and {victim.name} to fail to reach the database")

    outage = with_outage(pg.cluster, 0, during=kill_and_restart)  # resumed when that returns
    victim.wait_ready()
    moments["ready"] = time.time()
    verdict = ChaosReport(seed=0, workflows=len(outage_handles))  # lost / wrong / duplicated
    audit(pg_lab, outage_handles, STEPS_N, verdict, timeout=60)
    print(f"The database was down {outage.seconds:.1f} s; {victim.name} (pid {killed_pid}) "
          f"was killed and started again as pid {victim.pid}, ready "
          f"{moments['ready'] - outage.end:.1f} s after the database was back.")
elif pg.url:
    print(f"No outage in this run: the database is not ours to halt: {config.DATABASE_URL_ENV} "
          "points at a shared server.")
else:
    print("No PostgreSQL, so no outage (see the section above).")


# %% [markdown]
# **Check:** every workflow ended `SUCCESS` with `(20, fib(20))`; no step that DBOS had
# recorded ran again (`fiblab.chaos.audit` compares the step rows' completion times with
# fiblab's step log, which every step writes when it starts; a step that was running when
# its process was killed may run again: steps are at least once); while the database was
# surely down (from `pg_ctl stop`'s return until `pg_ctl start` was run: it answers a
# moment before `pg_ctl start` returns), at most one step of each workflow started (a
# step starts only after DBOS has read
# the database for it, so only a read that came just before the halt lets one begin, and
# the next needs this one's result recorded: the database must be back); the killed
# server held workflows when it died; and the server that lived through the outage is
# still the same process. Who finished the killed server's workflows is printed, not
# checked: only its restart under the same executor id recovers them
# ([05](05_crash_and_recovery.ipynb#Recovery-is-per-executor-id)), but recovering puts them
# back on `my_queue` rather than running them (`_recover_workflow` in `dbos/_recovery.py`),
# so whichever server polls first with a free slot takes each one: often the restarted
# `server-1`, sometimes `server-2` once its own workflows are done.

# %%
def first_step_after(runs, pid, moment):
    """When process `pid` first started a step after `moment` (epoch seconds), in words."""
    later = [run["at"] - moment for run in runs if run["pid"] == pid and run["at"] > moment]
    return f"{min(later):.2f} s later" if later else "never (its workflows had ended)"


if can_halt:
    runs = pg_lab.executions()
    held = sorted({run["workflow_id"] for run in runs if run["pid"] == killed_pid})
    # From pg_ctl stop's return to the moment pg_ctl start was run, the database was
    # certainly down (it answers a little before pg_ctl start returns: outage.end).
    while_down = [run for run in runs if moments["down"] <= run["at"] <= outage.resumed_at]
    rows = fc.step_rows(pg_lab.client, outage_ids)
    succeeded = len(outage_handles) - len(verdict.lost) - len(verdict.wrong)
    print(f"{succeeded} of {len(outage_handles)} workflows ended SUCCESS with the right result "
          f"(lost {len(verdict.lost)}, wrong {len(verdict.wrong)}); steps that DBOS had recorded "
          f"and ran again: {len(verdict.duplicated)}; steps in flight at the kill that ran "
          f"again: {verdict.rerun_in_flight}.")
    print(f"Steps started while the database was down: {len(while_down)}. {victim.name} held "
          f"{len(held)} workflow(s) when it was killed. After the database came back, the first "
          f"step of the restarted {victim.name} came "
          f"{first_step_after(runs, victim.pid, outage.end)}, the first of {survivor.name}, "
          f"which lived through it, {first_step_after(runs, survivor_pid, outage.end)}; the "
          f"last workflow ended "
          f"{max(row['end'] for row in rows) - outage.end:.1f} s after it.")
    last_run = {run["workflow_id"]: run["pid"] for run in runs}  # runs are in time order
    finishers = Counter(f"{victim.name} (restarted)" if last_run[workflow_id] == victim.pid
                        else survivor.name for workflow_id in held)
    print(f"The {len(held)} workflow(s) of the killed {victim.name} were finished by: "
          + ", ".join(f"{name} {count}" for name, count in sorted(finishers.items())) + ".")
    assert (verdict.lost, verdict.wrong, verdict.duplicated) == ([], [], []), verdict.summary()
    assert len({run["workflow_id"] for run in while_down}) == len(while_down), while_down
    assert held  # server-1 died in the middle of workflows, as the demonstration needs
    assert survivor.alive and survivor.pid == survivor_pid
else:
    print("Nothing to check: there was no outage (see above).")

# %% [markdown]
# The timeline: one lane per workflow, each step coloured by the process whose checkpoint
# DBOS kept. Watch for the gap around the outage (the steps already running finish, no
# new one starts), the killed server's workflows going on in its restarted process, and
# when the survivor's go on: at their next retry, up to one backoff after the database is
# back.

# %%
from matplotlib.patches import Patch

if can_halt:
    ran_by = {(run["workflow_id"], run["step"]): run["pid"] for run in runs}  # the last run
    process_names = {killed_pid: f"{victim.name} (killed)",
                     victim.pid: f"{victim.name} (restarted)", survivor_pid: survivor.name}
    colours = {pid: f"C{i}" for i, pid in enumerate(process_names)}
    coloured = [{**row, "colour": colours[ran_by[(row["workflow_id"], row["step_id"] + 1)]]}
                for row in plots.lanes_by_workflow(rows, "workflow")]
    markers = [*outage.markers(), (moments["down"], f"{victim.name} killed, started again")]
    outage_ax = plots.plot_timeline(coloured, lane_key="lane", label_key=None, markers=markers,
                                    title=f"A {outage.seconds:.1f} s database outage", ylabel="")
    outage_ax.legend(handles=[Patch(color=colours[pid], label=name)
                              for pid, name in process_names.items()],
                     loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
else:
    print("No outage, no timeline (see above).")

# %% [markdown]
# What the two servers logged, from their log files (shortened to one line per entry,
# tracebacks left out; `Retrying in …` is DBOS's `db_retry` backoff of a workflow that
# waits for the database).

# %%
import os
import re

ENTRY_START = re.compile(r"\d\d:\d\d:\d\d \[|\[fiblab-server|---|Could not connect|DBOS migr")
RETRY = re.compile(r"Retrying in [\d.]+s \(attempt \d+\)")


def log_entries(server):
    """A server's log file, one line per entry, shortened; a DBOS backoff's 'Retrying in'
    (on a line under its entry) is appended to the entry."""
    entries = []
    for line in server.log_path.read_text().splitlines():
        if ENTRY_START.match(line):
            entries.append(line if len(line) <= 110 else f"{line[:72]} … {line[-34:]}")
        elif entries and (retry := RETRY.search(line)):
            entries[-1] += f" … {retry.group()}"
    return entries


if can_halt:
    survivor_log, victim_log = log_entries(survivor), log_entries(victim)
    first_warning = next(i for i, entry in enumerate(survivor_log) if "WARNING" in entry)
    warned = Counter(re.search(r"\(dbos:(\w+\.py)", entry).group(1)
                     for entry in survivor_log if "WARNING" in entry)
    print(f"{survivor.name}, which lived through the outage "
          f"({os.path.relpath(survivor.log_path)}), from its first warning:")
    print("\n".join(survivor_log[first_warning:first_warning + 5]))
    print(f"… {sum(warned.values())} warnings in all: "
          + ", ".join(f"{count} from {source}" for source, count in warned.most_common())
          + "; backoffs: " + "; ".join(RETRY.findall("\n".join(survivor_log))))
    restart = max(i for i, entry in enumerate(victim_log) if entry.startswith("---"))
    attempts = sum("DBOS migrations failed" in entry for entry in victim_log[restart:])
    print(f"\n{victim.name}, killed and started again ({os.path.relpath(victim.log_path)}):")
    print("\n".join([*victim_log[restart - 2:restart + 4],
                     f"… {attempts} failed attempts to reach the database in all, then:",
                     *[entry for entry in victim_log[restart:]
                       if "ready" in entry or "started:" in entry]]))
else:
    print("No outage, nothing to show (see above).")
if pg_lab is not None:
    pg_lab.close()  # its servers are done: they would poll through what comes next

# %% [markdown]
# ## Going deeper: the polling trade-off, measured on servers
#
# [02 · Queues](02_queues.ipynb#Polling-decides-how-long-a-small-job-waits) showed that
# polling sets how long a small job waits. Here we measure both sides of the trade-off on
# server processes: four servers, each on a queue of its own polled every 0.02, 0.1, 0.3
# and 1.0 s (DBOS's default); the CPU each one burns while idle (all four over the same
# 1.5 seconds), then the round trip of a tiny job through each queue.

# %%
import statistics
from concurrent.futures import ThreadPoolExecutor

from fiblab.spawn import cpu_percents

ServerGroup(sqlite_servers).stop()  # the scaling servers are done (three already are)
lab = Lab.fresh("09_polling", sqlite=True)
intervals = [0.02, 0.1, 0.3, 1.0]
pollers = {i: lab.server(f"poller-{round(i * 1000)}ms", queue=f"poll-{round(i * 1000)}ms",
                         polling_interval=i) for i in intervals}
ServerGroup(list(pollers.values())).start()
# Read from each process's CPU clock (to the microsecond on Linux, see cpu_seconds in
# fiblab/spawn.py): 1.5 s span a poll or two even at 1 s polling.
IDLE_SAMPLE_SECONDS = 1.5
idle_cpu = dict(zip(intervals, cpu_percents(list(pollers.values()), IDLE_SAMPLE_SECONDS)))


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
# What polling 5× as often bought in this run, in numbers (each idle figure is one 1.5 s
# sample, so the 1.0 s poller's holds a poll or two: rough):

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
from fiblab.exercises import ExerciseIncomplete, require

require(globals(), "slowed_cpu", task="register the queue again and measure slowed_cpu")
print(f"idle CPU at 0.02 s polling: {idle_cpu[0.02]:.1f}%; after the change: {slowed_cpu:.1f}%")
if not pollers[0.02].alive:
    raise ExerciseIncomplete("pollers[0.02] is no longer running: change its queue, do not stop it")
if slowed_cpu >= idle_cpu[0.02] / 2:
    raise ExerciseIncomplete(f"{slowed_cpu:.1f}% is not less than half of "
                             f"{idle_cpu[0.02]:.1f}%: register pollers[0.02].queue with "
                             "polling_interval_sec=1.0, then measure again")

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
# * Going deeper: on PostgreSQL the database's own processes take CPU on the same
#   machine; while the database is gone, running workflows wait at their next checkpoint
#   (DBOS retries with backoff), servers stay up, a server restarted meanwhile waits for
#   it, and nothing recorded runs again. The queue polling interval trades latency for
#   idle CPU; fiblab chose 0.1 s.
#
# This is the end of the series. Back to the [index](00_index.ipynb).

# %%
sqlite_lab.close()  # stops every server this notebook started
lab.close()
if pg_lab is not None:
    pg_lab.close()
pg.close()  # removes this notebook's own PostgreSQL (nothing for FIBLAB_DATABASE_URL's)
