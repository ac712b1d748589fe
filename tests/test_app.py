"""The deterministic crash trigger of fiblab.app (no process, no database)."""

from __future__ import annotations

import pytest

from fiblab import app, config

pytestmark = pytest.mark.unit


def test_a_crash_every_time_stops_once_the_bug_is_fixed(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(config.SCRATCH_ENV, str(tmp_path))
    assert [app.should_crash("wf", 5, every_time=True) for _ in range(3)] == [True] * 3
    (tmp_path / app.BUG_FIXED_FILE).touch()  # the fix is deployed
    assert app.should_crash("wf", 5, every_time=True) is False


def test_a_crash_once_happens_once_per_workflow_and_step(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(config.SCRATCH_ENV, str(tmp_path))
    assert app.should_crash("wf", 5, every_time=False) is True
    assert app.should_crash("wf", 5, every_time=False) is False  # the marker survived
    assert app.should_crash("other", 5, every_time=False) is True
    (tmp_path / app.BUG_FIXED_FILE).touch()  # only the every-time crash reads it
    assert app.should_crash("wf", 6, every_time=False) is True
