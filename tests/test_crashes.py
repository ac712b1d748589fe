"""The deterministic crash trigger of fiblab.crashes (no process, no database)."""

from __future__ import annotations

import pytest

from fiblab import config, crashes

pytestmark = pytest.mark.unit


def test_a_crash_every_time_stops_once_the_bug_is_fixed(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(config.SCRATCH_ENV, str(tmp_path))
    assert [crashes.should_crash("wf", 5, every_time=True) for _ in range(3)] == [True] * 3
    (tmp_path / crashes.BUG_FIXED_FILE).touch()  # the fix is deployed
    assert crashes.should_crash("wf", 5, every_time=True) is False


def test_a_crash_once_happens_once_per_workflow_and_step(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(config.SCRATCH_ENV, str(tmp_path))
    assert crashes.should_crash("wf", 5, every_time=False) is True
    assert crashes.should_crash("wf", 5, every_time=False) is False  # the marker survived
    assert crashes.should_crash("other", 5, every_time=False) is True
    (tmp_path / crashes.BUG_FIXED_FILE).touch()  # only the every-time crash reads it
    assert crashes.should_crash("wf", 6, every_time=False) is True
