"""Matplotlib figures drawn from what the client helpers read back from DBOS.

Every function takes plain rows (dicts from :mod:`fiblab.client`) and returns the
``Axes`` it drew on, so a notebook can add to it or check what was drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

LANE_HEIGHT = 0.8


def _axes(ax: Axes | None, size: tuple[float, float] = (8, 3.5)) -> Axes:
    if ax is not None:
        return ax
    _fig, new_ax = plt.subplots(figsize=size, layout="constrained")
    return new_ax


def plot_durations(
    ns: Sequence[int],
    seconds: Sequence[float],
    ax: Axes | None = None,
    log_scale: bool = True,
    label: str = "measured",
) -> Axes:
    """Duration against n (log scale shows exponential growth as a straight line)."""
    ax = _axes(ax)
    ax.plot(ns, seconds, "o-", label=label)
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("n")
    ax.set_ylabel("seconds")
    ax.set_title("Duration of fib(n)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return ax


def plot_timeline(
    rows: Sequence[dict],
    lane_key: str = "executor_id",
    label_key: str | None = "label",
    ax: Axes | None = None,
    markers: Sequence[tuple[float, str]] = (),
    title: str = "Who ran what, when",
) -> Axes:
    """A Gantt chart: one lane per ``lane_key`` value, one bar per row's start..end.

    ``rows`` need ``start`` and ``end`` (epoch seconds); time is drawn relative to
    the earliest start. ``markers`` are ``(epoch_seconds, text)`` vertical lines,
    e.g. a crash and a restart.
    """
    timed = [r for r in rows if r.get("start") is not None and r.get("end") is not None]
    ax = _axes(ax, (9, 1.2 + 0.6 * max(1, len({str(r.get(lane_key)) for r in timed}))))
    if not timed:
        ax.set_title(f"{title} (nothing recorded)")
        return ax
    origin = min(r["start"] for r in timed)
    lanes = sorted({str(r.get(lane_key)) for r in timed})
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for row in timed:
        lane = lanes.index(str(row.get(lane_key)))
        start, width = row["start"] - origin, max(row["end"] - row["start"], 0.002)
        ax.broken_barh(
            [(start, width)],
            (lane - LANE_HEIGHT / 2, LANE_HEIGHT),
            facecolors=colours[lane % len(colours)],
            edgecolor="white",
            linewidth=0.5,
        )
        if label_key and row.get(label_key) is not None:
            ax.text(
                start + width / 2,
                lane,
                str(row[label_key]),
                ha="center",
                va="center",
                fontsize=7,
                color="white",
                clip_on=True,
            )
    top = -0.6 - (0.4 if markers else 0)
    for at, text in markers:
        ax.axvline(at - origin, color="crimson", linestyle="--", linewidth=1)
        ax.text(at - origin, top, f" {text}", color="crimson", fontsize=8, va="top")
    ax.set_yticks(range(len(lanes)), lanes)
    ax.set_ylim(len(lanes) - 0.4, top)  # first lane at the top, like a schedule
    ax.set_xlabel("seconds since the first step started")
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    return ax


def plot_bars(
    labels: Sequence[str],
    values: Sequence[float],
    ylabel: str,
    title: str,
    ax: Axes | None = None,
) -> Axes:
    """A labelled bar chart, each bar annotated with its value."""
    ax = _axes(ax, (6, 3.2))
    bars = ax.bar(labels, values, color=plt.rcParams["axes.prop_cycle"].by_key()["color"])
    ax.bar_label(bars, fmt="%.2f")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, axis="y", alpha=0.3)
    return ax
