"""Notebook 08, parts 1 and 3: async steps started in completion order, and the fix.

DBOS numbers the steps of a workflow in the order they *start* (an async step starts
when its coroutine first runs, not when the step function is called) and, on recovery,
hands step number k the result recorded for step number k. It checks the step's name,
not its arguments.

``completion_order_workflow`` (the original experiment's ``ex4.py``) runs one plain
coroutine per n through ``asyncio.as_completed``; each first waits for the (simulated)
network and only then starts the step ``fetch_fib_step``. So the steps are numbered in
the order the waits happen to end. When a recovered run sees different latencies, step
number k is a call for another n, gets that n's recorded result, and the workflow ends
SUCCESS with some results twice and others missing. Nothing raises: every step has the
same name.

``fixed_order_workflow`` starts every step at once with ``asyncio.gather``, which starts
them in argument order; the waiting happens inside the steps. The step numbers no longer
depend on timing.

The network is simulated: ``latencies[r][j]`` is the wait for ``ns[j]`` in run ``r`` of
the workflow body (0: first run, 1: first recovery, …; the last row repeats), counted
through a side file outside DBOS, the way a real network differs from run to run.

For the notebook's exercise, where the learner writes the workflow, :func:`network_wait`
is a simpler network: it belongs to the server *process* (``FIBLAB_NETWORK`` in its
environment), so a server restarted with other waits has another network.

``renamed_step_workflow`` fetches its ns one step after another; a server started with
``FIBLAB_RENAMED_STEP`` set runs its first fetch as ``fetch_fib_renamed_step`` instead:
code changed between a crash and its recovery, which DBOS refuses on replay
(``DBOSUnexpectedStepError``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence

from dbos import DBOS

from fiblab.crashes import note_step
from fiblab.fib import MAX_ITERATIVE_N, fib_iterative, validate_n
from fiblab.steplog import note_run, runs_started
from fiblab.variants import main_guard

if __name__ == "__main__":  # `python -m …`: serve this module imported under its real name
    main_guard("fiblab.variants.completion_order")

DESCRIPTION = (
    "Serve notebook 08's async workflows: completion_order_workflow (steps started in the "
    "order simulated network waits end: wrong results after a recovery), "
    "fixed_order_workflow (steps started in a fixed order by asyncio.gather) and "
    "renamed_step_workflow (its first step renamed when FIBLAB_RENAMED_STEP is set). Same options "
    "as python -m fiblab.server."
)


#: This server process's simulated network: one wait in seconds per position, comma-separated.
NETWORK_ENV = "FIBLAB_NETWORK"


async def network_wait(position: int) -> None:
    """Wait as this process's network does for the item at ``position`` (see ``NETWORK_ENV``;
    no wait when it is unset or too short)."""
    waits = [float(w) for w in os.environ.get(NETWORK_ENV, "").split(",") if w.strip()]
    await asyncio.sleep(waits[position] if position < len(waits) else 0.0)


def latencies_for_run(latencies: Sequence[Sequence[float]], run: int) -> Sequence[float]:
    """The simulated network's waits for run ``run`` (the last row repeats)."""
    return latencies[min(run, len(latencies) - 1)]


def _check(ns: Sequence[int], latencies: Sequence[Sequence[float]]) -> None:
    for n in ns:
        validate_n(n, MAX_ITERATIVE_N)
    if not latencies or any(len(row) != len(ns) for row in latencies):
        raise ValueError("latencies needs at least one row, each with one wait per n")


# --- the design to avoid -----------------------------------------------------------------


@DBOS.step()
async def fetch_fib_step(n: int, crash_at: int | None = None) -> tuple[int, int]:
    note_step(n, crash_at)  # counts real executions; crashes the process at n == crash_at
    return n, fib_iterative(n)


async def fetch_after_wait(n: int, seconds: float, crash_at: int | None) -> tuple[int, int]:
    await asyncio.sleep(seconds)  # the network: how long this takes differs run to run
    return await fetch_fib_step(n, crash_at)  # the step starts, and gets its number, only now


@DBOS.workflow()
async def completion_order_workflow(
    ns: list[int], latencies: list[list[float]], crash_at: int | None = None
) -> list[tuple[int, int]]:
    _check(ns, latencies)
    waits = latencies_for_run(latencies, note_run(DBOS.workflow_id))
    results = []
    calls = [fetch_after_wait(n, seconds, crash_at) for n, seconds in zip(ns, waits, strict=True)]
    for next_done in asyncio.as_completed(calls):
        results.append(await next_done)
    return results


# --- the fix ---------------------------------------------------------------------------------


@DBOS.step()
async def wait_and_fetch_step(
    n: int, position: int, latencies: list[list[float]], crash_at: int | None = None
) -> tuple[int, int]:
    run = runs_started(DBOS.workflow_id) - 1  # this run of the workflow body
    await asyncio.sleep(latencies_for_run(latencies, run)[position])  # waiting inside
    note_step(n, crash_at)
    return n, fib_iterative(n)


@DBOS.workflow()
async def fixed_order_workflow(
    ns: list[int], latencies: list[list[float]], crash_at: int | None = None
) -> list[tuple[int, int]]:
    _check(ns, latencies)
    note_run(DBOS.workflow_id)
    # gather starts the steps in argument order, before any of them waits: step number k
    # is always the call for ns[k], however long each wait turns out to be.
    calls = [wait_and_fetch_step(n, j, latencies, crash_at) for j, n in enumerate(ns)]
    return list(await asyncio.gather(*calls))


# --- a step changed between a crash and its recovery ---------------------------------------

#: Set (non-empty) in a server's environment: that server's code has the first step renamed.
RENAMED_STEP_ENV = "FIBLAB_RENAMED_STEP"


@DBOS.step()
async def fetch_fib_renamed_step(n: int, crash_at: int | None = None) -> tuple[int, int]:
    note_step(n, crash_at)
    return n, fib_iterative(n)


@DBOS.workflow()
async def renamed_step_workflow(
    ns: list[int], crash_at: int | None = None
) -> list[tuple[int, int]]:
    _check(ns, [[0.0] * len(ns)])
    first_step = fetch_fib_renamed_step if os.environ.get(RENAMED_STEP_ENV) else fetch_fib_step
    results = [await first_step(ns[0], crash_at)]
    for n in ns[1:]:  # one after another: step k is always the fetch of ns[k - 1]
        results.append(await fetch_fib_step(n, crash_at))
    return results
