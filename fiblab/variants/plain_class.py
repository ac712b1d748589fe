"""Notebook 07, section 3: a plain class created inside the workflow, and a crash loop.

``PlainCalculator`` has no DBOS decorators; ``plain_class_workflow`` creates a fresh one
every time its body runs (the original experiment's ``ex2.py``). After a crash the
recovered workflow creates it again and its memo is refilled from step return values, so
recovery works. But a step that crashes the *process* on every execution is replayed into
the same crash by every restart: DBOS counts the attempts and, past
``MAX_RECOVERY_ATTEMPTS``, marks the workflow ``MAX_RECOVERY_ATTEMPTS_EXCEEDED`` and
stops starting it.
"""

from __future__ import annotations

from dbos import DBOS

from fiblab.crashes import CrashMode, note_step
from fiblab.fib import MAX_ITERATIVE_N, validate_n
from fiblab.variants import main_guard

if __name__ == "__main__":  # `python -m …`: serve this module imported under its real name
    main_guard("fiblab.variants.plain_class")

DESCRIPTION = (
    "Serve notebook 07's plain_class_workflow: a plain calculator object created inside "
    "the workflow, optionally with a step that crashes the process every time (a crash "
    "loop that ends in MAX_RECOVERY_ATTEMPTS_EXCEEDED). Same options as python -m "
    "fiblab.server."
)

#: Kept low so a crash loop ends after a few restarts (DBOS's default is 100).
MAX_RECOVERY_ATTEMPTS = 2


class PlainCalculator:
    """An ordinary object: it lives exactly as long as one run of the workflow body."""

    def __init__(self) -> None:
        self.memo: dict[int, int] = {0: 0, 1: 1}

    def fibonacci(
        self, n: int, crash_at: int | None, crash_every_time: bool, crash_mode: CrashMode
    ) -> int:
        for i in range(2, n + 1):
            self.memo[i] = plain_add_step(
                i, self.memo[i - 2], self.memo[i - 1], crash_at, crash_every_time, crash_mode
            )
        return self.memo[n]


@DBOS.step()
def plain_add_step(
    i: int,
    previous: int,
    current: int,
    crash_at: int | None = None,
    crash_every_time: bool = False,
    crash_mode: CrashMode = "kill",
) -> int:
    note_step(i, crash_at, crash_every_time, crash_mode)
    return previous + current


@DBOS.workflow(max_recovery_attempts=MAX_RECOVERY_ATTEMPTS)
def plain_class_workflow(
    n: int,
    crash_at: int | None = None,
    crash_every_time: bool = False,
    crash_mode: CrashMode = "kill",
) -> tuple[int, int]:
    validate_n(n, MAX_ITERATIVE_N)
    calculator = PlainCalculator()  # created by workflow code: created again on recovery
    return n, calculator.fibonacci(n, crash_at, crash_every_time, crash_mode)
