"""Matplotlib figures drawn from what the client helpers read back from DBOS.

Every function takes plain rows (dicts from :mod:`fiblab.client`) and returns the
``Axes`` it drew on, so a notebook can add to it or check what was drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

LANE_HEIGHT = 0.8
MARKER_FONT_SIZE = 8
BAR_FONT_SIZE = 7
#: Height of one row of marker labels above the first lane, in lanes.
MARKER_ROW_HEIGHT = 0.4


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
    ylabel: str | None = None,
) -> Axes:
    """A Gantt chart: one lane per ``lane_key`` value, one bar per row's start..end.

    ``rows`` need ``start`` and ``end`` (epoch seconds); time is drawn relative to
    the earliest start. ``markers`` are ``(epoch_seconds, text)`` vertical lines,
    e.g. a crash and a restart; labels of markers close together go on separate rows
    so they never overprint. ``ylabel`` names the lanes (default: ``lane_key``). A row
    with a ``colour`` is drawn in it (else each lane has a colour of its own).
    """
    timed = [r for r in rows if r.get("start") is not None and r.get("end") is not None]
    ax = _axes(ax, (9, 1.2 + 0.6 * max(1, len({str(r.get(lane_key)) for r in timed}))))
    if not timed:
        ax.set_title(f"{title} (nothing recorded)")
        return ax
    origin = min(r["start"] for r in timed)
    lanes = sorted({str(r.get(lane_key)) for r in timed})
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    ends = [r["end"] - origin for r in timed] + [at - origin for at, _ in markers]
    x_range = 1.1 * (max(max(ends), 1e-3) - min(0.0, *ends))  # with the default margins
    per_inch = x_range / max(_axes_width_inches(ax), 0.1)  # data units per inch
    for row in timed:
        lane = lanes.index(str(row.get(lane_key)))
        start, width = row["start"] - origin, max(row["end"] - row["start"], 0.002)
        ax.broken_barh(
            [(start, width)],
            (lane - LANE_HEIGHT / 2, LANE_HEIGHT),
            facecolors=row.get("colour") or colours[lane % len(colours)],
            edgecolor="white",
            linewidth=0.5,
        )
        if label_key and row.get(label_key) is not None:
            text = str(row[label_key])
            inside = width >= _text_width(text, BAR_FONT_SIZE, per_inch)
            ax.text(  # in the bar if it fits, else just below it
                start + width / 2,
                lane if inside else lane + LANE_HEIGHT / 2 + 0.03,
                text,
                ha="center",
                va="center" if inside else "top",
                fontsize=BAR_FONT_SIZE,
                color="white" if inside else "0.2",
                clip_on=True,
            )
    levels = marker_rows(markers, x_range, _axes_width_inches(ax))
    top = -0.6 - MARKER_ROW_HEIGHT * (max(levels) + 1 if markers else 0)
    for (at, text), level in zip(markers, levels, strict=True):
        ax.axvline(at - origin, color="crimson", linestyle="--", linewidth=1)
        ax.text(
            at - origin,
            top + MARKER_ROW_HEIGHT * level,
            f" {text}",
            color="crimson",
            fontsize=MARKER_FONT_SIZE,
            va="top",
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5},  # over the lines
            zorder=3,
        )
    ax.set_yticks(range(len(lanes)), lanes)
    ax.set_ylim(len(lanes) - 0.4, top)  # first lane at the top, like a schedule
    ax.set_xlabel("time since the first step started (s)")
    ax.set_ylabel(ylabel if ylabel is not None else lane_key.replace("_", " "))
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    return ax


def marker_rows(
    markers: Sequence[tuple[float, str]], x_range: float, axes_width_inches: float
) -> list[int]:
    """The label row (0 = top) of each marker, so that no two labels overlap.

    A label starts at its marker and is about 0.6 em per character wide; markers are
    taken left to right, each on the first row where it clears the label before it.
    """
    per_inch = x_range / max(axes_width_inches, 0.1)  # data units per inch
    row_ends: list[float] = []
    rows = [0] * len(markers)
    for index in sorted(range(len(markers)), key=lambda i: markers[i][0]):
        at, text = markers[index]
        width = _text_width(f" {text} ", MARKER_FONT_SIZE, per_inch)
        row = next((r for r, end in enumerate(row_ends) if at >= end), len(row_ends))
        if row == len(row_ends):
            row_ends.append(0.0)
        row_ends[row] = at + width
        rows[index] = row
    return rows


def _text_width(text: str, font_size: float, per_inch: float) -> float:
    """About how wide ``text`` is drawn, in data units (0.6 em per character)."""
    return len(text) * 0.6 * font_size / 72 * per_inch


def _axes_width_inches(ax: Axes) -> float:
    figure = ax.get_figure()
    assert figure is not None
    return figure.get_size_inches()[0] * ax.get_position().width


def lanes_by_workflow(rows: Sequence[dict], name: str = "job") -> list[dict]:
    """Step rows, each given a ``lane`` naming its workflow by start order ("job 1", …):
    shorter than a workflow id, and the same order as the bars."""
    first_start: dict[str, float] = {}
    for row in rows:
        first_start[row["workflow_id"]] = min(
            row["start"], first_start.get(row["workflow_id"], row["start"])
        )
    order = sorted(first_start, key=first_start.__getitem__)
    return [{**row, "lane": f"{name} {order.index(row['workflow_id']) + 1}"} for row in rows]


def lanes_by_process(
    rows: Sequence[dict], executions: Sequence[dict], pids: Sequence[int]
) -> list[dict]:
    """Step rows of ``fibonacci_steps_workflow``, each given a ``lane`` naming the process
    whose checkpoint DBOS kept, a ``colour`` of that process, and as ``label`` its
    Fibonacci index if it is the first or last index that process completed (where it
    took over, where it stopped).

    ``rows`` are one workflow's step rows (stream writes left out, as
    :func:`fiblab.client.step_rows` does): in step id order, the k-th computes index
    k + 1, with or without progress writes between them. ``executions`` are the side
    file's records of the same workflow (``step``, ``pid``): the last execution of an
    index wrote its checkpoint. ``pids`` lists the processes in the order they started;
    pass the same list to every panel of a figure, so that a process keeps one lane name
    ("process 2 (pid …)") and colour across panels.
    """
    completed_by = {e["step"]: e["pid"] for e in executions}
    indices_of: dict[int, list[int]] = {}
    for index, pid in sorted(completed_by.items()):
        indices_of.setdefault(pid, []).append(index)
    labelled = []
    for index, row in enumerate(sorted(rows, key=lambda r: r["step_id"]), start=2):
        number = pids.index(completed_by[index]) + 1
        own = indices_of[completed_by[index]]
        labelled.append(
            {
                **row,
                "label": index if index in (own[0], own[-1]) else None,
                "lane": f"process {number} (pid {completed_by[index]})",
                "colour": f"C{(number - 1) % 10}",
            }
        )
    return labelled


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
