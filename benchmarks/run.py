"""fiblab benchmarks: every figure is a ratio against a baseline measured in the same run.

    python benchmarks/run.py                 # all benchmarks on SQLite
    python benchmarks/run.py --postgres      # also repeat 1-4 on a throwaway PostgreSQL
    python benchmarks/run.py --only latency,spawn --trials 3

1. throughput: 2 servers vs ProcessPoolExecutor(2) on 20 CPU-bound jobs of ~0.3 s,
   and each idle server's CPU use;
2. latency: enqueue->result round trip, fiblab's polling defaults vs DBOS's defaults;
3. spawn: server spawn->ready vs ``python -c "import dbos"``;
4. recovery: restart->first resumed step of a workflow whose server was SIGKILLed;
5. notebooks: execution time of every notebook;
6. --postgres: 1-4 again on PostgreSQL.

Medians of repeated trials. Not part of the test suite; results go in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fiblab import client as fc  # noqa: E402
from fiblab import config  # noqa: E402
from fiblab.lab import Lab  # noqa: E402
from fiblab.machine import n_for_seconds, pool_seconds, usable_cores  # noqa: E402
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
        with Lab(f"bench-throughput-{label}") as lab:
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
    with Lab(f"bench-latency-{label}") as lab:
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

    with Lab(f"bench-spawn-{label}") as lab:
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
        with Lab(f"bench-recovery-{label}") as lab:
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


def bench_notebooks(_trials: int, _label: str) -> dict[str, float]:
    import nbformat
    from nbclient import NotebookClient

    results = {}
    for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        started = time.perf_counter()
        resources = {"metadata": {"path": str(path.parent)}}
        NotebookClient(nb, timeout=600, resources=resources).execute()
        results[f"{path.stem} s"] = time.perf_counter() - started
    results["total s"] = sum(results.values())
    return results


BENCHMARKS = {
    "throughput": bench_throughput,
    "latency": bench_latency,
    "spawn": bench_spawn,
    "recovery": bench_recovery,
    "notebooks": bench_notebooks,
}
ON_POSTGRES = ["throughput", "latency", "spawn", "recovery"]


def report(title: str, results: dict[str, float]) -> None:
    print(f"\n## {title}", flush=True)
    for key, value in results.items():
        print(f"  {key:48s} {value:10.3f}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated names")
    parser.add_argument("--trials", type=int, default=5, help="trials per figure (median)")
    parser.add_argument("--postgres", action="store_true", help="repeat 1-4 on PostgreSQL")
    args = parser.parse_args()
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
        report(f"{name} (SQLite)", BENCHMARKS[name](args.trials, "sqlite"))
    if args.postgres:
        from fiblab.localpg import LocalPostgres

        cluster = LocalPostgres(ROOT / "scratch" / "postgres")
        os.environ[config.DATABASE_URL_ENV] = cluster.start(install=True)
        try:
            for name in [n for n in chosen if n in ON_POSTGRES]:
                report(f"{name} (PostgreSQL)", BENCHMARKS[name](args.trials, "pg"))
        finally:
            cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
