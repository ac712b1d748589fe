"""cpu_seconds: a process's CPU time, fine enough to see an idle server's few polls."""

from __future__ import annotations

import os
import sys
import time

import psutil
import pytest

from fiblab.spawn import cpu_seconds

pytestmark = pytest.mark.unit


def spin(seconds: float) -> None:
    """Use about ``seconds`` of CPU in this process."""
    until = time.process_time() + seconds
    while time.process_time() < until:
        pass


def test_agrees_with_psutil_for_this_process() -> None:
    spin(0.05)
    ours, theirs = cpu_seconds(os.getpid()), sum(psutil.Process().cpu_times()[:2])
    assert abs(ours - theirs) < 0.05  # psutil's ticks and a moment between the two reads


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fine clock is Linux's")
def test_sees_less_than_a_clock_tick_on_linux() -> None:
    before = cpu_seconds(os.getpid())
    spin(0.002)  # a fifth of a 10 ms tick
    used = cpu_seconds(os.getpid()) - before
    assert 0.002 <= used < 0.010
