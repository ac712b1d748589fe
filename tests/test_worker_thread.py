"""in_worker_thread: a sync call from a cell with a running loop runs on a shared worker thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

from fiblab import worker_thread
from fiblab.worker_thread import in_worker_thread

pytestmark = pytest.mark.unit  # threads only: no process, no database


def has_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


def test_a_call_from_a_running_loop_runs_where_no_loop_runs() -> None:
    async def inside() -> bool:
        return in_worker_thread(has_running_loop)

    assert asyncio.run(inside()) is False


def test_without_a_running_loop_the_call_runs_right_here() -> None:
    assert in_worker_thread(threading.current_thread) is threading.current_thread()


def test_every_call_shares_one_pool_instead_of_a_thread_per_call() -> None:
    async def inside() -> set[str]:
        return {in_worker_thread(lambda: threading.current_thread().name) for _ in range(20)}

    names = asyncio.run(inside())
    assert len(names) <= worker_thread.MAX_WORKERS, names  # a pool per call: 20 names
    assert all(name.startswith("fiblab-sync") for name in names), names


def test_arguments_results_and_errors_pass_through() -> None:
    async def inside() -> int:
        return in_worker_thread(lambda a, b=0: a + b, 2, b=3)

    assert asyncio.run(inside()) == 5

    async def failing() -> None:
        in_worker_thread(int, "not a number")

    with pytest.raises(ValueError):
        asyncio.run(failing())
