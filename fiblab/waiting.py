"""Wait on a condition with a timeout, instead of sleeping and hoping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import TypeVar

T = TypeVar("T")
H = TypeVar("H", bound=Hashable)


class WaitTimeout(TimeoutError):
    """A condition did not come true in time."""


def wait_for(
    condition: Callable[[], T],
    timeout: float,
    what: str,
    interval: float = 0.02,
) -> T:
    """Call ``condition`` until it returns something truthy; return that value.

    Raises :class:`WaitTimeout` naming ``what`` after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while not (value := _check(condition, deadline, timeout, what)):
        time.sleep(interval)
    return value


async def wait_for_async(
    condition: Callable[[], T],
    timeout: float,
    what: str,
    interval: float = 0.02,
) -> T:
    """:func:`wait_for` for a running event loop: it awaits between checks, so the loop
    runs other tasks meanwhile (``condition`` itself must be quick)."""
    deadline = time.monotonic() + timeout
    while not (value := _check(condition, deadline, timeout, what)):
        await asyncio.sleep(interval)
    return value


async def watch_async(
    observe: Callable[[], Awaitable[set[H]]],
    since: float,
    seconds: float,
    interval: float = 0.05,
) -> tuple[set[H], float]:
    """Look at ``await observe()`` (a set) at once and every ``interval`` until
    ``since + seconds`` (``time.monotonic()``) has passed; return everything seen and the
    seconds from ``since`` to the last look (at least ``seconds``).

    For a claim that something does NOT happen: the watch has no condition to end on,
    so it says how long it watched, for the words about it to be computed from.
    """
    seen: set[H] = set()
    while True:
        seen |= await observe()
        now = time.monotonic()
        if now >= since + seconds:
            return seen, now - since
        await asyncio.sleep(interval)


def _check(condition: Callable[[], T], deadline: float, timeout: float, what: str) -> T:
    """``condition()``; raises :class:`WaitTimeout` if it is falsy past ``deadline``."""
    value = condition()
    if not value and time.monotonic() >= deadline:
        raise WaitTimeout(f"timed out after {timeout:g} s waiting for {what}")
    return value
