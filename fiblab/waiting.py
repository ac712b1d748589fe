"""Wait on a condition with a timeout, instead of sleeping and hoping."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


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
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
