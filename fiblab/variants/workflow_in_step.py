"""Notebook 08, section 2: a workflow started from inside a step, and the fix.

``workflow_in_step_workflow`` calls the step ``step_starting_a_workflow``, whose body
calls the workflow ``fib_child_workflow`` (the original experiment's ``ex5.py``). A step
is the unit DBOS records as *one* result; a workflow started inside it could not be
recorded or recovered as part of its parent, so DBOS refuses at once. On dbos 3.4 the
refusal is a bare ``AssertionError`` with no message.

``sync_workflow_calling_async_step`` is the original's other slip: a *sync* workflow
calls an *async* step without ``await`` (it cannot). DBOS raises nothing: the call
returns an un-awaited coroutine, the step body never runs and no step is recorded; the
workflow fails only where it uses that coroutine as a number (``TypeError``).

``child_in_workflow_workflow`` starts the same child from workflow code: DBOS records
it as a child workflow (its id is derived from the parent's), and a recovered parent
waits for the recorded child instead of starting it again.
"""

from __future__ import annotations

import asyncio

from dbos import DBOS

from fiblab.crashes import note_step
from fiblab.fib import MAX_ITERATIVE_N, fib_iterative, validate_n
from fiblab.variants import main_guard

if __name__ == "__main__":  # `python -m …`: serve this module imported under its real name
    main_guard("fiblab.variants.workflow_in_step")

DESCRIPTION = (
    "Serve notebook 08's workflow_in_step_workflow (a step that starts a workflow: fails "
    "with AssertionError), sync_workflow_calling_async_step (an async step called without "
    "await: TypeError) and child_in_workflow_workflow (the child started from workflow "
    "code). Same options as python -m fiblab.server."
)

#: How often a parent looks for its child's result (DBOS's default: 1 s).
CHILD_POLLING_SEC = 0.05


@DBOS.step()
async def fib_child_step(n: int, seconds: float = 0.0, crash_at: int | None = None) -> int:
    note_step(n, crash_at)
    await asyncio.sleep(seconds)
    return fib_iterative(n)


@DBOS.workflow()
async def fib_child_workflow(n: int, seconds: float = 0.0, crash_at: int | None = None) -> int:
    validate_n(n, MAX_ITERATIVE_N)
    return await fib_child_step(n, seconds, crash_at)


# --- the design to avoid -----------------------------------------------------------------


@DBOS.step()
async def step_starting_a_workflow(n: int) -> int:
    return await fib_child_workflow(n)  # a workflow started inside a step


@DBOS.workflow()
async def workflow_in_step_workflow(n: int) -> tuple[int, int]:
    return n, await step_starting_a_workflow(n)


@DBOS.workflow()
def sync_workflow_calling_async_step(n: int) -> tuple[int, int]:
    value = fib_child_step(n)  # an async step called from sync code: no await possible
    return n, 2 * value  # used as a number, as the original did with its step's result


# --- the fix ---------------------------------------------------------------------------------


@DBOS.workflow()
async def child_in_workflow_workflow(
    n: int, seconds: float = 0.0, crash_at: int | None = None
) -> tuple[int, int]:
    handle = await DBOS.start_workflow_async(fib_child_workflow, n, seconds, crash_at)
    return n, await handle.get_result(polling_interval_sec=CHILD_POLLING_SEC)
