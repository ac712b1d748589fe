"""Which positions a progress workflow writes (``fiblab.app.progress_positions``): few,
evenly spaced, the last index always, and the same operations in a replay.

The replay tests run the workflow's body itself (``__wrapped__``, without DBOS) with its
step and DBOS's stream calls replaced by recorders, under a fake clock: the first run's
steps take time, the replay's return at once (as checkpointed steps do). DBOS matches a
replayed operation with the one recorded at its step id, so the two lists must be equal.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import pytest
from dbos import DBOS
from hypothesis import given
from hypothesis import strategies as st
from tqdm import tqdm

from fiblab import app, config, progress
from fiblab.app import (
    PROGRESS_MAX_POSITIONS,
    PROGRESS_MIN_STRIDE,
    fibonacci_steps_workflow,
    progress_positions,
    progress_stride,
)
from fiblab.fib import MAX_ITERATIVE_N, fib_iterative

pytestmark = pytest.mark.unit

KNOWN = {
    0: [],
    1: [],
    2: [2],
    6: [6],  # fewer steps than a stride: the last index only
    9: [9],
    10: [9, 10],
    20: [9, 17, 20],
    25: [9, 17, 25],  # the crash lessons' workflow: 24 steps, 3 positions
    97: [9, 17, 25, 33, 41, 49, 57, 65, 73, 81, 89, 97],  # 12 at the minimum stride
    98: [10, 19, 28, 37, 46, 55, 64, 73, 82, 91, 98],  # past it, the stride grows
    1000: [85, 169, 253, 337, 421, 505, 589, 673, 757, 841, 925, 1000],
}


@pytest.mark.parametrize(("n", "positions"), KNOWN.items())
def test_known_positions(n: int, positions: list[int]) -> None:
    assert progress_positions(n) == positions


@given(st.integers(2, MAX_ITERATIVE_N))
def test_positions_are_few_evenly_spaced_and_end_with_the_last_index(n: int) -> None:
    positions = progress_positions(n)
    stride = progress_stride(n)
    assert positions[-1] == n  # the bar always reaches its end
    assert len(positions) <= PROGRESS_MAX_POSITIONS
    assert stride >= PROGRESS_MIN_STRIDE
    # steps between two moves of the bar (from index 1, before the first step)
    gaps = [b - a for a, b in zip([1, *positions], positions, strict=False)]
    assert gaps[:-1] == [stride] * (len(gaps) - 1)
    assert 0 < gaps[-1] <= stride


def test_the_check_uses_the_workflows_own_list() -> None:
    assert progress.expected_positions is progress_positions


class FakeClock:
    """time.time/monotonic/perf_counter for the length of a run: only steps move it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def operations(
    monkeypatch: pytest.MonkeyPatch, n: int, progress: bool, step_seconds: float
) -> list[tuple[str, object]]:
    """The operations the workflow body makes, in order, as DBOS would record them."""
    recorded: list[tuple[str, object]] = []
    clock = FakeClock()

    def step(i: int, previous: int, current: int, *_args: object) -> int:
        clock.now += step_seconds
        recorded.append(("fibonacci_index_step", i))
        return previous + current

    def write_stream(key: str, value: object) -> None:
        recorded.append(("DBOS.writeStream", (key, value)))

    def close_stream(key: str) -> None:
        recorded.append(("DBOS.closeStream", key))

    fakes: dict[str, Callable[..., object]] = {
        "time": clock,
        "monotonic": clock,
        "perf_counter": clock,
    }
    with monkeypatch.context() as patch:
        patch.setattr(app, "fibonacci_index_step", step)
        patch.setattr(DBOS, "write_stream", write_stream)
        patch.setattr(DBOS, "close_stream", close_stream)
        for name, fake in fakes.items():
            patch.setattr(time, name, fake)
        result = fibonacci_steps_workflow.__wrapped__(n, progress=progress)
    assert result == (n, fib_iterative(n))
    return recorded


@pytest.mark.parametrize("n", [2, 6, 10, 25, 97, 98, 300])
def test_the_writes_are_the_listed_positions_and_the_same_in_a_replay(monkeypatch, n) -> None:
    first = operations(monkeypatch, n, progress=True, step_seconds=0.02)
    replay = operations(monkeypatch, n, progress=True, step_seconds=0.0)
    assert replay == first
    writes = [value for name, value in first if name == "DBOS.writeStream"]
    assert writes == [(config.PROGRESS_STREAM, i) for i in progress_positions(n)]
    assert first[-1] == ("DBOS.closeStream", config.PROGRESS_STREAM)
    # each position is written right after its own step
    for i in progress_positions(n):
        at = first.index(("DBOS.writeStream", (config.PROGRESS_STREAM, i)))
        assert first[at - 1] == ("fibonacci_index_step", i)


def test_without_progress_the_workflow_writes_nothing(monkeypatch) -> None:
    names = {name for name, _value in operations(monkeypatch, 25, False, 0.02)}
    assert names == {"fibonacci_index_step"}


def test_the_bar_stands_at_index_minus_one_steps_at_each_position() -> None:
    bar = tqdm(total=24, file=io.StringIO())
    watch = progress.ProgressWatch("wf", total=24)
    seen = []
    for index in progress_positions(25):
        watch.seen(index)
        progress._advance(bar, index)
        seen.append((bar.n, watch.steps_done))
    assert seen == [(8, 8), (16, 16), (24, 24)]
