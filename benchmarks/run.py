"""fiblab benchmarks: every figure is printed beside a baseline measured in the same run.

    python benchmarks/run.py                 # all benchmarks on SQLite
    python benchmarks/run.py --postgres      # and again on a throwaway PostgreSQL
    python benchmarks/run.py --only latency,spawn --trials 3
    python benchmarks/run.py --only poll-cost --polling-intervals 0.05,0.1

throughput  2 servers vs ProcessPoolExecutor(2) on 20 CPU-bound jobs of ~0.3 s, and
            each idle server's CPU use;
latency     enqueue->result round trip, fiblab's polling defaults vs DBOS's defaults;
spawn       server spawn->ready vs ``python -c "import dbos"``;
recovery    restart->first resumed step of a workflow whose server was SIGKILLed;
notebooks   execution time of every notebook, each in a fresh kernel (SQLite only):
            the median of --trials runs of the whole series, and the slowest run;
memory      RSS and USS of two idle servers vs a bare python, ``import dbos`` and a DBOS
            app launched without fiblab;
idle-cpu    an idle server's CPU and wakeups per thread (DBOS's queue poller, its other
            threads, fiblab's watcher and main thread), at 0.1 s and 1.0 s polling, vs an
            idle ``import dbos`` process and the shipped server as a whole;
busy-cpu    the same per thread while two servers compute 20 jobs of ~0.3 s, the waiting
            client's CPU, and what sharing the GIL with a poller costs a computation;
poll-cost   statements, transactions and CPU of one idle poll; a round trip split into
            enqueue, wait for poll, dequeue, hand-over, workflow and result read; on
            SQLite also with the database in WAL mode (an experiment);
pg-cost     (--postgres only) PostgreSQL's statements, transactions and CPU per idle
            server, per poll and per workflow, and how many polls the cluster sustains
            (pgbench replaying a captured poll; servers polling back to back).

Medians of repeated trials. Not part of the test suite; results go in benchmarks/README.md.
Timings move with whatever else runs on the machine: compare figures of one run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import probe_server as probe  # noqa: E402

from fiblab import client as fc  # noqa: E402
from fiblab import config  # noqa: E402
from fiblab.app import queue_options  # noqa: E402
from fiblab.lab import Lab  # noqa: E402
from fiblab.machine import n_for_seconds, pool_seconds, usable_cores  # noqa: E402
from fiblab.processes import ServerGroup  # noqa: E402
from fiblab.spawn import ServerProcess  # noqa: E402
from fiblab.waiting import wait_for  # noqa: E402

ROOT = REPO / "benchmarks"
DBOS_DEFAULT_POLLING = 1.0
IDLE_SECONDS = 5.0  # how long an idle server's CPU use is measured


def median_of(trials: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(trials))


# --- 1. throughput -------------------------------------------------------------------


def servers_seconds(lab: Lab, ns: list[int]) -> float:
    started = time.perf_counter()
    handles = fc.enqueue_many(lab.client, ns)
    for _wid, result in fc.results_as_completed(lab.client, handles, timeout=300):
        assert not isinstance(result, Exception), result
    return time.perf_counter() - started


def bench_throughput(trials: int, label: str) -> dict[str, float]:
    """Each setting times the pool just before its servers start (no server running, so
    none steals CPU from the pool), then the servers: a shared machine's speed drifts
    within a run, and a baseline measured once at the start would carry that drift."""
    n = n_for_seconds(0.3)
    ns = [n] * 20
    results: dict[str, float] = {"job n": n}
    pool_times: list[float] = []
    settings = {
        "fiblab (0.1 s)": (0.1, []),
        "fiblab (0.1 s) + prefetch 1": (0.1, ["--prefetch", "1"]),
        "0.2 s polling + prefetch 1": (0.2, ["--prefetch", "1"]),
        "fast polling (0.02 s)": (0.02, []),
        "DBOS default (1.0 s)": (DBOS_DEFAULT_POLLING, []),
    }
    for name, (interval, extra) in settings.items():
        pool = [pool_seconds(ns, 2) for _ in range(trials)]
        with Lab.fresh(f"bench-throughput-{label}") as lab:
            group = lab.start_servers(["a", "b"], polling_interval=interval, extra_args=extra)
            servers_seconds(lab, [1, 1])  # warm: first dequeue after launch
            seconds = median_of(trials, lambda lab=lab: servers_seconds(lab, ns))
            idle = max(server.cpu_percent(IDLE_SECONDS) for server in group)
        pool_times += pool
        results[f"2 servers, {name} s"] = seconds
        results[f"2 servers, {name} / pool"] = seconds / statistics.median(pool)
        results[f"2 servers, {name} idle CPU %"] = idle
    results["ProcessPoolExecutor(2) s, median"] = statistics.median(pool_times)
    results["ProcessPoolExecutor(2) s, spread"] = max(pool_times) - min(pool_times)
    return results


# --- 2. latency ----------------------------------------------------------------------


def round_trips(lab: Lab, result_polling: float, samples: int, seed: int) -> float:
    jitter = random.Random(seed)  # spread arrivals over the polling phase, replayably
    times = []
    for _ in range(samples):
        time.sleep(jitter.uniform(0, 0.25))
        started = time.perf_counter()
        handle = lab.client.enqueue(fc.enqueue_options(), 1)
        handle.get_result(polling_interval_sec=result_polling)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_latency(trials: int, label: str) -> dict[str, float]:
    samples = 10 * trials
    results = {}
    with Lab.fresh(f"bench-latency-{label}") as lab:
        server = lab.start_server("a")
        round_trips(lab, 0.01, 2, seed=0)
        results["fiblab defaults ms"] = 1000 * round_trips(lab, 0.01, samples, seed=1)
        results["fiblab idle CPU %"] = server.cpu_percent(IDLE_SECONDS)
        server.stop()
        lab.start_server("a", polling_interval=DBOS_DEFAULT_POLLING)
        round_trips(lab, DBOS_DEFAULT_POLLING, 1, seed=0)
        results["DBOS defaults ms"] = 1000 * round_trips(
            lab, DBOS_DEFAULT_POLLING, max(5, samples // 2), seed=2
        )
    results["fiblab / DBOS"] = results["fiblab defaults ms"] / results["DBOS defaults ms"]
    return results


# --- 3. spawn ------------------------------------------------------------------------


def bench_spawn(trials: int, label: str) -> dict[str, float]:
    def import_dbos() -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import dbos"], check=True)
        return time.perf_counter() - started

    with Lab.fresh(f"bench-spawn-{label}") as lab:
        lab.start_server("a").stop()  # the database exists, as it does after a first run

        def spawn() -> float:
            server = lab.server("a")
            started = time.perf_counter()
            server.start().wait_ready()
            elapsed = time.perf_counter() - started
            server.stop()
            return elapsed

        ready = median_of(trials, spawn)
    baseline = median_of(trials, import_dbos)
    return {"import dbos s": baseline, "spawn->ready s": ready, "difference s": ready - baseline}


# --- 4. recovery ---------------------------------------------------------------------


def bench_recovery(trials: int, label: str) -> dict[str, float]:
    def once() -> float:
        with Lab.fresh(f"bench-recovery-{label}") as lab:
            server = lab.start_server("a")
            handle = lab.enqueue_steps(40, wait_steps=5, step_seconds=0.02)
            server.kill()
            seen = len(lab.executions(handle.workflow_id))
            restarted_at = time.time()
            server.start()
            wait_for(lambda: len(lab.executions(handle.workflow_id)) > seen, 60, "a resumed step")
            first = lab.executions(handle.workflow_id)[seen]["at"]
            fc.wait_result(handle)
            return first - restarted_at

    return {"restart->first resumed step s": median_of(trials, once)}


# --- 5. notebooks --------------------------------------------------------------------


def bench_notebooks(trials: int, _label: str) -> dict[str, float]:
    """The whole series ``trials`` times over (each notebook in a fresh kernel, as a learner
    runs it); the median per notebook, and the median and range of the series' totals."""
    import nbformat
    from nbclient import NotebookClient

    paths = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    seconds: dict[str, list[float]] = {path.stem: [] for path in paths}
    for _ in range(trials):
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            started = time.perf_counter()
            resources = {"metadata": {"path": str(path.parent)}}
            NotebookClient(nb, timeout=600, resources=resources).execute()
            seconds[path.stem].append(time.perf_counter() - started)
    results = {f"{name} s (median)": statistics.median(times) for name, times in seconds.items()}
    results.update({f"{name} s (max)": max(times) for name, times in seconds.items()})
    totals = [sum(run) for run in zip(*seconds.values(), strict=True)]
    results["total s (median)"] = statistics.median(totals)
    results["total s (min)"], results["total s (max)"] = min(totals), max(totals)
    return results


# --- observing servers from outside --------------------------------------------------
#
# A server's threads, statements and memory are read from outside the process: psutil and
# /proc for CPU, wakeups and memory; benchmarks/probe_server.py (fiblab.server with its
# threads named and, if asked, its SQL statements counted) for who does what. Nothing
# here changes fiblab or DBOS.

IDLE_THREAD_SECONDS = 20.0  # window for the per-thread idle CPU figures
SETTLE_SECONDS = 3.0  # after the ready line, before an idle server is measured
MIB = 2**20


def probe_server(
    lab: Lab, executor_id: str, *, count: bool = True, **options: Any
) -> ServerProcess:
    """A ``python -m fiblab.server`` whose threads carry names (and, with ``count``, whose
    SQL statements are counted); see benchmarks/probe_server.py. Not started yet."""
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    if count:
        env[probe.OUT_ENV] = str(lab.scratch / f"probe-{executor_id}.json")
    return lab.server(executor_id, module="probe_server", env=env, **options)


def probe_counts(server: ServerProcess, timeout: float = 10.0) -> dict[str, Any]:
    """What the probe counted so far: ``{"threads": {label: {kind: [n, s]}}, "timeline": …}``."""
    out = Path(server.extra_env[probe.OUT_ENV])
    asked = time.time()
    assert server.pid is not None
    os.kill(server.pid, signal.SIGUSR1)

    def written() -> dict[str, Any] | None:
        try:
            data = json.loads(out.read_text())
        except (OSError, ValueError):
            return None
        return data if data["at"] >= asked else None

    return wait_for(written, timeout, f"{server.name}'s statement counts")


def count_diff(after: dict[str, Any], before: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Statements per thread label and kind counted between two :func:`probe_counts`."""
    diff: dict[str, dict[str, int]] = {}
    for label, kinds in after["threads"].items():
        for kind, (n, _seconds) in kinds.items():
            old = before["threads"].get(label, {}).get(kind, [0, 0.0])[0]
            if n - old:
                diff.setdefault(label, {})[kind] = int(n - old)
    return diff


def thread_samples(pid: int) -> dict[int, tuple[str, float, int]]:
    """``{tid: (name, CPU seconds, voluntary context switches)}`` of a process's threads
    (Linux: names and switches from /proc; a thread that just ended is left out)."""
    samples = {}
    for thread in psutil.Process(pid).threads():
        task = Path(f"/proc/{pid}/task/{thread.id}")
        try:
            name = (task / "comm").read_text().strip()
            status = (task / "status").read_text()
        except OSError:
            continue
        switches = int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
        samples[thread.id] = (name, thread.user_time + thread.system_time, switches)
    return samples


def process_cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


#: The end of a baseline process's code: it idles until killed or until the benchmark that
#: started it is gone (even SIGKILLed), waking twice a second and importing nothing new.
UNTIL_PARENT_GONE = """
import os, sys, time
while os.getppid() == int(sys.argv[1]):  # the benchmark's pid, passed on the command line
    time.sleep(0.5)
"""


def idle_python(code: str, **popen: Any) -> subprocess.Popen[bytes]:
    """``python -c CODE`` that then idles until killed or orphaned (a baseline process)."""
    return subprocess.Popen(
        [sys.executable, "-c", code + UNTIL_PARENT_GONE, str(os.getpid())],
        stdin=subprocess.DEVNULL,
        **popen,
    )


def wait_importable(process: subprocess.Popen[bytes]) -> None:
    """Wait until a baseline process has imported what it was asked to and settled:
    its resident memory has stopped growing for a second."""
    proc = psutil.Process(process.pid)
    last, stable_since = -1, time.monotonic()
    while time.monotonic() - stable_since < 1.0:
        rss = proc.memory_info().rss
        if rss != last:
            last, stable_since = rss, time.monotonic()
        time.sleep(0.1)


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, USS) of a process in MiB: everything resident, and what only it holds
    (what killing it would give back; shared library pages not counted)."""
    info = psutil.Process(pid).memory_full_info()
    return info.rss / MIB, info.uss / MIB


# --- 6. memory -----------------------------------------------------------------------


BARE_DBOS_APP = """\
import os
from dbos import DBOS
DBOS(config={"name": "bench-bare", "system_database_url": os.environ["BENCH_URL"],
             "executor_id": "bare", "application_version": "bare-1", "log_level": "WARNING"})
DBOS.launch()
"""


def bench_memory(_trials: int, label: str) -> dict[str, float]:
    """Resident memory of two idle servers beside processes that import less: a bare
    ``python``, ``import dbos``, and a DBOS app launched with no fiblab code (what
    fiblab adds is the difference). Deterministic enough that one sample each suffices."""
    results: dict[str, float] = {}
    baselines = {
        "python (nothing imported)": idle_python("pass"),
        "import dbos (baseline)": idle_python("import dbos"),
        "import fiblab.app": idle_python("import fiblab.app"),
    }
    with Lab.fresh(f"bench-memory-{label}") as lab:
        group = lab.start_servers(["a", "b"])
        bare = idle_python(BARE_DBOS_APP, env={**os.environ, "BENCH_URL": lab.database_url})
        try:
            for process in [*baselines.values(), bare]:
                wait_importable(process)
            time.sleep(SETTLE_SECONDS)
            for name, process in baselines.items():
                results[f"{name} RSS MB"], results[f"{name} USS MB"] = memory_mb(process.pid)
            (
                results["DBOS launched, no fiblab RSS MB"],
                results["DBOS launched, no fiblab USS MB"],
            ) = memory_mb(bare.pid)
            for server in group:
                rss, uss = memory_mb(server.pid)
                results[f"idle server {server.name} RSS MB"] = rss
                results[f"idle server {server.name} USS MB"] = uss
            # After work: 20 workflows through the two servers, then idle again.
            for _ in range(10):
                servers_seconds(lab, [1, 1])
            time.sleep(SETTLE_SECONDS)
            for server in group:
                rss, uss = memory_mb(server.pid)
                results[f"server {server.name} after 20 workflows RSS MB"] = rss
                results[f"server {server.name} after 20 workflows USS MB"] = uss
        finally:
            for process in [*baselines.values(), bare]:
                process.kill()
                process.wait()
    worst = max(
        v for k, v in results.items() if k.startswith(("idle server", "server")) and "RSS" in k
    )
    results["worst server RSS / import dbos RSS"] = worst / results["import dbos (baseline) RSS MB"]
    results["worst server RSS / goal (80 MB)"] = worst / 80
    return results


# --- 7. idle CPU by thread -----------------------------------------------------------

POLL_THREAD = "qw:my_queue"  # the probe's name for DBOS's worker thread of fiblab's queue


def polls_counted(diff: dict[str, dict[str, int]]) -> int:
    """Polls of my_queue: its worker reloads the queue's row once per poll."""
    return diff.get(POLL_THREAD, {}).get("SELECT queues", 0)


def per_thread(before: dict, after: dict, seconds: float) -> dict[str, tuple[float, float]]:
    """``{thread name: (% of a core, wakeups per second)}`` between two thread samples."""
    rows: dict[str, list[float]] = {}
    for tid, (name, cpu, switches) in after.items():
        _, cpu0, switches0 = before.get(tid, (name, 0.0, 0))
        row = rows.setdefault(name, [0.0, 0.0])
        row[0] += 100 * (cpu - cpu0) / seconds
        row[1] += (switches - switches0) / seconds
    return {name: (cpu, wakeups) for name, (cpu, wakeups) in rows.items()}


def bench_idle_cpu(trials: int, label: str) -> dict[str, float]:
    """Idle servers side by side for IDLE_THREAD_SECONDS: fiblab.server as shipped (whole
    process), and two probe servers (threads named, statements counted) at fiblab's 0.1 s
    and DBOS's 1.0 s polling, per thread; an idle ``import dbos`` process is the baseline.
    CPU times tick in 10 ms steps per thread: ±0.05 % of a core over 20 s."""
    results: dict[str, float] = {}
    baseline = idle_python("import dbos")
    labs = [Lab.fresh(f"bench-idle-{name}-{label}") for name in ("plain", "fast", "slow")]
    try:
        plain = labs[0].server("plain")
        fast = probe_server(labs[1], "fast")
        slow = probe_server(labs[2], "slow", polling_interval=DBOS_DEFAULT_POLLING)
        servers = [plain, fast, slow]
        ServerGroup(servers).start()
        wait_importable(baseline)
        time.sleep(SETTLE_SECONDS)
        counts0 = {s.name: probe_counts(s) for s in (fast, slow)}
        threads0 = {s.name: thread_samples(s.pid) for s in servers}
        cpu0 = {s.name: process_cpu(s.pid) for s in servers}
        base0, started = process_cpu(baseline.pid), time.monotonic()
        # The shipped server's total in `trials` sub-windows, for a spread.
        windows = []
        for _ in range(max(1, trials)):
            before, at = process_cpu(plain.pid), time.monotonic()
            time.sleep(IDLE_THREAD_SECONDS / max(1, trials))
            windows.append(100 * (process_cpu(plain.pid) - before) / (time.monotonic() - at))
        seconds = time.monotonic() - started
        for server in servers:
            results[f"{server.name}: whole process % of a core"] = (
                100 * (process_cpu(server.pid) - cpu0[server.name]) / seconds
            )
        results["plain (fiblab.server as shipped, 0.1 s): sub-window min %"] = min(windows)
        results["plain (fiblab.server as shipped, 0.1 s): sub-window max %"] = max(windows)
        results["import dbos, idle (baseline) %"] = (
            100 * (process_cpu(baseline.pid) - base0) / seconds
        )
        for server, interval in ((fast, 0.1), (slow, DBOS_DEFAULT_POLLING)):
            threads = per_thread(threads0[server.name], thread_samples(server.pid), seconds)
            diff = count_diff(probe_counts(server), counts0[server.name])
            tag = f"{interval:.1f} s polling"
            for name, (cpu, wakeups) in sorted(threads.items(), key=lambda kv: -kv[1][0]):
                results[f"{tag}: {name} % of a core"] = cpu
                results[f"{tag}: {name} wakeups/s"] = wakeups
            for name, kinds in sorted(diff.items()):
                results[f"{tag}: {name[:15]} statements+commits/s"] = sum(kinds.values()) / seconds
            polls = polls_counted(diff)
            results[f"{tag}: polls of my_queue/s"] = polls / seconds
            if polls:
                poll_cpu = threads.get(POLL_THREAD, (0.0, 0.0))[0] * seconds / 100
                results[f"{tag}: CPU ms per poll (poll thread)"] = 1000 * poll_cpu / polls
    finally:
        for lab in labs:
            lab.close()
        baseline.kill()
        baseline.wait()
    results["goal: idle CPU % per server"] = 5.0
    return results


# --- 7b. CPU by thread while two servers compute ------------------------------------

GIL_TRIALS = 10  # interleaved pairs in the in-process GIL probe


def bench_busy_cpu(trials: int, label: str) -> dict[str, float]:
    """Goal 2's overhead, thread by thread: two probe servers (--prefetch 1) compute 20
    jobs of ~0.3 s; each thread's share of a core and wakeups during the batch, and the
    waiting client's CPU. Baseline: ProcessPoolExecutor(2) on the same jobs just before.
    Then, in this process, what sharing the interpreter lock with a poller costs a
    computation: fib alone vs beside a thread that burns 3.5 ms of CPU every 0.1 s."""
    n = n_for_seconds(0.3)
    ns = [n] * 20
    results: dict[str, float] = {"job n": n}
    pool = statistics.median(pool_seconds(ns, 2) for _ in range(trials))
    results["ProcessPoolExecutor(2) s (baseline)"] = pool
    with Lab.fresh(f"bench-busy-{label}") as lab:
        servers = [probe_server(lab, e, count=False, extra_args=["--prefetch", "1"]) for e in "ab"]
        ServerGroup(servers).start()
        servers_seconds(lab, [1, 1])  # warm
        time.sleep(SETTLE_SECONDS)
        batches, client, threads = [], [], {s.name: {} for s in servers}
        for _ in range(trials):
            before = {s.name: thread_samples(s.pid) for s in servers}
            mine, started = process_cpu(os.getpid()), time.monotonic()
            batches.append(servers_seconds(lab, ns))
            seconds = time.monotonic() - started
            client.append(100 * (process_cpu(os.getpid()) - mine) / seconds)
            for server in servers:
                rows = per_thread(before[server.name], thread_samples(server.pid), seconds)
                for name, row in rows.items():
                    threads[server.name].setdefault(name, []).append(row)
    results["2 servers s (median)"] = statistics.median(batches)
    results["2 servers / pool"] = statistics.median(batches) / pool
    results["client (this process) % of a core while waiting"] = statistics.median(client)
    for server, rows in threads.items():
        ranked = sorted(rows.items(), key=lambda kv: -statistics.median(r[0] for r in kv[1]))
        for name, values in ranked:
            cpu = statistics.median(r[0] for r in values)
            wakeups = statistics.median(r[1] for r in values)
            if cpu or wakeups >= 1:
                results[f"server {server}: {name} % of a core"] = cpu
                results[f"server {server}: {name} wakeups/s"] = wakeups
    results.update(gil_probe())
    return results


def gil_probe() -> dict[str, float]:
    """fib's own CPU time (thread_time: immune to other programs taking the core) alone
    and beside a thread that burns 3.5 ms every 0.1 s; the ratio is what sharing the
    interpreter lock costs the computation beyond the poller's own CPU (cache, handoffs).
    Medians of GIL_TRIALS interleaved pairs."""
    from fiblab.fib import fib_recursive

    stop = threading.Event()

    def poller() -> None:
        while not stop.wait(0.1):
            end = time.thread_time() + 0.0035
            while time.thread_time() < end:
                pass

    def fib_cpu() -> float:
        started = time.thread_time()
        fib_recursive(n)
        return time.thread_time() - started

    n = n_for_seconds(0.15)
    alone, shared = [], []
    for _ in range(GIL_TRIALS):
        alone.append(fib_cpu())
        stop.clear()
        thread = threading.Thread(target=poller, daemon=True)
        thread.start()
        shared.append(fib_cpu())
        stop.set()
        thread.join()
    return {
        "GIL probe: fib's CPU beside a 3.5 ms / 0.1 s poller / alone": statistics.median(shared)
        / statistics.median(alone),
        "GIL probe: fib's CPU ms alone (baseline)": 1000 * statistics.median(alone),
    }


# --- 8. poll cost and round-trip breakdown ----------------------------------------------

RT_PARTS = ("enqueue", "wait for poll", "dequeue", "hand-over", "workflow", "result read")


def split_round_trip(
    timeline: list[list[Any]], t0: float, t1: float, t2: float
) -> dict[str, float] | None:
    """One round trip's parts in seconds, from the server's statement timeline.

    enqueue: the client's call (t0→t1); wait for poll: until the poll that claims the
    workflow starts; dequeue: that poll until its claiming transaction commits;
    hand-over: until the executor's first statement; workflow: until its last commit
    (status, step, result); result read: until the client's get_result returns (t2).
    """
    claim = next(
        (i for i, e in enumerate(timeline)
         if e[1] == POLL_THREAD and e[2] == "UPDATE workflow_status" and t1 <= e[0] <= t2),
        None,
    )  # fmt: skip
    if claim is None:
        return None
    poll = [e for e in timeline if e[1] == POLL_THREAD]
    index = next(i for i, e in enumerate(poll) if e is timeline[claim])
    start = index
    while start > 0 and poll[start][0] - (poll[start - 1][0] + poll[start - 1][3]) < 0.01:
        start -= 1  # statements of one poll follow each other within milliseconds
    poll_start = max(poll[start][0], t1)
    claimed = next((e[0] for e in poll[index:] if e[2] == "COMMIT"), None)
    work = [e for e in timeline if e[1].startswith("dbos-executor") and t1 <= e[0] <= t2]
    if claimed is None or not work:
        return None
    first = work[0][0]
    last = max(e[0] for e in work if e[2] == "COMMIT")
    done = [e for e in work if e[0] <= last]
    return {
        "enqueue": t1 - t0,
        "wait for poll": poll_start - t1,
        "dequeue": claimed - poll_start,
        "hand-over": first - claimed,
        "workflow": last - first,
        "result read": t2 - last,
        "workflow: executor statements": sum(e[2] not in ("COMMIT", "ROLLBACK") for e in done),
        "workflow: executor transactions": sum(e[2] == "COMMIT" for e in done),
    }


def round_trip_parts(
    lab: Lab, server: ServerProcess, samples: int, seed: int, period: float | None = None
) -> tuple[list[float], dict[str, list[float]], dict[str, list[int]]]:
    """``samples`` round trips of fibonacci_workflow(1): totals, parts, and the client's
    statements per part. With ``period`` (the poll period), each starts after a pause of
    a random number of whole periods plus one of ``samples`` evenly spaced fractions of a
    period, in random order: every phase of the poll is hit equally often (a random
    pause hits them unevenly in a sample of 30-50, and a fixed seed repeats the unevenness
    in every run). Without it, after a pause of U(0, 0.25 s), as the latency benchmark."""
    jitter = random.Random(seed)
    if period is None:
        pauses = [jitter.uniform(0, 0.25) for _ in range(samples)]
    else:
        fractions = [(i + 0.5) / samples for i in range(samples)]
        jitter.shuffle(fractions)
        pauses = [period * (jitter.randrange(ARRIVAL_SPREAD_PERIODS) + f) for f in fractions]
    client_counts = probe.StatementCounts()
    remove = count_statements_here(client_counts)
    marks = []
    try:
        for pause in pauses:
            time.sleep(pause)
            t0 = time.time()
            handle = lab.client.enqueue(fc.enqueue_options(), 1)
            t1 = time.time()
            handle.get_result(polling_interval_sec=config.RESULT_POLLING_INTERVAL_SEC)
            marks.append((t0, t1, time.time()))
    finally:
        remove()
    timeline = probe_counts(server)["timeline"]
    totals: list[float] = []
    parts: dict[str, list[float]] = {part: [] for part in RT_PARTS}
    client: dict[str, list[int]] = {"enqueue statements": [], "result-read statements": []}
    mine = [e for e in client_counts.timeline if e[2] not in ("COMMIT", "ROLLBACK")]
    for t0, t1, t2 in marks:
        split = split_round_trip(timeline, t0, t1, t2)
        totals.append(t2 - t0)
        if split is None:
            continue
        for part, value in split.items():
            parts.setdefault(part, []).append(value)
        client["enqueue statements"].append(sum(t0 <= e[0] <= t1 for e in mine))
        client["result-read statements"].append(sum(t1 < e[0] <= t2 for e in mine))
    return totals, parts, client


def count_statements_here(counts: probe.StatementCounts) -> Callable[[], None]:
    """Count this process's statements (the client's) into ``counts`` until the returned
    function is called."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    listeners = probe.count_statements(counts)
    return lambda: [event.remove(Engine, name, fn) for name, fn in listeners]


def runqueue_wait(pid: int) -> float:
    """Seconds the threads of ``pid`` have spent runnable but waiting for a core (Linux
    schedstat; threads that ended are not counted): how much a busy machine delays it."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int(stat.read_text().split()[1])
    return total / 1e9


def set_wal(database_url: str) -> None:
    """Switch a fiblab SQLite system database to WAL journaling (kept in the file)."""
    import sqlite3

    path = config.sqlite_path(database_url)
    assert path is not None
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"


#: Queue polling intervals poll-cost measures (``--polling-intervals``).
POLLING_INTERVALS = [config.QUEUE_POLLING_INTERVAL_SEC]
#: Round trips in poll-cost start after 0 to this many whole poll periods (as measured
#: while idle) plus an evenly spaced fraction of one; see :func:`round_trip_parts`.
ARRIVAL_SPREAD_PERIODS = 5


#: The boost experiment: servers idle at DBOS's 1.0 s; a client about to send requests
#: sets the queue's (database-backed) polling interval to this, and back afterwards.
BOOST_INTERVAL = 0.05


def bench_poll_cost(trials: int, label: str) -> dict[str, float]:
    """Per polling interval (and, on SQLite, with the system database in WAL mode as an
    experiment): what an idle poll costs in statements, transactions and CPU (counted in
    the server), the idle server's CPU, and where a round trip's time goes, part by part
    (medians of 10 × trials round trips, arrivals spread evenly over the poll's phase).
    Last, the boost experiment (see BOOST_INTERVAL)."""
    results: dict[str, float] = {}
    journals = ["rollback journal", "WAL"] if label == "sqlite" else [""]
    variants = [(i, journal, None) for i in POLLING_INTERVALS for journal in journals]
    variants.append((DBOS_DEFAULT_POLLING, journals[0], BOOST_INTERVAL))
    for interval, journal, boost in variants:
        name = f"{interval:g} s" + (f", {journal}" if journal else "")
        if boost:
            name = f"boost: idle at {interval:g} s, {boost:g} s while a client sends"
        repeat = 2
        while f"{name}: round trip ms (median)" in results:  # an interval asked for twice
            name, repeat = f"{name.split(' #')[0]} #{repeat}", repeat + 1
        with Lab.fresh(f"bench-pollcost-{label}") as lab:
            if journal == "WAL":
                set_wal(lab.database_url)
            server = probe_server(lab, "a", polling_interval=interval).start().wait_ready()
            round_trips(lab, config.RESULT_POLLING_INTERVAL_SEC, 2, seed=0)  # warm
            time.sleep(SETTLE_SECONDS)
            idle = idle_poll_figures(server, name, first=not results)
            results.update(idle)
            rate = idle[f"{name}: idle polls of my_queue/s"]
            if boost:
                set_polling_interval(lab, boost)
                # DBOS's poller takes a new, shorter interval gradually: each poll waits
                # 0.9 times the last, so 1.0 s reaches 0.05 s after about 28 polls.
                ramp = (interval - boost * 0.9) / (1 - 0.9)
                results[f"{name}: seconds until boosted (geometric ramp)"] = ramp
                time.sleep(ramp + SETTLE_SECONDS)
                boosted = idle_poll_figures(server, f"{name}, boosted", first=False)
                rate = boosted[f"{name}, boosted: idle polls of my_queue/s"]
                results[f"{name}: idle server % while boosted"] = boosted[
                    f"{name}, boosted: idle server % of a core"
                ]
                results[f"{name}: idle polls/s while boosted"] = rate
            results.update(
                measure_round_trips(lab, server, name, 10 * trials, 1 / rate if rate else interval)
            )
            if boost:
                set_polling_interval(lab, interval)
        results[f"{name}: baseline, half a polling interval ms"] = 1000 * (boost or interval) / 2
    results["goal: round trip ms (median)"] = 60.0
    results["goal: idle CPU % per server"] = 5.0
    return results


def set_polling_interval(lab: Lab, seconds: float) -> None:
    """Change my_queue's polling interval in the database (public ``register_queue``); a
    server's poller reads it at every poll, so it applies after the current wait."""
    lab.client.register_queue(config.QUEUE_NAME, **queue_options(1, seconds))


def measure_round_trips(
    lab: Lab, server: ServerProcess, name: str, samples: int, period: float
) -> dict[str, float]:
    """Round trips split into parts (medians), with the time server and client spent
    waiting for a core: a busy machine, not fiblab, is then visible as such."""
    results: dict[str, float] = {}
    waited = runqueue_wait(server.pid), runqueue_wait(os.getpid())
    totals, parts, client = round_trip_parts(lab, server, samples, seed=1, period=period)
    server_wait = runqueue_wait(server.pid) - waited[0]
    client_wait = runqueue_wait(os.getpid()) - waited[1]
    results[f"{name}: load average (1 min) after"] = os.getloadavg()[0]
    results[f"{name}: server threads' wait for a core, ms per round trip"] = (
        1000 * server_wait / samples
    )
    results[f"{name}: client threads' wait for a core, ms per round trip"] = (
        1000 * client_wait / samples
    )
    results[f"{name}: round trip ms (median)"] = 1000 * statistics.median(totals)
    results[f"{name}: round trip ms (min)"] = 1000 * min(totals)
    results[f"{name}: round trip ms (max)"] = 1000 * max(totals)
    results[f"{name}: round trips split into parts"] = len(parts["enqueue"])
    for part, values in parts.items():
        if values and part in RT_PARTS:
            results[f"{name}: {part} ms (median)"] = 1000 * statistics.median(values)
        elif values:
            results[f"{name}: {part} (median)"] = statistics.median(values)
    for what, values in client.items():
        if values:
            results[f"{name}: client {what} (median)"] = statistics.median(values)
    return results


def idle_poll_figures(server: ServerProcess, name: str, first: bool) -> dict[str, float]:
    """An idle server over half of IDLE_THREAD_SECONDS: its CPU, its polls, and (for the
    ``first`` variant) every statement kind one poll issues."""
    results: dict[str, float] = {}
    before, threads0 = probe_counts(server), thread_samples(server.pid)
    cpu0, started = process_cpu(server.pid), time.monotonic()
    time.sleep(IDLE_THREAD_SECONDS / 2)
    seconds = time.monotonic() - started
    cpu = process_cpu(server.pid) - cpu0
    threads = per_thread(threads0, thread_samples(server.pid), seconds)
    diff = count_diff(probe_counts(server), before)
    polls = polls_counted(diff)
    results[f"{name}: idle server % of a core"] = 100 * cpu / seconds
    results[f"{name}: idle polls of my_queue/s"] = polls / seconds
    if polls:
        poll_cpu = threads.get(POLL_THREAD, (0.0, 0.0))[0] * seconds / 100
        results[f"{name}: CPU ms per idle poll (poll thread)"] = 1000 * poll_cpu / polls
        if first:
            for kind, n in sorted(diff.get(POLL_THREAD, {}).items()):
                results[f"per idle poll: {kind}"] = n / polls
            others = sum(
                n for thread, kinds in diff.items() if thread != POLL_THREAD
                for n in kinds.values()
            )  # fmt: skip
            results["other threads: statements+commits/s"] = others / seconds
    return results


# --- 9. PostgreSQL: database cost per workflow and per poll -----------------------------

#: The throwaway cluster of a --postgres run (pg-cost restarts it with pg_stat_statements).
CLUSTER: Any = None
PG_WORKFLOWS = 40  # sequential round trips whose database cost is divided out
LOAD_SERVERS = 2  # servers polling back to back in the capacity probe (both cores busy)


def postgres_processes() -> list[psutil.Process]:
    """The postmaster of this run's cluster and every process it started."""
    state = json.loads(CLUSTER.state_file.read_text())
    pid_file = Path(state["data_root"]) / "data" / "postmaster.pid"
    postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
    return [postmaster, *postmaster.children(recursive=True)]


def postgres_cpu(database: str | None = None) -> float:
    """CPU seconds so far of the cluster's processes, or of the backends serving
    ``database`` only (found by their process title). A backend that ended takes its
    time with it: measure while connections stay open, as DBOS's pools keep them."""
    total = 0.0
    for proc in postgres_processes():
        with contextlib.suppress(psutil.NoSuchProcess):
            if database is None or f" {database} " in " ".join(proc.cmdline()):
                total += process_cpu(proc.pid)
    return total


def enable_pg_stat_statements(database_url: str) -> None:
    """Load pg_stat_statements (a restart of the throwaway cluster, once per run)."""
    import sqlalchemy as sa

    from fiblab.database import sqlalchemy_url

    engine = sa.create_engine(
        sqlalchemy_url(database_url, "postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        with engine.connect() as conn:
            loaded = conn.execute(sa.text("SHOW shared_preload_libraries")).scalar_one()
            if "pg_stat_statements" not in loaded:
                conn.execute(
                    sa.text("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
                )
    finally:
        engine.dispose()
    if "pg_stat_statements" not in loaded:
        CLUSTER.halt()
        CLUSTER.resume()


class DatabaseCounters:
    """Statement, transaction and tuple counters of one database, and the cluster's CPU."""

    QUERIES = {
        # every statement the server received, and those that are not BEGIN/COMMIT/ROLLBACK
        "statements": "SELECT coalesce(sum(calls), 0), coalesce(sum(calls) FILTER (WHERE "
        "s.query !~* '^(BEGIN|COMMIT|ROLLBACK)'), 0), coalesce(sum(total_exec_time), 0) "
        "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
        "WHERE d.datname = :db AND s.query NOT ILIKE '%pg_stat%'",
        "database": "SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, "
        "tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = :db",
    }

    def __init__(self, database_url: str) -> None:
        import sqlalchemy as sa

        from fiblab.database import sqlalchemy_url

        self.sa = sa
        url = sqlalchemy_url(database_url)
        self.db = url.database
        # Read from the "postgres" database, so these reads are not counted in the lab's.
        self.engine = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with self.engine.connect() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))

    def read(self) -> dict[str, float]:
        sa = self.sa
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
            calls, sql, exec_ms = conn.execute(
                sa.text(self.QUERIES["statements"]), {"db": self.db}
            ).one()
            row = conn.execute(sa.text(self.QUERIES["database"]), {"db": self.db}).one()
        names = ("commits", "rollbacks", "tup_returned", "tup_fetched", "tup_inserted",
                 "tup_updated", "tup_deleted")  # fmt: skip
        return {
            "statements": float(calls),
            "SQL statements": float(sql),
            "exec ms": float(exec_ms),
            **{name: float(value) for name, value in zip(names, row, strict=True)},
            "postgres CPU ms": 1000 * postgres_cpu(self.db),
            "cluster CPU ms": 1000 * postgres_cpu(),
        }

    def top(self, limit: int = 12) -> list[tuple[int, str]]:
        """The most frequent statements in the lab's database (calls, query), to read."""
        sa = self.sa
        query = (
            "SELECT calls, query FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
            "WHERE d.datname = :db AND s.query NOT ILIKE '%pg_stat%' ORDER BY calls DESC LIMIT :n"
        )
        with self.engine.connect() as conn:
            return [
                (int(c), q) for c, q in conn.execute(sa.text(query), {"db": self.db, "n": limit})
            ]

    def connections(self) -> int:
        """Backends connected to the lab's database right now."""
        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = :db"
        with self.engine.connect() as conn:
            return int(conn.execute(self.sa.text(query), {"db": self.db}).scalar_one())

    def reset(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(self.sa.text("SELECT pg_stat_statements_reset()"))

    def close(self) -> None:
        self.engine.dispose()


def diff_counters(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {key: after[key] - before[key] for key in after}


#: The statements of one idle poll of my_queue, as DBOS issues them (found in the server
#: log by these patterns), replayed by pgbench in two transactions as DBOS runs them.
POLL_STATEMENTS = {
    "queue row": re.compile(r"FROM dbos\.queues\s+WHERE dbos\.queues\.name = \$1"),
    "latest version": re.compile(r"FROM dbos\.application_versions"),
    "candidates": re.compile(r"queue_name = \$1.*FOR UPDATE SKIP LOCKED", re.S),
}
LOG_ENTRY = re.compile(
    r"^\d{4}-\d\d-\d\d [\d:.]+ \w+ \[(\d+)\] (LOG|DETAIL):  (.*?)(?=^\d{4}-\d\d-\d\d |\Z)",
    re.M | re.S,
)
PGBENCH_SECONDS = 5


def cluster_state() -> dict[str, Any]:
    return json.loads(CLUSTER.state_file.read_text())


def set_statement_logging(database_url: str, on: bool) -> None:
    import sqlalchemy as sa

    from fiblab.database import sqlalchemy_url

    engine = sa.create_engine(
        sqlalchemy_url(database_url, "postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        with engine.connect() as conn:
            change = "SET log_statement = 'all'" if on else "RESET log_statement"
            conn.execute(sa.text(f"ALTER SYSTEM {change}"))
            conn.execute(sa.text("SELECT pg_reload_conf()"))
    finally:
        engine.dispose()


def captured_poll_statements(log_text: str) -> dict[str, str]:
    """The latest statement of each POLL_STATEMENTS kind in a PostgreSQL log written with
    ``log_statement = 'all'``, its parameters filled in as literals."""
    found: dict[str, str] = {}
    pending: dict[str, tuple[str, str]] = {}  # pid -> (kind, statement) awaiting parameters
    for pid, level, text in LOG_ENTRY.findall(log_text):
        if level == "LOG" and text.startswith("execute "):
            statement = text.split(": ", 1)[1].strip()
            for kind, pattern in POLL_STATEMENTS.items():
                if pattern.search(statement):
                    pending[pid] = (kind, statement)
                    if "$1" not in statement:
                        found[kind] = statement
        elif level == "DETAIL" and text.startswith("parameters:") and pid in pending:
            kind, statement = pending.pop(pid)
            values = dict(re.findall(r"\$(\d+) = (NULL|'(?:[^']|'')*')", text))
            found[kind] = re.sub(r"\$(\d+)", lambda m, values=values: values[m.group(1)], statement)
    return found


def pgbench_polls(
    database_url: str, statements: dict[str, str], clients: int, mode: str
) -> dict[str, float]:
    """Replay one idle poll (two transactions, three statements) with pgbench for
    PGBENCH_SECONDS: polls per second this cluster sustains, and the CPU it used."""
    import resource

    from fiblab.database import sqlalchemy_url

    url = sqlalchemy_url(database_url)
    script = CLUSTER.state_dir / "poll.sql"
    one_line = {kind: " ".join(sql.split()) for kind, sql in statements.items()}
    script.write_text(
        "BEGIN;\n" + one_line["queue row"] + ";\nCOMMIT;\n"
        "BEGIN;\n" + one_line["latest version"] + ";\n" + one_line["candidates"] + ";\nCOMMIT;\n"
    )
    pgbench = Path(cluster_state()["bin_dir"]) / "pgbench"
    command = [
        str(pgbench), "-n", "-M", mode, "-f", str(script), "-c", str(clients),
        "-j", str(min(clients, usable_cores())), "-T", str(PGBENCH_SECONDS),
        "-h", url.host, "-p", str(url.port), "-U", url.username, url.database,
    ]  # fmt: skip
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    bench = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PGPASSWORD": url.password or ""},
    )
    time.sleep(1.0)  # connected; pgbench's backends end with it, so sample them while it runs
    postgres0, sampled = postgres_cpu(url.database), time.monotonic()
    time.sleep(PGBENCH_SECONDS - 2.0)
    postgres = postgres_cpu(url.database) - postgres0
    window = time.monotonic() - sampled
    out, err = bench.communicate()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    if bench.returncode != 0:
        raise RuntimeError(f"pgbench failed:\n{out}{err}")
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    client_cpu = (children.ru_utime - children0.ru_utime) + (children.ru_stime - children0.ru_stime)
    return {
        "polls/s": tps,
        "postgres % of a core": 100 * postgres / window,
        "pgbench % of a core": 100 * client_cpu / PGBENCH_SECONDS,
        "postgres CPU ms per poll": 1000 * postgres / (tps * window),
    }


def batch_of_workflows(lab: Lab, count: int) -> None:
    """Enqueue ``count`` fibonacci_workflow(1) at once; wait for the last (a status read
    every 0.5 s), then read each result once."""
    handles = [lab.client.enqueue(fc.enqueue_options(), 1) for _ in range(count)]
    wait_for(lambda: fc.is_finished(handles[-1]), 120, "the batch's last workflow", interval=0.5)
    for handle in handles:
        handle.get_result(polling_interval_sec=0.5)


def bench_pg_cost(trials: int, label: str) -> dict[str, float]:
    """PostgreSQL's side of fiblab: per second of one idle server (all its threads), per
    poll of my_queue, per workflow (fibonacci_workflow(1) enqueued and awaited by a
    client, marginal over idle), and the cluster's CPU per poll while servers poll as
    fast as they can (the database's capacity for polls, extrapolated in the README)."""
    if label != "pg":
        return {"skipped: needs --postgres": 1.0}
    results: dict[str, float] = {}
    with Lab.fresh(f"bench-pgcost-{label}") as lab:
        enable_pg_stat_statements(lab.database_url)
        counters = DatabaseCounters(lab.database_url)
        try:
            server = probe_server(lab, "a").start().wait_ready()
            round_trips(lab, config.RESULT_POLLING_INTERVAL_SEC, 2, seed=0)  # warm
            time.sleep(SETTLE_SECONDS)
            # Idle: everything one server costs the database per second and per poll.
            counters.reset()
            before, probed, started = counters.read(), probe_counts(server), time.monotonic()
            time.sleep(IDLE_THREAD_SECONDS)
            idle = diff_counters(counters.read(), before)
            seconds = idle_seconds = time.monotonic() - started
            diff = count_diff(probe_counts(server), probed)
            polls = polls_counted(diff)
            poll_statements = sum(
                n
                for kind, n in diff.get(POLL_THREAD, {}).items()
                if kind not in ("COMMIT", "ROLLBACK")
            )
            results["idle server: polls of my_queue/s"] = polls / seconds
            for key in (
                "statements",
                "SQL statements",
                "commits",
                "exec ms",
                "postgres CPU ms",
                "cluster CPU ms",
            ):
                results[f"idle server: {key}/s"] = idle[key] / seconds
            results["per idle poll: statements (poll thread)"] = poll_statements / polls
            results["per idle poll: transactions (poll thread)"] = (
                diff[POLL_THREAD].get("COMMIT", 0) / polls
            )
            other = sum(
                n for thread, kinds in diff.items() if thread != POLL_THREAD
                for kind, n in kinds.items() if kind not in ("COMMIT", "ROLLBACK")
            )  # fmt: skip
            results["idle server: other threads' statements/s"] = other / seconds
            # Per workflow, minus what the idle server would have cost in the same time:
            # (a) a batch enqueued at once, each result read once at the end (DBOS's own
            # cost per workflow); (b) sequential round trips, the client polling each
            # result every 10 ms (what the series' clients do).
            keys = ("statements", "SQL statements", "commits", "exec ms", "postgres CPU ms",
                    "tup_inserted", "tup_updated")  # fmt: skip
            for name, run_workflows in (
                ("batch, one result read each", lambda: batch_of_workflows(lab, PG_WORKFLOWS)),
                ("round trip, 10 ms result polling", lambda: round_trips(
                    lab, config.RESULT_POLLING_INTERVAL_SEC, PG_WORKFLOWS, seed=3)),
            ):  # fmt: skip
                before, started = counters.read(), time.monotonic()
                run_workflows()
                busy = diff_counters(counters.read(), before)
                seconds = time.monotonic() - started
                for key in keys:
                    rate = idle[key] / idle_seconds
                    results[f"per workflow ({name}): {key}"] = (
                        busy[key] - rate * seconds
                    ) / PG_WORKFLOWS
            results["per round trip: result-polling statements (client, 10 ms)"] = (
                statistics.median(
                    round_trip_parts(lab, server, 10, seed=4)[2]["result-read statements"]
                )
            )
            for calls, query in counters.top():
                results[f"calls (idle + workflows): {' '.join(query.split())[:110]}"] = calls
            # The poll's statements as the server sends them, for pgbench to replay.
            log = Path(cluster_state()["data_root"]) / "server.log"
            offset = log.stat().st_size
            set_statement_logging(lab.database_url, on=True)
            time.sleep(1.0)
            set_statement_logging(lab.database_url, on=False)
            with open(log, errors="replace") as text:
                text.seek(offset)
                statements = captured_poll_statements(text.read())
            with_server = counters.connections()
            server.stop()
            time.sleep(0.5)  # the backends notice the closed connections
            results["connections held by one server (after its workflows)"] = (
                with_server - counters.connections()
            )
            if set(statements) == set(POLL_STATEMENTS):
                clients = 2 * usable_cores()
                for mode in ("prepared", "extended"):
                    replay = pgbench_polls(lab.database_url, statements, clients, mode)
                    for key, value in replay.items():
                        results[f"pgbench -M {mode}, {clients} clients, poll replay: {key}"] = value
            else:
                results["pgbench replay: poll statements not found in the log"] = 0.0
            # Capacity: servers polling back to back; the cluster's CPU per poll under load.
            fast = [probe_server(lab, f"p{i}", polling_interval=0.001) for i in range(LOAD_SERVERS)]
            ServerGroup(fast).start()
            time.sleep(SETTLE_SECONDS)
            before = counters.read()
            probed = {p.name: probe_counts(p) for p in fast}
            cpu0 = {p.name: process_cpu(p.pid) for p in fast}
            started = time.monotonic()
            time.sleep(IDLE_THREAD_SECONDS / 2)
            load = diff_counters(counters.read(), before)
            seconds = time.monotonic() - started
            polls = sum(polls_counted(count_diff(probe_counts(p), probed[p.name])) for p in fast)
            servers_cpu = sum(process_cpu(p.pid) - cpu0[p.name] for p in fast)
            results[f"{LOAD_SERVERS} servers at 1 ms polling: polls/s"] = polls / seconds
            results[f"{LOAD_SERVERS} servers at 1 ms polling: statements/s"] = (
                load["statements"] / seconds
            )
            results[f"{LOAD_SERVERS} servers at 1 ms polling: postgres % of a core"] = (
                load["postgres CPU ms"] / 10 / seconds
            )
            results[f"{LOAD_SERVERS} servers at 1 ms polling: servers % of a core"] = (
                100 * servers_cpu / seconds
            )
            results["under load: postgres CPU ms per poll"] = load["postgres CPU ms"] / polls
            results["under load: postgres CPU ms per statement"] = (
                load["postgres CPU ms"] / load["statements"]
            )
            results["under load: server CPU ms per poll"] = 1000 * servers_cpu / polls
            results["capacity: polls/s per postgres core"] = polls / (
                load["postgres CPU ms"] / 1000
            )
        finally:
            counters.close()
    return results


BENCHMARKS = {
    "throughput": bench_throughput,
    "latency": bench_latency,
    "spawn": bench_spawn,
    "recovery": bench_recovery,
    "notebooks": bench_notebooks,
    "memory": bench_memory,
    "idle-cpu": bench_idle_cpu,
    "busy-cpu": bench_busy_cpu,
    "poll-cost": bench_poll_cost,
    "pg-cost": bench_pg_cost,
}
ON_POSTGRES = [
    "throughput",
    "latency",
    "spawn",
    "recovery",
    "memory",
    "idle-cpu",
    "busy-cpu",
    "poll-cost",
    "pg-cost",
]
ONLY_POSTGRES = ["pg-cost"]


def report(title: str, results: dict[str, float]) -> None:
    print(f"\n## {title}", flush=True)
    width = max([48, *map(len, results)])
    for key, value in results.items():
        print(f"  {key:{width}s} {value:10.3f}", flush=True)


def main() -> int:
    summary, _, details = __doc__.partition("\n\n")
    parser = argparse.ArgumentParser(
        description=summary, epilog=details, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only",
        default=",".join(BENCHMARKS),
        help="comma-separated names (default: all; pg-cost runs only with --postgres)",
    )
    parser.add_argument("--trials", type=int, default=5, help="trials per figure (median)")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="also run the chosen benchmarks (all but notebooks) on a throwaway PostgreSQL",
    )
    parser.add_argument(
        "--polling-intervals",
        default=",".join(f"{i:g}" for i in POLLING_INTERVALS),
        help="poll-cost: queue polling intervals to measure, seconds (default: %(default)s)",
    )
    args = parser.parse_args()
    POLLING_INTERVALS[:] = [float(i) for i in args.polling_intervals.split(",") if i.strip()]
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmarks {sorted(unknown)}; choose from {list(BENCHMARKS)}")

    os.chdir(ROOT)  # scratch folders land in benchmarks/scratch
    os.environ.pop(config.DATABASE_URL_ENV, None)
    cpu = platform.processor() or platform.machine()
    print(f"# fiblab benchmarks — {platform.node()}: {usable_cores()} cores, {cpu}, "
          f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}")  # fmt: skip
    for name in chosen:
        if name in ONLY_POSTGRES:
            if not args.postgres:
                print(f"\n## {name}: PostgreSQL only, run with --postgres", flush=True)
            continue
        report(f"{name} (SQLite)", BENCHMARKS[name](args.trials, "sqlite"))
    if args.postgres:
        from fiblab.localpg import LocalPostgres

        global CLUSTER
        cluster = CLUSTER = LocalPostgres(ROOT / "scratch" / "postgres")
        os.environ[config.DATABASE_URL_ENV] = cluster.start(install=True)
        try:
            for name in [n for n in chosen if n in ON_POSTGRES]:
                report(f"{name} (PostgreSQL)", BENCHMARKS[name](args.trials, "pg"))
        finally:
            cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
