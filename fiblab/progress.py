"""Live progress of a step workflow, read from its DBOS stream, and the check of it.

``fibonacci_steps_workflow(n, progress=True)`` (:mod:`fiblab.app`) writes the index
reached after every 8 steps (more for a long workflow: at most 12 positions,
``fiblab.app.progress_stride``), and always the last, to the stream
:data:`fiblab.config.PROGRESS_STREAM`, from the workflow body, and closes it at the end:
:func:`expected_positions` says which (``[9, 17, 25]`` for n = 25). Few writes, because
each costs the server about what a step's own bookkeeping costs (benchmarks/README.md,
section 15); always the same ones for the same ``n``, because a recovered workflow must
make the same operations in the same order (``fiblab.app.fibonacci_steps_workflow``'s
docstring says why a clock-based throttle would break that). What DBOS 3.4 guarantees
for such a write, as read in its source:

* **From a workflow** (``dbos/_sys_db.py``, ``SystemDatabase.write_stream_from_workflow``):
  the stream row and an operation row named ``DBOS.writeStream`` (at the workflow's next
  step id) are written in ONE transaction, after checking whether that step id already
  has a recorded operation; a recovered workflow that replays the write finds the row
  and writes nothing (a row of another name there raises ``DBOSUnexpectedStepError``).
  Exactly once, in the workflow's order: the guarantee the check here
  (:func:`stream_positions`) relies on. ``close_stream`` is the same write of a closing
  sentinel, recorded as ``DBOS.closeStream``.
* **From inside a step** (``SystemDatabase.write_stream_from_step``): the stream row
  only, at the first unused offset, with no record of its own (refused only when another
  execution has taken the workflow over: ``_check_owner_txn``). A step that wrote and
  then crashed before its checkpoint runs again and writes again: at least once, like
  the step.

Because a write from the workflow is recorded like a step, ``list_workflow_steps`` lists
it, at the step id after the step it follows: for n = 25 the steps are 1–8, the write 9,
the steps 10–17, … (:func:`fiblab.client.step_rows` leaves the writes out).

A reader (``DBOSClient.read_stream``, ``dbos/_core.py`` ``read_stream``) polls from an
offset and yields each value in order; it stops at the closing sentinel, or when the
workflow has ended and every written value is read. A reader survives a SIGKILLed
server: the workflow stays PENDING, the reader waits, the recovered workflow writes on.

* :func:`watch_progress` – a tqdm bar of steps (a widget in JupyterLab, text elsewhere),
  set to ``index - 1`` steps at each position and fed by a background thread, so a
  notebook cell can go on (SIGKILL the server, restart it) while the bar stalls and
  moves again.
* :func:`stream_positions` – every position a finished workflow wrote, for a check
  against :func:`expected_positions`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dbos import DBOSClient
from tqdm.auto import tqdm

from . import config
from .app import progress_positions
from .client import FINISHED_STATUSES
from .worker_thread import in_worker_thread

#: How often a progress reader looks for new values, seconds.
PROGRESS_POLLING_SEC = 0.05


#: What ``fibonacci_steps_workflow(n, progress=True)`` writes, in order: the very function
#: the workflow follows (``expected_positions(25) == [9, 17, 25]``).
expected_positions = progress_positions


@dataclass
class ProgressWatch:
    """What a progress reader saw: each value and when it arrived (``time.monotonic()``);
    ``total`` counts steps, and a value (a Fibonacci index) means ``value - 1`` steps done."""

    workflow_id: str
    total: int
    positions: list[Any] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    error: BaseException | None = None
    started: float = field(default_factory=time.monotonic)
    finished: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def seen(self, value: Any) -> None:
        with self._lock:  # a value and its time together, for readers on other threads
            self.positions.append(value)
            self.arrivals.append(time.monotonic())

    @property
    def steps_done(self) -> int:
        """Steps done as far as the stream says: the last index read, less one."""
        with self._lock:
            return self.positions[-1] - 1 if self.positions else 0

    def arrived_between(self, start: float, end: float) -> list[Any]:
        """The values that arrived between two ``time.monotonic()`` instants."""
        with self._lock:
            pairs = list(zip(self.positions, self.arrivals, strict=True))
        return [value for value, at in pairs if start <= at < end]

    def longest_pause(self) -> tuple[float, int]:
        """The longest wait for a value (from the start for the first), in seconds, and
        how many values had arrived before it: where the bar stood still longest."""
        with self._lock:
            times = [self.started, *self.arrivals]
        gaps = [(times[count + 1] - times[count], count) for count in range(len(times) - 1)]
        return max(gaps, default=(0.0, 0))

    def wait(self, timeout: float = 60.0) -> ProgressWatch:
        """Block until the stream is read to its end; raise what the reader raised."""
        if not self.finished.wait(timeout):
            raise TimeoutError(
                f"progress of {self.workflow_id}: {self.steps_done}/{self.total} steps "
                f"after {timeout:g} s"
            )
        if self.error is not None:
            raise self.error
        return self

    async def wait_async(self, timeout: float = 60.0) -> ProgressWatch:
        """:meth:`wait` for a cell with a running event loop (the loop is not blocked)."""
        return await asyncio.to_thread(self.wait, timeout)


def watch_progress(
    client: DBOSClient,
    workflow_id: str,
    total: int,
    *,
    description: str = "steps",
    show: bool = True,
    polling_interval_sec: float = PROGRESS_POLLING_SEC,
) -> ProgressWatch:
    """Start a bar of ``total`` steps fed by the workflow's progress stream; return at once.

    The stream is read on a background thread (DBOS's synchronous ``read_stream``), so
    the bar moves whatever the cell does next, blocking calls included (a server's
    ``kill()`` or ``restart()``). ``watch.wait()`` waits for the end of the stream.
    """
    watch = ProgressWatch(workflow_id, total)
    bar = _bar(total, description, show)  # shown here, in the cell that asked for it

    def read() -> None:
        values = client.read_stream(
            workflow_id, config.PROGRESS_STREAM, polling_interval_sec=polling_interval_sec
        )
        _follow(watch, values, bar)

    watch.thread = threading.Thread(target=read, name=f"progress-{workflow_id}", daemon=True)
    watch.thread.start()
    return watch


def stream_positions(client: DBOSClient, workflow_id: str) -> list[Any]:
    """Every value a finished workflow wrote to its progress stream, in stream order.

    Refuses a workflow still running (the read would wait for its next value).
    """

    def read() -> list[Any]:
        status = client.retrieve_workflow(workflow_id).get_status().status
        if status not in FINISHED_STATUSES:
            raise ValueError(f"workflow {workflow_id} is {status}: read its stream once it ends")
        return list(client.read_stream(workflow_id, config.PROGRESS_STREAM))

    return in_worker_thread(read)


def _follow(watch: ProgressWatch, values: Iterable[Any], bar: tqdm) -> None:
    try:
        for value in values:
            watch.seen(value)
            _advance(bar, value)
    except BaseException as error:  # kept for wait() to raise in the caller's thread
        watch.error = error
    finally:
        bar.close()
        watch.finished.set()


def _bar(total: int, description: str, show: bool) -> tqdm:
    return tqdm(total=total, desc=description, unit="step", disable=not show, leave=True)


def _advance(bar: tqdm, index: int) -> None:
    """Move the bar to ``index - 1`` steps: a position stands for every step up to it."""
    bar.set_postfix_str(f"index {index}", refresh=False)
    bar.update(index - 1 - bar.n)
