"""Notebook 07, section 1: a memoising calculator *instance*, and the fix.

``MemoCalculator`` (the original experiment's ``server3.py``/``ex1.py``) is a
``DBOSConfiguredInstance`` that keeps every number it computed in ``self.memo``; each
step reads ``self.memo[i-1]`` and ``self.memo[i-2]`` and stores ``self.memo[i]``. Crash it
at step k and restart: DBOS replays steps 2..k-1 from their checkpoints *without running
them*, so nothing refills ``self.memo`` in the new process, and step k fails with
``KeyError: k-1`` on every retry.

``RebuildingCalculator`` keeps the memo in a local variable of the workflow, filled from
step *return values*: a replay returns the same values, so the memo is rebuilt.

``rebuilding_fibonacci_workflow`` is a module-level workflow that calls the instance: the
name a client needs, with no class or instance name attached. The module also imports
:mod:`fiblab.variants.method_kinds` (static and class methods, an ordinary instance), so
one server answers every request of notebook 07, section 2.
"""

from __future__ import annotations

from dbos import DBOS, DBOSConfiguredInstance

from fiblab.crashes import note_step
from fiblab.fib import MAX_ITERATIVE_N, validate_n
from fiblab.variants import (
    main_guard,
    method_kinds,  # noqa: F401  (its workflows: this server's too)
)

if __name__ == "__main__":  # `python -m …`: serve this module imported under its real name
    main_guard("fiblab.variants.memo_instance")

DESCRIPTION = (
    "Serve notebook 07's memoising calculators: MemoCalculator.memo_fibonacci (state in "
    "self.memo, breaks after a crash), RebuildingCalculator.rebuilding_fibonacci (state "
    "rebuilt from step results) and rebuilding_fibonacci_workflow, and the class "
    "workflows of fiblab.variants.method_kinds. Same options as python -m fiblab.server."
)

#: Step retries: few and fast, so a failing step gives up within a fraction of a second.
RETRIES = {
    "retries_allowed": True,
    "max_attempts": 3,
    "interval_seconds": 0.05,
    "backoff_rate": 1.0,
}

MEMO_INSTANCE = "memo-calculator"
REBUILDING_INSTANCE = "rebuilding-calculator"


@DBOS.dbos_class()
class MemoCalculator(DBOSConfiguredInstance):
    """Remembers every fib(i) it computed, in the instance: NOT recovered after a crash."""

    def __init__(self, config_name: str) -> None:
        self.memo: dict[int, int] = {0: 0, 1: 1}
        super().__init__(config_name)

    @DBOS.step(**RETRIES)
    def memo_step(self, i: int, crash_at: int | None = None) -> int:
        note_step(i, crash_at)  # counts real executions; crashes the process at crash_at
        self.memo[i] = self.memo[i - 1] + self.memo[i - 2]
        return self.memo[i]

    @DBOS.workflow()
    def memo_fibonacci(self, n: int, crash_at: int | None = None) -> tuple[int, int]:
        validate_n(n, MAX_ITERATIVE_N)
        for i in range(2, n + 1):
            self.memo_step(i, crash_at)
        return n, self.memo[n]


@DBOS.dbos_class()
class RebuildingCalculator(DBOSConfiguredInstance):
    """The same calculator with its memo in workflow code, rebuilt from step results."""

    @DBOS.step(**RETRIES)
    def add_step(self, i: int, previous: int, current: int, crash_at: int | None = None) -> int:
        note_step(i, crash_at)
        return previous + current

    @DBOS.workflow()
    def rebuilding_fibonacci(self, n: int, crash_at: int | None = None) -> tuple[int, int]:
        validate_n(n, MAX_ITERATIVE_N)
        memo = {0: 0, 1: 1}  # a local variable: every replay rebuilds it from step results
        for i in range(2, n + 1):
            memo[i] = self.add_step(i, memo[i - 2], memo[i - 1], crash_at)
        return n, memo[n]


# Configured instances are created at import time, before DBOS launches, under fixed
# names: a recovered or enqueued workflow finds its instance by class and instance name.
calculator = MemoCalculator(MEMO_INSTANCE)
rebuilder = RebuildingCalculator(REBUILDING_INSTANCE)


@DBOS.workflow()
def rebuilding_fibonacci_workflow(n: int, crash_at: int | None = None) -> tuple[int, int]:
    """A module-level entry point: clients enqueue it by name alone."""
    return rebuilder.rebuilding_fibonacci(n, crash_at)
