"""A CPU hog: every usable core kept busy, for timing checks and benchmarks under load.

One spinning process per core this process may use, each in a session of its own: with
Linux's scheduler autogroups, spinners that share a session share one group's CPU and
weigh like a single program, which leaves the machine far less loaded than it looks
(benchmarks/README.md, "Under a CPU hog"). A spinner ends when it is stopped, after its
time limit, or as soon as the process that started it is gone.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

from .machine import usable_cores

#: The default time limit of a spinner, seconds: a stop that never comes ends it anyway.
LIMIT_SEC = 120.0

_SPINNER = """
import os, sys, time
parent, deadline = int(sys.argv[1]), time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline and os.getppid() == parent:
    for _ in range(200_000):
        pass
"""


def start_hog(seconds: float = LIMIT_SEC) -> list[subprocess.Popen[bytes]]:
    """Start one spinner per usable core; each stops by itself after ``seconds``."""
    command = [sys.executable, "-c", _SPINNER, str(os.getpid()), str(seconds)]
    return [
        subprocess.Popen(command, start_new_session=True, stdin=subprocess.DEVNULL)
        for _ in range(usable_cores())
    ]


def stop_hog(hogs: list[subprocess.Popen[bytes]]) -> None:
    """Kill the spinners and reap them."""
    for hog in hogs:
        hog.kill()
    for hog in hogs:
        hog.wait()


@contextlib.contextmanager
def cpu_hog(seconds: float = LIMIT_SEC) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Every usable core busy inside the ``with`` block (at most ``seconds``)."""
    hogs = start_hog(seconds)
    try:
        yield hogs
    finally:
        stop_hog(hogs)
