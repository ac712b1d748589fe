"""What waiting for results and writing progress cost, each beside its baseline in one run.

    .venv/bin/python benchmarks/wait_and_progress.py                   # both (about 4 minutes)
    .venv/bin/python benchmarks/wait_and_progress.py --only queries --trials 3
    .venv/bin/python benchmarks/wait_and_progress.py --only progress --trials 5
    .venv/bin/python benchmarks/wait_and_progress.py --only progress --step-seconds 0.02
    .venv/bin/python -m fiblab.localpg run -- .venv/bin/python benchmarks/wait_and_progress.py \
        --only progress --trials 5                                     # on PostgreSQL

queries   database statements a waiting client sends, counted with SQLAlchemy's
          ``before_cursor_execute`` hook on its DBOSClient's engine: the original
          ``client.py``'s ``asyncio.as_completed`` over handles (each handle's
          ``get_result`` polls its own workflow) vs DBOS's ``wait_first_async`` (one query
          for all) vs fiblab's ``results_as_completed_async`` (``wait_first`` with a
          growing pause). Per second while N = 10 and 50 workflows wait (no server: they
          stay queued), at fiblab's 0.01 s and DBOS's 1.0 s polling; and in total until
          the results of the same N jobs are in (one server).
progress  the same step workflows with and without ``progress=True`` (the stream writes
          ``expected_positions`` names, from the workflow, and a close), on two servers:
          the time ratio, with steps that do nothing (bookkeeping only, the worst case)
          and with the 0.02 s steps of the crash lessons. The order of the two alternates
          between trials; the verdict is a sign test over the back-to-back pairs.

Medians of --trials repeats. Not part of the test suite; results go in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from sqlalchemy import event

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fiblab import client as fc  # noqa: E402
from fiblab import config  # noqa: E402
from fiblab.lab import Lab  # noqa: E402
from fiblab.progress import expected_positions  # noqa: E402
from fiblab.spawn import cpu_seconds  # noqa: E402

ROOT = REPO / "benchmarks"
WINDOW_SEC = 3.0  # how long the queries of a waiting client are counted
SIZES = (10, 50)
INTERVALS = (0.01, 1.0)  # fiblab's result polling, DBOS's default
JOB_N = 15  # fib(15): a few ms of computation, so the wait is mostly queueing
PROGRESS_N = 25  # the crash lessons' workflow: 24 steps
PROGRESS_STEP_SECONDS = (0.0, 0.02)  # steps doing nothing (the worst case), the lessons' steps
PROGRESS_WORKFLOWS = {False: 40, True: 20}  # per run: for empty steps, for steps that sleep


class QueryCounter:
    """Counts the statements a DBOSClient sends (on every thread it uses)."""

    def __init__(self, client) -> None:
        self.count = 0
        self._lock = threading.Lock()
        event.listen(client._sys_db.engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args) -> None:
        with self._lock:
            self.count += 1


# --- the three ways to wait ---------------------------------------------------------


async def as_completed_over_handles(client, handles, interval: float) -> None:
    """The original client.py: one task per handle, each polling its own get_result."""
    tasks = [asyncio.ensure_future(h.get_result(polling_interval_sec=interval)) for h in handles]
    try:
        for next_done in asyncio.as_completed(tasks):
            await next_done
    finally:  # cancelled at the end of a counting window: stop every poller
        for task in tasks:
            task.cancel()


async def wait_first_alone(client, handles, interval: float) -> None:
    """DBOS's wait_first_async over the waiting handles until all are in."""
    pending = list(handles)
    while pending:
        done = await client.wait_first_async(pending, polling_interval_sec=interval)
        pending.remove(done)
        await done.get_result(polling_interval_sec=interval)


async def fiblab_helper(client, handles, interval: float) -> None:
    """fiblab's results_as_completed_async: wait_first, a timeout, a growing pause."""
    async for _wid, _result in fc.results_as_completed_async(client, handles, 600, interval):
        pass


WAYS: dict[str, Callable[..., Awaitable[None]]] = {
    "as_completed over handles (original)": as_completed_over_handles,
    "DBOS wait_first_async": wait_first_alone,
    "fiblab results_as_completed_async": fiblab_helper,
}


async def count_while_waiting(lab: Lab, counter: QueryCounter, way, n: int, interval: float):
    """Statements per second and client CPU % while ``n`` queued workflows wait."""
    handles = [await lab.client.enqueue_async(fc.enqueue_options(), JOB_N) for _ in range(n)]
    waiting = asyncio.ensure_future(way(lab.client, handles, interval))
    await asyncio.sleep(interval)  # let the first polls start
    before, cpu_before = counter.count, time.process_time()
    await asyncio.sleep(WINDOW_SEC)
    queries, cpu = counter.count - before, time.process_time() - cpu_before
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    await lab.client.cancel_workflows_async([h.workflow_id for h in handles])
    return queries / WINDOW_SEC, 100 * cpu / WINDOW_SEC


async def count_until_done(lab: Lab, counter: QueryCounter, way, n: int, interval: float):
    """Statements sent while the results of ``n`` jobs come in (a server is running)."""
    handles = [await lab.client.enqueue_async(fc.enqueue_options(), JOB_N) for _ in range(n)]
    before, started = counter.count, time.perf_counter()
    await way(lab.client, handles, interval)
    return counter.count - before, time.perf_counter() - started


def medians(
    trials: int, run: Callable[..., Awaitable[tuple[float, float]]], *args: object
) -> tuple[float, float]:
    """Await ``run(*args)`` ``trials`` times, each on a fresh event loop; the median of
    each of its two figures."""
    runs = [asyncio.run(run(*args)) for _ in range(trials)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def bench_queries(trials: int) -> None:
    print(f"\n== queries: statements sent by a waiting client (medians of {trials}) ==")
    with Lab("bench-wait-queries", root=ROOT) as lab:
        counter = QueryCounter(lab.client)
        for interval in INTERVALS:
            for n in SIZES:
                base = None
                for name, way in WAYS.items():
                    rate, cpu = medians(trials, count_while_waiting, lab, counter, way, n, interval)
                    base = base or rate
                    print(
                        f"waiting, {interval:g} s polling, N={n:>2}: {name:<38} "
                        f"{rate:8.1f} queries/s ({rate / base:5.2f}× the original), "
                        f"client CPU {cpu:5.1f} %"
                    )
        lab.start_server("a", worker_concurrency=4)
        interval = INTERVALS[0]
        for n in SIZES:
            base = None
            for name, way in WAYS.items():
                total, seconds = medians(trials, count_until_done, lab, counter, way, n, interval)
                base = base or total
                print(
                    f"until done, {interval:g} s polling, N={n:>2}: {name:<38} "
                    f"{total:8.0f} queries in {seconds:5.2f} s ({total / base:5.2f}× the original)"
                )


# --- progress writes -----------------------------------------------------------------


def steps_run(lab: Lab, count: int, n: int, step_seconds: float, progress: bool):
    """Wall seconds until ``count`` step workflows are done, and the CPU seconds the
    servers spent meanwhile (the database's own work included on SQLite, not on PostgreSQL)."""
    servers = [p.pid for p in lab.processes if p.alive]
    cpu_before = sum(cpu_seconds(pid) for pid in servers)
    started = time.perf_counter()
    options = fc.enqueue_options("fibonacci_steps_workflow")
    handles = [
        lab.client.enqueue(options, n, step_seconds=step_seconds, progress=progress)
        for _ in range(count)
    ]
    for _wid, result in fc.results_as_completed(lab.client, handles, timeout=600):
        assert not isinstance(result, Exception), result
    wall = time.perf_counter() - started
    return wall, sum(cpu_seconds(pid) for pid in servers) - cpu_before


def spread(values: list[float]) -> str:
    """Median and range, for a table cell."""
    return f"{statistics.median(values):.2f} s ({min(values):.2f}–{max(values):.2f})"


def verdict(ratios: list[float]) -> str:
    """Words for the difference, from the paired trials (with / without, run back to back):
    a cost is measurable when progress was slower in every pair (a sign test: by chance
    alone, 1 in 2**pairs)."""
    slower = sum(r > 1 for r in ratios)
    if slower == len(ratios):
        return f"more in all {len(ratios)} pairs: a measurable cost"
    if slower == 0:
        return f"less in all {len(ratios)} pairs (noise: it does more work, not less)"
    return f"more in {slower} of {len(ratios)} pairs: no difference beyond the trials' spread"


def compare(what: str, without: list[float], with_: list[float]) -> str:
    ratios = [w / wo for w, wo in zip(with_, without, strict=True)]
    return (
        f"  {what}: without {spread(without)}, with progress {spread(with_)}; paired ratio "
        f"{statistics.median(ratios):.3f}× ({min(ratios):.3f}–{max(ratios):.3f}); "
        f"{verdict(ratios)}\n    trials without {', '.join(f'{t:.2f}' for t in without)}; "
        f"with {', '.join(f'{t:.2f}' for t in with_)}"
    )


def bench_progress(trials: int, step_seconds_list: Sequence[float] = PROGRESS_STEP_SECONDS) -> None:
    with Lab.fresh("bench-progress", root=ROOT) as lab:
        database = "PostgreSQL" if config.is_postgres(lab.database_url) else "SQLite"
        print(
            f"\n== progress: step workflows with / without stream writes, {database}, "
            f"{trials} pairs (load {load()}) =="
        )
        print(
            f"fibonacci_steps_workflow({PROGRESS_N}): {PROGRESS_N - 1} steps; with progress it "
            f"writes the positions {expected_positions(PROGRESS_N)} and closes the stream"
        )
        lab.start_servers(["a", "b"])
        steps_run(lab, 2, 5, 0.0, True)  # warm: first dequeue after launch
        for step_seconds in step_seconds_list:
            count = PROGRESS_WORKFLOWS[step_seconds > 0]
            runs: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
            for trial in range(trials):
                for progress in (False, True) if trial % 2 == 0 else (True, False):
                    runs[progress].append(steps_run(lab, count, PROGRESS_N, step_seconds, progress))
            print(f"{step_seconds:g} s steps, {count} workflows per run (load {load()}):")
            for column, what in enumerate(("wall time", "servers' CPU")):
                without = [run[column] for run in runs[False]]
                with_ = [run[column] for run in runs[True]]
                print(compare(what, without, with_))


def load() -> str:
    """The machine's 1-minute load average (the machine may be shared)."""
    return f"{os.getloadavg()[0]:.1f}"


BENCHMARKS = {"queries": bench_queries, "progress": bench_progress}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated names")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument(
        "--step-seconds",
        default=",".join(f"{s:g}" for s in PROGRESS_STEP_SECONDS),
        help="progress only: the step lengths to compare, comma-separated (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    step_seconds_list = [float(s) for s in args.step_seconds.split(",")]
    for name in args.only.split(","):
        if name == "progress":
            bench_progress(args.trials, step_seconds_list)
        else:
            BENCHMARKS[name](args.trials)
    return 0


if __name__ == "__main__":
    sys.exit(main())
