"""The DBOS application every fiblab process runs: workflows, steps and the queue.

Importing this module registers the workflows with DBOS; :func:`launch` configures
DBOS (pinned application name and version, this process's executor id), launches it
and registers the queue. Server processes and notebook kernels both use it. The crash
trigger lives in :mod:`fiblab.crashes`, the step-execution side channel in
:mod:`fiblab.steplog`, notebook 05's failing workflows in :mod:`fiblab.failing_workflows`.

Two workflows:

* ``fibonacci_workflow(n)`` – one step, returns ``(n, fib(n), duration_seconds)``:
  the contract the original experiment's clients rely on.
* ``fibonacci_steps_workflow(n, …)`` – one step per Fibonacci index, so a crash in
  the middle leaves checkpoints behind. It can crash its own process on purpose at a
  chosen step, once (or every time), by a deterministic trigger. With
  ``progress=True`` it writes the finished indexes :func:`progress_positions` names to
  the DBOS stream :data:`fiblab.config.PROGRESS_STREAM` (what that guarantees:
  :mod:`fiblab.progress`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Iterator

from dbos import DBOS, DBOSConfig, Queue

from . import config
from .crashes import CRASH_MODES, CrashMode, crash_process, should_crash
from .database import lock_sqlite_claims, prepare_database
from .fib import MAX_ITERATIVE_N, fib_recursive, validate_n
from .steplog import record_execution

#: "workflow … started/finished" lines: a server prints them (as the original's did).
workflow_log = logging.getLogger(config.WORKFLOW_LOGGER)


# --- the original experiment's workflow: one step ------------------------------------


@DBOS.step()
def compute_fibonacci(n: int) -> tuple[int, int, float]:
    """Compute fib(n) recursively (CPU-bound); return ``(n, fib(n), seconds)``."""
    with _cpu_slot():
        started = time.perf_counter()
        value = fib_recursive(n)
        return n, value, time.perf_counter() - started


# A server started with ``--prefetch`` takes more workflows than it computes at once:
# the extra ones wait here, so the next computation starts the moment one ends instead
# of at the queue's next poll. None: no limit (the default).
_cpu_slots: threading.Semaphore | None = None


def set_cpu_slots(slots: int | None) -> None:
    """Let at most ``slots`` CPU-bound steps of this process compute at the same time."""
    global _cpu_slots
    _cpu_slots = threading.Semaphore(slots) if slots else None


@contextlib.contextmanager
def _cpu_slot() -> Iterator[None]:
    if _cpu_slots is None:
        yield
        return
    with _cpu_slots:
        yield


@DBOS.workflow()
def fibonacci_workflow(n: int) -> tuple[int, int, float]:
    """Validate ``n`` (bad input ends the workflow in ERROR), then run one step."""
    workflow_log.info("workflow %s started: fibonacci_workflow(%r)", DBOS.workflow_id, n)
    try:
        validate_n(n)
        result = compute_fibonacci(n)
    except Exception as error:
        workflow_log.info("workflow %s failed: %s", DBOS.workflow_id, error)
        raise
    workflow_log.info("workflow %s finished: fib(%d) = %d in %.3f s", DBOS.workflow_id, *result)
    return result


# --- one step per index, with a deterministic crash trigger --------------------------


@DBOS.step()
def fibonacci_index_step(
    i: int,
    previous: int,
    current: int,
    crash_at: int | None = None,
    crash_mode: CrashMode = "kill",
    crash_every_time: bool = False,
    step_seconds: float = 0.0,
) -> int:
    """Return fib(i) = previous + current, after recording that this step ran.

    At ``i == crash_at`` the process crashes for real (SIGKILL or a segfault): once
    per workflow, or on every execution when ``crash_every_time``.
    """
    workflow_id = DBOS.workflow_id or "no-workflow"
    record_execution(workflow_id, i)
    if i == crash_at and should_crash(workflow_id, i, crash_every_time):
        crash_process(crash_mode)
    if step_seconds:
        time.sleep(step_seconds)
    return previous + current


#: A progress workflow writes one position per this many steps at least: a write costs
#: about what a step's own bookkeeping costs (one write transaction), so this bounds what
#: progress adds to a step workflow to about 1/8 of that bookkeeping (benchmarks/README.md,
#: section 15).
PROGRESS_MIN_STRIDE = 8
#: ... and at most this many positions, the last one included, however long the workflow.
PROGRESS_MAX_POSITIONS = 12


def progress_stride(n: int) -> int:
    """Steps between two positions of ``fibonacci_steps_workflow(n, progress=True)``."""
    return max(PROGRESS_MIN_STRIDE, math.ceil((n - 1) / PROGRESS_MAX_POSITIONS))


def progress_positions(n: int) -> list[int]:
    """The indexes ``fibonacci_steps_workflow(n, progress=True)`` writes, in order: the
    index after every :func:`progress_stride` steps, and always the last index ``n``.

    For n = 25 (24 steps, stride 8): ``[9, 17, 25]``; for n = 200: every 17th step, 12
    positions. A pure function of ``n``, a workflow input, so a recovered run decides the
    same writes in the same order (see the workflow's docstring for why that matters).
    """
    stride = progress_stride(n)
    positions = [i for i in range(2, n + 1) if (i - 1) % stride == 0]
    if n >= 2 and positions[-1:] != [n]:
        positions.append(n)
    return positions


@DBOS.workflow()
def fibonacci_steps_workflow(
    n: int,
    crash_at: int | None = None,
    crash_mode: CrashMode = "kill",
    crash_every_time: bool = False,
    step_seconds: float = 0.0,
    progress: bool = False,
) -> tuple[int, int]:
    """fib(n) as one step per index 2..n; returns ``(n, fib(n))``.

    The workflow keeps the running pair in local variables rebuilt from step return
    values, so a recovered run picks up exactly where the checkpoints end.

    With ``progress`` the workflow itself (not the step) writes to the stream
    ``PROGRESS_STREAM`` the indexes :func:`progress_positions` names, each once its step
    is done, and closes the stream at the end. DBOS records each write as an operation of
    the workflow (``DBOS.writeStream``, then ``DBOS.closeStream``) at the next step id,
    between the steps, which is why progress is off unless asked for.

    Which writes happen depends on ``n`` alone, never on the clock. A recovered run
    replays the workflow from the start, and DBOS checks each operation against the one
    recorded at its step id, name included (``_check_operation_execution_txn`` in
    ``dbos/_sys_db.py``). A throttle on time ("at most one write per 0.1 s") would decide
    differently in the replay, where checkpointed steps return at once: a write would land
    on a step id where a step was recorded, or a step where a write was, and DBOS would
    raise ``DBOSUnexpectedStepError``; and past the last checkpoint it would write other
    positions than the first run, so no list could say beforehand what the stream holds.
    """
    validate_n(n, MAX_ITERATIVE_N)
    if crash_mode not in CRASH_MODES:
        raise ValueError(f"crash_mode must be one of {CRASH_MODES}, got {crash_mode!r}")
    workflow_log.info("workflow %s started: fibonacci_steps_workflow(%d)", DBOS.workflow_id, n)
    positions = set(progress_positions(n)) if progress else set()
    previous, current = 0, 1
    for i in range(2, n + 1):
        nxt = fibonacci_index_step(
            i, previous, current, crash_at, crash_mode, crash_every_time, step_seconds
        )
        previous, current = current, nxt
        if i in positions:
            DBOS.write_stream(config.PROGRESS_STREAM, i)
    if progress:
        DBOS.close_stream(config.PROGRESS_STREAM)
    workflow_log.info("workflow %s finished: %d steps", DBOS.workflow_id, max(n - 1, 0))
    return n, (current if n > 0 else 0)


# --- launching -------------------------------------------------------------------------


def dbos_config(database_url: str, executor_id: str, log_level: str = "WARNING") -> DBOSConfig:
    """The DBOS config every fiblab process uses: pinned name and version, own executor
    id, a notification thread that lets ``DBOS.destroy`` return within 0.1 s, and (on
    PostgreSQL) a notifier that wakes 10 times a second instead of 100."""
    return {
        "name": config.APP_NAME,
        "system_database_url": database_url,
        "application_version": config.APP_VERSION,
        "executor_id": config.check_name(executor_id, "executor id"),
        "log_level": log_level,
        "notification_listener_polling_interval_sec": config.NOTIFICATION_POLLING_INTERVAL_SEC,
        "notification_coalesce_sec": config.NOTIFICATION_COALESCE_SEC,
    }


def queue_options(
    worker_concurrency: int | None,
    polling_interval_sec: float,
    global_concurrency: int | None = None,
) -> dict:
    """Keyword arguments for ``DBOS.register_queue`` with fiblab's checks applied
    (``global_concurrency``: at most this many at once across every process; None: no limit)."""
    if worker_concurrency is not None and worker_concurrency < 1:
        raise ValueError(f"worker_concurrency must be >= 1 or None, got {worker_concurrency}")
    if global_concurrency is not None and not (
        global_concurrency >= 1 and (worker_concurrency or 1) <= global_concurrency
    ):
        raise ValueError(
            f"global_concurrency must be >= 1 and >= worker_concurrency ({worker_concurrency}), "
            f"got {global_concurrency}"
        )
    if not polling_interval_sec > 0:
        raise ValueError(f"polling_interval_sec must be > 0, got {polling_interval_sec}")
    return {
        "worker_concurrency": worker_concurrency,
        "global_concurrency": global_concurrency,
        "polling_interval_sec": polling_interval_sec,
        "on_conflict": "always_update",
    }


def launch(
    database_url: str,
    executor_id: str,
    *,
    queue: str = config.QUEUE_NAME,
    worker_concurrency: int | None = 1,
    polling_interval_sec: float = config.QUEUE_POLLING_INTERVAL_SEC,
    log_level: str = "WARNING",
    database_wait: float = config.DATABASE_WAIT_SEC,
    global_concurrency: int | None = None,
) -> Queue:
    """Configure and launch DBOS in this process, then register ``queue``; waits up to
    ``database_wait`` seconds for the database to accept DBOS's tables.

    For code with no running event loop (a server). In a notebook cell use
    :func:`launch_async`.
    """
    options = queue_options(worker_concurrency, polling_interval_sec, global_concurrency)
    # Registered before launch, the queue is polled from the first moment (registered
    # after, it waits for the queue manager's next scan, about a second).
    prepare_database(
        database_url,
        queue,
        worker_concurrency,
        polling_interval_sec,
        timeout=database_wait,
        global_concurrency=global_concurrency,
    )
    DBOS(config=dbos_config(database_url, executor_id, log_level))
    # Only `queue`: without this, DBOS 3.4's queue thread polls every queue registered in
    # the database for this application (and those no application claims), besides its own
    # internal queue (dbos/_queue.py, queue_thread).
    DBOS.listen_queues([queue])
    lock_sqlite_claims()  # global_concurrency holds across processes on SQLite too
    DBOS.launch()
    return DBOS.register_queue(queue, **options)


async def launch_async(
    database_url: str,
    executor_id: str = "kernel",
    *,
    queue: str = config.QUEUE_NAME,
    worker_concurrency: int | None = 1,
    polling_interval_sec: float = config.QUEUE_POLLING_INTERVAL_SEC,
    log_level: str = "WARNING",
) -> Queue:
    """:func:`launch` for a running event loop, e.g. a notebook cell (``await``)."""
    DBOS(config=dbos_config(database_url, executor_id, log_level))
    lock_sqlite_claims()
    DBOS.launch()
    return await DBOS.register_queue_async(
        queue, **queue_options(worker_concurrency, polling_interval_sec)
    )
