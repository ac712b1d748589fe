"""``python benchmarks/probe_server.py ARGS…``: ``python -m fiblab.server ARGS…``, made
observable from outside. Used by ``benchmarks/run.py`` only; fiblab never imports it.

Nothing in fiblab or DBOS is changed; two things are added around them:

* every Python thread gives its operating-system thread a name that says what it does
  (``qw:my_queue``, ``queue_thread``, ``watch``…), so ``/proc/PID/task/TID/comm`` and
  psutil's per-thread CPU times can be told apart. (Python 3.11 leaves every thread
  named ``python``.) Costs one ``prctl`` per thread start.
* with ``FIBLAB_PROBE_OUT=FILE``: every SQL statement and transaction end is counted per
  thread (SQLAlchemy's public ``Engine`` events, which fire for DBOS's engines as for
  any other) with the time spent in the driver, and the last few thousand are kept as a
  timeline. ``kill -USR1 PID`` writes both as JSON to FILE (replacing it). Costs some
  microseconds per statement, so idle-CPU figures are taken without it.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import re
import runpy
import signal
import sys
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from pathlib import Path

PR_SET_NAME = 15
OUT_ENV = "FIBLAB_PROBE_OUT"


def thread_label(thread: threading.Thread) -> str:
    """A short, stable name for what ``thread`` does (at most 15 bytes for the kernel)."""
    name = thread.name
    if name.startswith("queue-worker-"):
        return "qw:" + name[len("queue-worker-") :]
    target = getattr(thread, "_target", None)
    if name.startswith("Thread-") and target is not None:
        return getattr(target, "__name__", name)
    return name


def _set_os_name(label: str) -> None:
    try:
        libc = ctypes.CDLL(None)
        libc.prctl(PR_SET_NAME, label.encode()[:15], 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: no names, counts still work
        pass


def name_threads() -> None:
    """Name the OS thread of every Python thread started from now on (and this one)."""
    original = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]

    def bootstrap_inner(self: threading.Thread) -> None:
        _set_os_name(thread_label(self))
        original(self)

    threading.Thread._bootstrap_inner = bootstrap_inner  # type: ignore[attr-defined]
    _set_os_name("MainThread")


class StatementCounts:
    """Statements, commits and rollbacks per thread label, with seconds in the driver,
    and a timeline of the latest ones: ``[wall time at start, label, kind, seconds]``."""

    def __init__(self, keep: int = 20000) -> None:
        self.lock = threading.Lock()
        # label -> kind -> [count, seconds]; kind is a statement's verb and table, or "COMMIT"
        self.counts: dict[str, dict[str, list[float]]] = defaultdict(
            lambda: defaultdict(lambda: [0, 0.0])
        )
        self.labels = threading.local()
        self.timeline: deque[tuple[float, str, str, float]] = deque(maxlen=keep)

    def add(self, kind: str, began: float, seconds: float) -> None:
        label = getattr(self.labels, "label", None)
        if label is None:
            label = self.labels.label = thread_label(threading.current_thread())
        with self.lock:
            entry = self.counts[label][kind]
            entry[0] += 1
            entry[1] += seconds
            self.timeline.append((began, label, kind, seconds))

    def dump(self, path: Path) -> None:
        with self.lock:
            data = {label: dict(kinds) for label, kinds in self.counts.items()}
            timeline = list(self.timeline)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"at": time.time(), "threads": data, "timeline": timeline}))
        tmp.replace(path)


@functools.lru_cache(maxsize=4096)
def statement_kind(statement: str) -> str:
    """``SELECT … FROM dbos.workflow_status …`` → ``SELECT workflow_status``: the verb and
    the first table it names."""
    verb = (statement.split(None, 1) or ["?"])[0].upper()
    found = re.search(r"\b(?:FROM|INTO|UPDATE)\s+([\w.\"]+)", statement, re.IGNORECASE)
    table = found.group(1).split(".")[-1].strip('"') if found else ""
    return f"{verb} {table}".strip()


def count_statements(counts: StatementCounts) -> list[tuple[str, Callable[..., None]]]:
    """Count every statement, commit and rollback of every SQLAlchemy engine in this
    process; returns the listeners (event name, function) for ``sqlalchemy.event.remove``."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    started: dict[int, tuple[float, float]] = {}

    def before(_conn, _cursor, _statement, _params, _context, _many) -> None:  # noqa: ANN001
        started[threading.get_ident()] = (time.time(), time.perf_counter())

    def after(_conn, _cursor, statement, _params, _context, _many) -> None:  # noqa: ANN001
        began, perf = started.pop(threading.get_ident(), (time.time(), time.perf_counter()))
        counts.add(statement_kind(statement), began, time.perf_counter() - perf)

    def commit(_conn) -> None:  # noqa: ANN001
        counts.add("COMMIT", time.time(), 0.0)

    def rollback(_conn) -> None:  # noqa: ANN001
        counts.add("ROLLBACK", time.time(), 0.0)

    listeners = [
        ("before_cursor_execute", before),
        ("after_cursor_execute", after),
        ("commit", commit),
        ("rollback", rollback),
    ]
    for name, function in listeners:
        event.listen(Engine, name, function)
    return listeners


def main() -> None:
    name_threads()
    out = os.environ.get(OUT_ENV)
    if out:
        counts = StatementCounts()
        count_statements(counts)
        signal.signal(signal.SIGUSR1, lambda _s, _f: counts.dump(Path(out)))
    sys.argv = ["fiblab.server", *sys.argv[1:]]
    runpy.run_module("fiblab.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
