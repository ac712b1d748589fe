"""How fiblab's long-running programs (server, health process, supervisor) stop.

One :class:`StopRequest` collects the first reason to stop — SIGINT/SIGTERM, the parent
process gone (a notebook kernel killed or restarted), the SQLite database file deleted —
and later ones are logged and ignored, so a second signal during shutdown is harmless.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import FrameType

#: How often the watcher looks at the parent pid and the database file, seconds.
WATCH_INTERVAL_SEC = 0.2
#: Longest a waiting thread takes to act on a SIGINT or SIGTERM, seconds.
SIGNAL_CHECK_SEC = 0.05


class StopRequest:
    """Remembers the first reason to stop; later requests are logged and ignored.

    A signal handler only notes the signal; :meth:`wait` turns it into a request. The
    handler runs in the main thread between two bytecodes, possibly while that thread
    holds the event's internal lock inside ``Event.wait``: setting the event (or taking
    any lock) there could deadlock the process for good — the trap CPython issue
    gh-126434 describes for ``multiprocessing.Event``.
    """

    def __init__(self, log: Callable[[str], None]) -> None:
        self.event = threading.Event()
        self.reason = ""
        self.graceful = True
        self.exit_code = 0
        self._log = log
        self._lock = threading.Lock()
        self._signals: deque[str] = deque()  # appended by the handler; no lock needed

    def request(self, reason: str, graceful: bool = True, exit_code: int = 0) -> None:
        with self._lock:
            if self.event.is_set():
                self._log(f"{reason} while already stopping ({self.reason}): ignored")
                return
            self.reason, self.graceful, self.exit_code = reason, graceful, exit_code
            self.event.set()

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals.append(signal.Signals(signum).name)

    def install_signal_handlers(self) -> None:
        """SIGINT and SIGTERM request a graceful stop."""
        signal.signal(signal.SIGINT, self.on_signal)
        signal.signal(signal.SIGTERM, self.on_signal)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a stop is requested (True) or ``timeout`` s passed (False); a
        signal is noticed within :data:`SIGNAL_CHECK_SEC`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            while self._signals:
                self.request(self._signals.popleft())
            if self.event.is_set():
                return True
            left = SIGNAL_CHECK_SEC if deadline is None else deadline - time.monotonic()
            if left <= 0:
                return False
            self.event.wait(min(left, SIGNAL_CHECK_SEC))


class DatabaseFile:
    """A SQLite file that may not exist yet: tells "not created yet" from "deleted".

    :meth:`gone` is True only once the file has been seen and is then missing, or has
    been replaced by another file (a different inode) — never while nobody created it
    yet (``DBOS.launch()`` creates it, and on a busy machine that takes a while).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.identity: tuple[int, int] | None = None  # (device, inode) once seen

    def _current(self) -> tuple[int, int] | None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return None
        return info.st_dev, info.st_ino

    def gone(self) -> bool:
        now = self._current()
        if self.identity is None:
            self.identity = now
            return False
        return now != self.identity


def start_watcher(
    stop: StopRequest,
    parent_pid: int | None,
    sqlite_file: Path | None = None,
    on_database_gone: Callable[[], None] | None = None,
    database_gone_exit_code: int = 3,
) -> None:
    """A daemon thread that requests a stop when ``parent_pid`` stops being our parent,
    or when ``sqlite_file``, once created, is deleted or replaced (after calling
    ``on_database_gone``)."""
    database = DatabaseFile(sqlite_file) if sqlite_file is not None else None
    if database is not None:
        database.gone()  # note the file's identity now, if it exists already

    def watch() -> None:
        while not stop.wait(WATCH_INTERVAL_SEC):
            if parent_pid is not None and os.getppid() != parent_pid:
                stop.request(f"parent pid {parent_pid} is gone", graceful=False)
                return
            if database is not None and database.gone():
                if on_database_gone is not None:
                    on_database_gone()
                stop.request(
                    "database file deleted", graceful=False, exit_code=database_gone_exit_code
                )
                return

    threading.Thread(target=watch, daemon=True).start()
