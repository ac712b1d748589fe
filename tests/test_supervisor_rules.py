"""The supervisor's rule for what counts as a crash (no process, no database)."""

from __future__ import annotations

import signal

import pytest

from fiblab.supervisor import is_crash

pytestmark = pytest.mark.unit


def test_what_counts_as_a_crash() -> None:
    assert is_crash(-signal.SIGKILL) and is_crash(-signal.SIGSEGV) and is_crash(1)
    assert is_crash(2)  # e.g. bad arguments
    assert not is_crash(0)
    assert not any(is_crash(-s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP))
