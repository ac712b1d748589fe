"""Chaos: 200 workflows, servers SIGKILLed at random and restarted; nothing lost or redone.

The kill schedule comes from a seeded generator (FIBLAB_CHAOS_SEED, default 2026) and is
printed, so a failing run can be replayed. The long version is
``python benchmarks/chaos.py``.
"""

from __future__ import annotations

import os

import pytest

from fiblab.chaos import run_chaos

pytestmark = pytest.mark.integration


def test_random_kills_lose_nothing_and_redo_no_completed_step(lab) -> None:
    seed = int(os.environ.get("FIBLAB_CHAOS_SEED", "2026"))
    report = run_chaos(lab, workflows=200, servers=3, kills=6, seed=seed)
    print(report.summary())
    print("kills (seconds since start, server):", report.kills)
    assert len(report.kills) == 6
    assert report.lost == []
    assert report.wrong == []
    assert report.duplicated == []
