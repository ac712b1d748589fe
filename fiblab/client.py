"""Client helpers over ``DBOSClient``: enqueue many, results as they complete, timings.

Every helper works both from plain Python and from a notebook cell. DBOS warns when
a synchronous database call runs on a thread with a running event loop (a Jupyter
cell has one), so the synchronous helpers do their database work through
:func:`fiblab.worker_thread.in_worker_thread`; the ``*_async`` helpers use DBOS's async
API. Turning step rows into a timeline is :mod:`fiblab.timeline`'s job.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from dbos import (
    DBOSClient,
    EnqueueOptions,
    WorkflowHandle,
    WorkflowHandleAsync,
    WorkflowStatusString,
)

from . import config
from .fib import MAX_ITERATIVE_N, MAX_RECURSIVE_N, validate_n
from .waiting import WaitTimeout, wait_for
from .worker_thread import in_worker_thread

#: fiblab's workflows that take a Fibonacci ``n``, with the largest n each accepts.
FIBONACCI_WORKFLOWS = {
    "fibonacci_workflow": MAX_RECURSIVE_N,
    "fibonacci_steps_workflow": MAX_ITERATIVE_N,
}


def enqueue_options(
    workflow_name: str = config.WORKFLOW_NAME, queue: str = config.QUEUE_NAME, **extra: Any
) -> EnqueueOptions:
    """Options for one enqueue, with fiblab's pinned application version."""
    return {
        "queue_name": queue,
        "workflow_name": workflow_name,
        "app_version": config.APP_VERSION,
        **extra,
    }  # type: ignore[return-value]


def check_inputs(ns: Sequence[object], maximum: int = MAX_RECURSIVE_N) -> list[int]:
    """Validate every n before anything is enqueued (all or nothing)."""
    if isinstance(ns, (str, bytes)) or not isinstance(ns, Sequence):
        raise TypeError(f"ns must be a list of ints, got {ns!r}")
    return [validate_n(n, maximum) for n in ns]


def check_target(client: DBOSClient, workflow_name: str, queue: str) -> int:
    """Refuse an unknown workflow or queue before enqueueing; returns the largest n allowed.

    A plain ``DBOSClient.enqueue`` accepts any names: a misspelt queue leaves the workflow
    ENQUEUED forever, a misspelt workflow stays PENDING on whichever server takes it (the
    reason is only in that server's log).
    """
    if workflow_name not in FIBONACCI_WORKFLOWS:
        raise ValueError(
            f"workflow_name must be one of {sorted(FIBONACCI_WORKFLOWS)}, got {workflow_name!r}"
        )
    if not isinstance(queue, str) or in_worker_thread(client.retrieve_queue, queue) is None:
        known = sorted(
            q.name for q in in_worker_thread(client.list_queues) if not q.name.startswith("_")
        )
        raise ValueError(
            f"queue {queue!r} is not registered in this database (registered: {known}); "
            "start a server for it first"
        )
    return FIBONACCI_WORKFLOWS[workflow_name]


def enqueue_many(
    client: DBOSClient,
    ns: Sequence[int],
    *,
    workflow_name: str = config.WORKFLOW_NAME,
    queue: str = config.QUEUE_NAME,
    maximum: int | None = None,
) -> list[WorkflowHandle[Any]]:
    """Validate the names and every n, then enqueue one workflow per n (handles in order)."""
    allowed = check_target(client, workflow_name, queue)
    checked = check_inputs(ns, allowed if maximum is None else min(maximum, allowed))
    options = enqueue_options(workflow_name, queue)
    return in_worker_thread(lambda: [client.enqueue(options, n) for n in checked])


async def enqueue_many_async(
    client: DBOSClient,
    ns: Sequence[int],
    *,
    workflow_name: str = config.WORKFLOW_NAME,
    queue: str = config.QUEUE_NAME,
    maximum: int | None = None,
) -> list[WorkflowHandleAsync[Any]]:
    """:func:`enqueue_many` with ``await client.enqueue_async``."""
    allowed = check_target(client, workflow_name, queue)
    checked = check_inputs(ns, allowed if maximum is None else min(maximum, allowed))
    options = enqueue_options(workflow_name, queue)
    return [await client.enqueue_async(options, n) for n in checked]


def enqueue_together(
    client: DBOSClient,
    requests: Sequence[tuple[EnqueueOptions, Sequence[Any], dict[str, Any]]],
) -> list[WorkflowHandle[Any]]:
    """Enqueue one workflow per ``(options, args, kwargs)`` in ONE database transaction
    (``DBOSClient.enqueue_in_transaction``): a queue's poll sees all of them or none, so
    it picks among all of them (enqueued one by one, the first could be taken before
    the last arrives). The transaction is on the client's own connection pool (its system
    database's engine, ``_sys_db.engine`` in ``dbos/_client.py``)."""

    def enqueue() -> list[WorkflowHandle[Any]]:
        with client._sys_db.engine.begin() as connection:
            return [
                client.enqueue_in_transaction(connection, options, *args, **kwargs)
                for options, args, kwargs in requests
            ]

    return in_worker_thread(enqueue)


#: Every status but the three of a workflow still waiting or running: DBOS's own rule
#: for ``wait_first``, so a status added by a later DBOS counts the same way there and here.
FINISHED_STATUSES = [
    status.value
    for status in WorkflowStatusString
    if status.value not in ("PENDING", "ENQUEUED", "DELAYED")
]


#: While nothing finishes, the pause between polls grows by this factor after every
#: :data:`POLLS_PER_PAUSE` polls, up to :data:`MAX_PAUSE_FACTOR` times the polling interval.
PAUSE_GROWTH = 1.5
POLLS_PER_PAUSE = 3
MAX_PAUSE_FACTOR = 5


def results_as_completed(
    client: DBOSClient,
    handles: Sequence[WorkflowHandle[Any]],
    timeout: float = 120.0,
    polling_interval_sec: float = config.RESULT_POLLING_INTERVAL_SEC,
) -> Iterator[tuple[str, Any]]:
    """Yield ``(workflow_id, result)`` as each workflow finishes, first finished first
    (to within one poll: of several found finished, ``wait_first`` returns one).

    A workflow that ended in error yields its exception object instead of a result.
    The waiting is DBOS's ``wait_first``: one query per poll for all waiting workflows
    (see :func:`first_finished`, which adds the timeout and the growing pause DBOS lacks).
    DBOS's synchronous ``wait_first`` cannot be given up on, so this runs its async twin
    on a private event loop (on a worker thread inside a notebook cell).
    Raises ``TimeoutError`` when some are still unfinished after ``timeout`` seconds.
    """
    pending = list(handles)
    deadline = time.monotonic() + timeout
    while pending:
        waiting = first_finished(client, pending, deadline, timeout, polling_interval_sec)
        handle = in_worker_thread(asyncio.run, waiting)
        pending.remove(handle)
        yield handle.workflow_id, in_worker_thread(_result_or_error, handle, polling_interval_sec)


async def results_as_completed_async(
    client: DBOSClient,
    handles: Sequence[WorkflowHandleAsync[Any]],
    timeout: float = 120.0,
    polling_interval_sec: float = config.RESULT_POLLING_INTERVAL_SEC,
) -> AsyncIterator[tuple[str, Any]]:
    """Async :func:`results_as_completed`: ``async for wid, result in …(client, handles)``."""
    pending = list(handles)
    deadline = time.monotonic() + timeout
    while pending:
        handle = await first_finished(client, pending, deadline, timeout, polling_interval_sec)
        pending.remove(handle)
        try:
            yield (
                handle.workflow_id,
                await handle.get_result(polling_interval_sec=polling_interval_sec),
            )
        except Exception as error:  # a failed workflow is a result to report
            yield handle.workflow_id, error


async def first_finished(
    client: DBOSClient,
    handles: Sequence[Any],
    deadline: float,
    timeout: float,
    polling_interval_sec: float = config.RESULT_POLLING_INTERVAL_SEC,
) -> Any:
    """The first of ``handles`` to finish, by ``client.wait_first_async``.

    DBOS 3.4's ``wait_first`` (``dbos/_client.py``, ``DBOSClient.wait_first``; the poll is
    ``SystemDatabase.check_first_workflow_id`` in ``dbos/_sys_db.py``) asks with one query
    which of the workflows has a status other than PENDING, ENQUEUED or DELAYED, and
    repeats it every ``polling_interval_sec``, for ever. fiblab adds what it lacks: the
    ``deadline`` (``time.monotonic()``; ``TimeoutError`` naming ``timeout`` after it) and
    a pause that grows while nothing finishes, so a client waiting on long jobs leaves the
    CPUs to the servers. Works for sync and async handles alike (only their ids are read).
    """
    pause = polling_interval_sec
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"{len(handles)} workflows unfinished after {timeout:g} s")
        waiting = client.wait_first_async(list(handles), polling_interval_sec=pause)
        try:
            return await asyncio.wait_for(waiting, min(left, pause * POLLS_PER_PAUSE))
        except TimeoutError:  # nothing finished in this window: poll less often
            pause = min(pause * PAUSE_GROWTH, polling_interval_sec * MAX_PAUSE_FACTOR)


def _result_or_error(handle: WorkflowHandle[Any], polling_interval_sec: float) -> Any:
    try:
        return handle.get_result(polling_interval_sec=polling_interval_sec)
    except Exception as error:
        return error


def is_finished(handle: WorkflowHandle[Any]) -> bool:
    """Whether DBOS has given the workflow one of the :data:`FINISHED_STATUSES`."""
    return in_worker_thread(handle.get_status).status in FINISHED_STATUSES


def wait_result(
    handle: WorkflowHandle[Any],
    polling_interval_sec: float = config.RESULT_POLLING_INTERVAL_SEC,
    timeout: float = 120.0,
) -> Any:
    """The workflow's result (or its exception, raised), waiting at most ``timeout`` s.

    Safe in a notebook cell. Unlike a bare ``get_result``, it never waits forever: a
    workflow that cannot finish (no server, a lost database) ends in ``TimeoutError``.
    """

    def finished() -> bool:
        return handle.get_status().status in FINISHED_STATUSES

    def wait() -> Any:
        try:
            wait_for(finished, timeout, f"workflow {handle.workflow_id}", polling_interval_sec)
        except WaitTimeout:
            status = handle.get_status()
            raise TimeoutError(
                f"workflow {handle.workflow_id} still {status.status} after {timeout:g} s "
                f"(executor {status.executor_id!r}): is a server running for it?"
            ) from None
        return handle.get_result(polling_interval_sec=polling_interval_sec)

    return in_worker_thread(wait)


def workflow_rows(
    client: DBOSClient, workflow_ids: Sequence[str] | None = None, **filters: Any
) -> list[dict]:
    """One dict per workflow: id, name, status, executor, queue, inputs and output."""

    def read() -> list[dict]:
        statuses = client.list_workflows(
            workflow_ids=list(workflow_ids) if workflow_ids else None, **filters
        )
        return [
            {
                "workflow_id": s.workflow_id,
                "name": s.name,
                "status": s.status,
                "executor_id": s.executor_id,
                "queue": s.queue_name,
                "input": s.input,
                "output": s.output,
                "error": s.error,
                "recovery_attempts": s.recovery_attempts,
                "created_at_ms": s.created_at,
                "updated_at_ms": s.updated_at,
            }
            for s in statuses
        ]

    return in_worker_thread(read)


#: Operations DBOS records among a workflow's steps that are not steps: a stream write
#: or close from the workflow body (``dbos/_sys_db.py``, ``write_stream_from_workflow``).
STREAM_OPERATIONS = ("DBOS.writeStream", "DBOS.closeStream")


def step_rows(client: DBOSClient, workflow_ids: Sequence[str]) -> list[dict]:
    """One dict per recorded step, with millisecond start/end times and the executor.

    Step rows carry millisecond timestamps; SQLite workflow rows only have seconds,
    so timelines are drawn from these. Stream writes (:data:`STREAM_OPERATIONS`) are
    left out; ``step_id`` stays DBOS's own id, so with progress on it counts them too.
    """

    def read() -> list[dict]:
        executors = {
            s.workflow_id: s.executor_id
            for s in client.list_workflows(workflow_ids=list(workflow_ids))
        }
        rows = []
        for workflow_id in workflow_ids:
            for step in client.list_workflow_steps(workflow_id):
                if step["function_name"] in STREAM_OPERATIONS:
                    continue
                start, end = step["started_at_epoch_ms"], step["completed_at_epoch_ms"]
                rows.append(
                    {
                        "workflow_id": workflow_id,
                        "executor_id": executors.get(workflow_id),
                        "step_id": step["function_id"],
                        "name": step["function_name"],
                        "output": step["output"],
                        "error": step["error"],
                        "start": start / 1000 if start is not None else None,
                        "end": end / 1000 if end is not None else None,
                    }
                )
        return rows

    return in_worker_thread(read)
