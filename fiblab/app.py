"""The DBOS application every fiblab process runs: workflows, steps and the queue.

Importing this module registers the workflows with DBOS; :func:`launch` configures
DBOS (pinned application name and version, this process's executor id), launches it
and registers the queue. Server processes and notebook kernels both use it.

Two workflows:

* ``fibonacci_workflow(n)`` – one step, returns ``(n, fib(n), duration_seconds)``:
  the contract the original experiment's clients rely on.
* ``fibonacci_steps_workflow(n, …)`` – one step per Fibonacci index, so a crash in
  the middle leaves checkpoints behind. It can crash its own process on purpose at a
  chosen step, once (or every time), by a deterministic trigger.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from dbos import DBOS, DBOSConfig, Queue

from . import config
from .database import prepare_database
from .fib import MAX_ITERATIVE_N, fib_recursive, validate_n

#: "workflow … started/finished" lines: a server prints them (as the original's did).
workflow_log = logging.getLogger(config.WORKFLOW_LOGGER)

CrashMode = Literal["kill", "segfault"]
CRASH_MODES: tuple[str, ...] = ("kill", "segfault")
EXECUTIONS_FILE = "step-executions.log"


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


@DBOS.workflow()
def fibonacci_steps_workflow(
    n: int,
    crash_at: int | None = None,
    crash_mode: CrashMode = "kill",
    crash_every_time: bool = False,
    step_seconds: float = 0.0,
) -> tuple[int, int]:
    """fib(n) as one step per index 2..n; returns ``(n, fib(n))``.

    The workflow keeps the running pair in local variables rebuilt from step return
    values, so a recovered run picks up exactly where the checkpoints end.
    """
    validate_n(n, MAX_ITERATIVE_N)
    if crash_mode not in CRASH_MODES:
        raise ValueError(f"crash_mode must be one of {CRASH_MODES}, got {crash_mode!r}")
    workflow_log.info("workflow %s started: fibonacci_steps_workflow(%d)", DBOS.workflow_id, n)
    previous, current = 0, 1
    for i in range(2, n + 1):
        nxt = fibonacci_index_step(
            i, previous, current, crash_at, crash_mode, crash_every_time, step_seconds
        )
        previous, current = current, nxt
    workflow_log.info("workflow %s finished: %d steps", DBOS.workflow_id, max(n - 1, 0))
    return n, (current if n > 0 else 0)


def crash_process(mode: CrashMode) -> None:
    """Crash this process for real: SIGKILL itself, or read address 0 (a segfault)."""
    print(f"fiblab: crashing on purpose ({mode}) pid={os.getpid()}", flush=True)
    if mode == "segfault":
        ctypes.string_at(0)
    os.kill(os.getpid(), signal.SIGKILL)


#: A step told to crash on every execution stops crashing once a file of this name is in
#: the scratch folder: the notebooks' stand-in for deploying a fix of the bug.
BUG_FIXED_FILE = "bug-fixed"


def should_crash(workflow_id: str, step: int, every_time: bool) -> bool:
    """Whether the step should crash now: every time (until :data:`BUG_FIXED_FILE`
    appears), or once per workflow and step (a marker file in the scratch folder
    remembers it across the crash)."""
    if every_time:
        return not (config.scratch_dir() / BUG_FIXED_FILE).exists()
    marker = config.scratch_dir() / "crash-markers" / f"{workflow_id}-{step}"
    marker.parent.mkdir(parents=True, exist_ok=True)
    try:
        marker.touch(exist_ok=False)  # once only: the marker survives the crash
    except FileExistsError:
        return False
    return True


# --- a side channel that counts step executions ---------------------------------------


def record_execution(workflow_id: str, step: int, scratch: Path | None = None) -> None:
    """Append ``workflow_id step pid`` to the executions file (one atomic write)."""
    path = (scratch or config.scratch_dir()) / EXECUTIONS_FILE
    line = f"{workflow_id} {step} {os.getpid()} {time.time():.6f}\n".encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_executions(scratch: Path, workflow_id: str | None = None) -> list[dict]:
    """Every recorded step execution (optionally of one workflow), oldest first."""
    path = Path(scratch) / EXECUTIONS_FILE
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        wf, step, pid, at = line.split()
        if workflow_id is None or wf == workflow_id:
            rows.append({"workflow_id": wf, "step": int(step), "pid": int(pid), "at": float(at)})
    return rows


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


def queue_options(worker_concurrency: int | None, polling_interval_sec: float) -> dict:
    """Keyword arguments for ``DBOS.register_queue`` with fiblab's checks applied."""
    if worker_concurrency is not None and worker_concurrency < 1:
        raise ValueError(f"worker_concurrency must be >= 1 or None, got {worker_concurrency}")
    if not polling_interval_sec > 0:
        raise ValueError(f"polling_interval_sec must be > 0, got {polling_interval_sec}")
    return {
        "worker_concurrency": worker_concurrency,
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
) -> Queue:
    """Configure and launch DBOS in this process, then register ``queue``; waits up to
    ``database_wait`` seconds for the database to accept DBOS's tables.

    For code with no running event loop (a server). In a notebook cell use
    :func:`launch_async`.
    """
    options = queue_options(worker_concurrency, polling_interval_sec)
    # Registered before launch, the queue is polled from the first moment (registered
    # after, it waits for the queue manager's next scan, about a second).
    prepare_database(
        database_url, queue, worker_concurrency, polling_interval_sec, timeout=database_wait
    )
    DBOS(config=dbos_config(database_url, executor_id, log_level))
    DBOS.listen_queues([queue])  # DBOS 3.4 otherwise serves every queue in the database
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
    DBOS.launch()
    return await DBOS.register_queue_async(
        queue, **queue_options(worker_concurrency, polling_interval_sec)
    )


# === Step retries and a crash loop (notebook 05 demonstrates both) ====================
#
# Two small workflows with fixed, deterministic failure patterns:
#
# * ``flaky_workflow(n, failures)`` – one step that raises on its first ``failures``
#   attempts (counted through the executions side channel, so the count survives
#   anything), then succeeds. DBOS retries it in the same process with exponential
#   backoff, at most ``FLAKY_MAX_ATTEMPTS`` attempts in all.
# * ``crash_loop_workflow(n, crash_at)`` – like ``fibonacci_steps_workflow``, but
#   step ``crash_at`` crashes the process on *every* execution, and the workflow allows
#   only ``CRASH_LOOP_MAX_RECOVERY_ATTEMPTS`` recoveries (DBOS's default is 100), so
#   a supervisor that keeps restarting the server reaches the end quickly.

#: Attempts ``flaky_step`` gets in all, the first one included (DBOS's ``max_attempts``).
FLAKY_MAX_ATTEMPTS = 4
#: Pause before the first retry, seconds; each later pause is ``FLAKY_BACKOFF_RATE``
#: times the one before (0.05 s, 0.1 s, 0.2 s).
FLAKY_INTERVAL_SEC = 0.05
FLAKY_BACKOFF_RATE = 2.0
#: Recoveries ``crash_loop_workflow`` is allowed before DBOS gives up on it.
CRASH_LOOP_MAX_RECOVERY_ATTEMPTS = 2


class PlannedFailure(RuntimeError):
    """The error ``flaky_step`` raises on purpose (think: a flaky network call)."""


@DBOS.step(
    retries_allowed=True,
    max_attempts=FLAKY_MAX_ATTEMPTS,
    interval_seconds=FLAKY_INTERVAL_SEC,
    backoff_rate=FLAKY_BACKOFF_RATE,
)
def flaky_step(n: int, failures: int) -> int:
    """fib(n); the first ``failures`` attempts of this step (per workflow) raise."""
    workflow_id = DBOS.workflow_id or "no-workflow"
    record_execution(workflow_id, 1)
    attempt = len(read_executions(config.scratch_dir(), workflow_id))
    if attempt <= failures:
        raise PlannedFailure(f"attempt {attempt} failed on purpose ({failures} failures planned)")
    from .fib import fib_iterative

    return fib_iterative(n)


@DBOS.workflow()
def flaky_workflow(n: int, failures: int) -> tuple[int, int]:
    """``(n, fib(n))`` from one step that fails ``failures`` times before it succeeds."""
    validate_n(n, MAX_ITERATIVE_N)
    validate_n(failures, 100)
    return n, flaky_step(n, failures)


@DBOS.workflow(max_recovery_attempts=CRASH_LOOP_MAX_RECOVERY_ATTEMPTS)
def crash_loop_workflow(n: int, crash_at: int, crash_mode: CrashMode = "kill") -> tuple[int, int]:
    """One step per index 2..n; step ``crash_at`` crashes the process on every execution."""
    validate_n(n, MAX_ITERATIVE_N)
    previous, current = 0, 1
    for i in range(2, n + 1):
        nxt = fibonacci_index_step(i, previous, current, crash_at, crash_mode, True)
        previous, current = current, nxt
    return n, current
