from __future__ import annotations

import asyncio
import time

import pytest

from fiblab.waiting import watch_async

pytestmark = pytest.mark.unit


def test_a_watch_keeps_everything_it_saw_and_says_how_long_it_watched() -> None:
    statuses = ["ENQUEUED", "ENQUEUED", "PENDING"]  # then PENDING for good

    async def observe() -> set[str]:
        return {statuses.pop(0) if len(statuses) > 1 else statuses[0]}

    since = time.monotonic()
    seen, watched = asyncio.run(watch_async(observe, since, 0.12, interval=0.05))
    assert seen == {"ENQUEUED", "PENDING"}  # a change in the middle is not lost
    assert watched >= 0.12
    assert watched < 5  # no waiting beyond the last look


def test_a_watch_that_started_late_still_looks_once() -> None:
    looks: list[float] = []

    async def observe() -> set[int]:
        looks.append(time.monotonic())
        return {1}

    since = time.monotonic() - 10  # the window is over already
    seen, watched = asyncio.run(watch_async(observe, since, 0.3))
    assert seen == {1} and len(looks) == 1 and watched >= 10
