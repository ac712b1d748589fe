"""Timelines from step rows: one span per workflow, and how many ran at once.

The rows are :func:`fiblab.client.step_rows`' dicts (``workflow_id``, ``executor_id``,
``start``, ``end`` in epoch seconds); :mod:`fiblab.plots` draws the spans.
"""

from __future__ import annotations

from collections.abc import Sequence


def workflow_spans(rows: Sequence[dict]) -> list[dict]:
    """Collapse step rows into one row per workflow: first step start to last step end."""
    spans: dict[str, dict] = {}
    for row in rows:
        if row["start"] is None or row["end"] is None:
            continue
        span = spans.setdefault(
            row["workflow_id"],
            {
                "workflow_id": row["workflow_id"],
                "executor_id": row["executor_id"],
                "start": row["start"],
                "end": row["end"],
                "steps": 0,
            },
        )
        span["start"] = min(span["start"], row["start"])
        span["end"] = max(span["end"], row["end"])
        span["steps"] += 1
    return sorted(spans.values(), key=lambda s: s["start"])


def max_concurrency(spans: Sequence[dict]) -> int:
    """The largest number of spans running at the same instant."""
    events = sorted([(s["start"], 1) for s in spans] + [(s["end"], -1) for s in spans])
    running = peak = 0
    for _at, change in events:
        running += change
        peak = max(peak, running)
    return peak
