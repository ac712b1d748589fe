from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")

from fiblab import plots  # noqa: E402

pytestmark = pytest.mark.unit


def test_timeline_draws_one_bar_per_row_in_one_lane_per_executor() -> None:
    rows = [
        {"executor_id": "a", "start": 100.0, "end": 100.5, "label": "n=1"},
        {"executor_id": "b", "start": 100.2, "end": 101.0, "label": "n=2"},
        {"executor_id": "a", "start": 100.6, "end": 101.2, "label": "n=3"},
        {"executor_id": "b", "start": None, "end": None},  # unfinished: not drawn
    ]
    ax = plots.plot_timeline(rows, markers=[(100.55, "crash")])
    assert len(ax.collections) == 3
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert any("crash" in t.get_text() for t in ax.texts)


def test_timeline_with_nothing_recorded_says_so() -> None:
    ax = plots.plot_timeline([])
    assert "nothing recorded" in ax.get_title()


def test_durations_on_a_log_axis() -> None:
    ax = plots.plot_durations([10, 20], [0.001, 0.1])
    assert ax.get_yscale() == "log"
    assert len(ax.lines) == 1
