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


def test_marker_labels_close_together_go_on_separate_rows() -> None:
    # a kill and a restart 10 ms apart, a ready line 0.6 s later, on a 2 s wide axis
    markers = [(100.0, "SIGKILL"), (100.01, "restart"), (100.6, "ready")]
    assert plots.marker_rows(markers, x_range=2.0, axes_width_inches=7.0) == [0, 1, 0]
    # far apart: all on one row
    assert plots.marker_rows(markers[::2], x_range=2.0, axes_width_inches=7.0) == [0, 0]


def test_timeline_labels_never_overprint_and_every_axis_is_named() -> None:
    rows = [
        {"executor_id": "a", "start": 100.0, "end": 100.9, "label": 1},
        {"executor_id": "b", "start": 101.0, "end": 102.0, "label": 2},
    ]
    markers = [(100.9, "segfault"), (100.91, "restart"), (101.5, "ready")]
    ax = plots.plot_timeline(rows, markers=markers, ylabel="process")
    figure = ax.get_figure()
    figure.canvas.draw()
    labels = [t for t in ax.texts if t.get_text().strip() in ("segfault", "restart", "ready")]
    boxes = [t.get_window_extent() for t in labels]
    assert len(boxes) == 3
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    assert ax.get_ylabel() == "process" and "(s)" in ax.get_xlabel()
    assert plots.plot_timeline(rows).get_ylabel() == "executor id"


def test_lanes_by_process_keep_one_name_across_panels() -> None:
    pids = [11, 22, 33]  # three starts of one server, in order
    first = [{"step_id": 1, "start": 1.0, "end": 1.1}, {"step_id": 2, "start": 1.2, "end": 1.3}]
    second = [{"step_id": 1, "start": 5.0, "end": 5.1}, {"step_id": 2, "start": 5.2, "end": 5.3}]
    ran_first = [{"step": 2, "pid": 11}, {"step": 3, "pid": 11}, {"step": 3, "pid": 22}]
    ran_second = [{"step": 2, "pid": 22}, {"step": 3, "pid": 33}]
    top = plots.lanes_by_process(first, ran_first, pids)
    bottom = plots.lanes_by_process(second, ran_second, pids)
    assert [r["lane"] for r in top] == ["process 1 (pid 11)", "process 2 (pid 22)"]
    assert [r["lane"] for r in bottom] == ["process 2 (pid 22)", "process 3 (pid 33)"]
    assert [r["label"] for r in top] == [2, 3]  # first and last of each process
    many = [{"step_id": k, "start": k, "end": k + 0.5} for k in range(1, 6)]
    ran = [{"step": k + 1, "pid": 11} for k in range(1, 6)]
    assert [r["label"] for r in plots.lanes_by_process(many, ran, pids)] == [2, None, None, None, 6]
    assert [r["colour"] for r in top] == ["C0", "C1"] and bottom[0]["colour"] == "C1"


def test_lanes_by_process_count_indices_past_progress_writes() -> None:
    # with progress=True the stream writes take the even step ids: steps are 1, 3, 5
    rows = [{"step_id": k, "start": k, "end": k + 0.5} for k in (5, 1, 3)]
    ran = [{"step": 2, "pid": 11}, {"step": 3, "pid": 11}, {"step": 4, "pid": 22}]
    lanes = plots.lanes_by_process(rows, ran, [11, 22])
    assert [r["step_id"] for r in lanes] == [1, 3, 5]
    assert [r["label"] for r in lanes] == [2, 3, 4]
    assert [r["lane"] for r in lanes] == ["process 1 (pid 11)"] * 2 + ["process 2 (pid 22)"]


def test_a_bar_label_too_wide_for_its_bar_goes_below_it() -> None:
    rows = [
        {"executor_id": "a", "start": 0.0, "end": 5.0, "label": "wide"},
        {"executor_id": "a", "start": 5.0, "end": 5.01, "label": "narrow"},
    ]
    ax = plots.plot_timeline(rows)
    colour = {t.get_text(): t.get_color() for t in ax.texts}
    assert colour == {"wide": "white", "narrow": "0.2"}


def test_timeline_with_nothing_recorded_says_so() -> None:
    ax = plots.plot_timeline([])
    assert "nothing recorded" in ax.get_title()


def test_durations_on_a_log_axis() -> None:
    ax = plots.plot_durations([10, 20], [0.001, 0.1])
    assert ax.get_yscale() == "log"
    assert len(ax.lines) == 1


def test_lanes_by_workflow_name_workflows_by_their_first_start() -> None:
    rows = [
        {"workflow_id": "b", "start": 2.0, "end": 3.0},
        {"workflow_id": "a", "start": 1.5, "end": 2.0},
        {"workflow_id": "b", "start": 1.0, "end": 2.0},
    ]
    assert [r["lane"] for r in plots.lanes_by_workflow(rows)] == ["job 1", "job 2", "job 1"]
    assert plots.lanes_by_workflow(rows, "run")[1]["lane"] == "run 2"
