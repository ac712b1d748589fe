"""Notebook 05's workflows that fail on purpose: step retries and a crash loop.

Two small workflows with fixed, deterministic failure patterns:

* ``flaky_workflow(n, failures)`` – one step that raises on its first ``failures``
  attempts (counted through the step-execution side channel, so the count survives
  anything), then succeeds. DBOS retries it in the same process with exponential
  backoff, at most ``FLAKY_MAX_ATTEMPTS`` attempts in all.
* ``crash_loop_workflow(n, crash_at)`` – like ``fibonacci_steps_workflow``, but
  step ``crash_at`` crashes the process on *every* execution, and the workflow allows
  only ``CRASH_LOOP_MAX_RECOVERY_ATTEMPTS`` recoveries (DBOS's default is 100), so
  a supervisor that keeps restarting the server reaches the end quickly.

A server imports this module next to :mod:`fiblab.app`, so both are registered (DBOS
names a workflow by its function's qualified name, not by its module).
"""

from __future__ import annotations

from dbos import DBOS

from . import config
from .app import fibonacci_index_step
from .crashes import CrashMode
from .fib import MAX_ITERATIVE_N, fib_iterative, validate_n
from .steplog import read_executions, record_execution

#: Attempts ``flaky_step`` gets in all, the first one included (DBOS's ``max_attempts``).
FLAKY_MAX_ATTEMPTS = 4
#: Pause before the first retry, seconds; each later pause is ``FLAKY_BACKOFF_RATE``
#: times the one before (0.03 s, 0.06 s, 0.12 s).
FLAKY_INTERVAL_SEC = 0.03
FLAKY_BACKOFF_RATE = 2.0
#: Recoveries ``crash_loop_workflow`` is allowed before DBOS gives up on it.
CRASH_LOOP_MAX_RECOVERY_ATTEMPTS = 1


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
