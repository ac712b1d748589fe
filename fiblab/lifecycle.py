"""How fiblab's long-running programs (server, health process, supervisor) stop.

One :class:`StopRequest` collects the first reason to stop — SIGINT/SIGTERM, the parent
process gone (a notebook kernel killed or restarted), the SQLite database file deleted —
and later ones are logged and ignored, so a second signal during shutdown is harmless.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from . import cli

#: How often the watcher looks at the parent pid where it cannot be told (no pidfd:
#: not Linux), seconds.
WATCH_INTERVAL_SEC = 0.2
#: How often the watcher looks at the SQLite database file, seconds.
DATABASE_CHECK_SEC = 1.0
#: Longest the main thread sleeps without a wake-up (a safety net: signals and requests
#: wake it at once), seconds.
SIGNAL_CHECK_SEC = 1.0


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
        # A byte in this pipe wakes the main thread's wait: written by the C-level signal
        # handler (signal.set_wakeup_fd), by on_signal and by request().
        self._wake_read, self._wake_write = os.pipe()
        for fd in (self._wake_read, self._wake_write):
            os.set_blocking(fd, False)

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError):  # full: a wake-up is pending anyway
            os.write(self._wake_write, b"\0")

    def request(self, reason: str, graceful: bool = True, exit_code: int = 0) -> None:
        with self._lock:
            if self.event.is_set():
                self._log(f"{reason} while already stopping ({self.reason}): ignored")
                return
            self.reason, self.graceful, self.exit_code = reason, graceful, exit_code
            self.event.set()
        self._wake()

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals.append(signal.Signals(signum).name)
        self._wake()  # takes no lock: safe in a handler

    def install_signal_handlers(self) -> None:
        """SIGINT and SIGTERM request a graceful stop (call from the main thread)."""
        signal.signal(signal.SIGINT, self.on_signal)
        signal.signal(signal.SIGTERM, self.on_signal)
        # Wakes wait() even when the signal lands on another thread of the process.
        signal.set_wakeup_fd(self._wake_write, warn_on_full_buffer=False)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a stop is requested (True) or ``timeout`` s passed (False).

        The main thread sleeps on the pipe, so a signal or a request wakes it at once;
        another thread sleeps on the event (a request wakes it, a signal waits for the
        main thread to turn it into one)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            while self._signals:
                self.request(self._signals.popleft())
            if self.event.is_set():
                return True
            left = SIGNAL_CHECK_SEC if deadline is None else deadline - time.monotonic()
            if left <= 0:
                return False
            if threading.current_thread() is threading.main_thread():
                ready, _, _ = select.select([self._wake_read], [], [], min(left, SIGNAL_CHECK_SEC))
                if ready:
                    self._drain()
            else:
                self.event.wait(min(left, SIGNAL_CHECK_SEC))

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError):  # empty
            while os.read(self._wake_read, 512):
                pass


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


def parent_exit_fd(parent_pid: int) -> int | None:
    """A file descriptor that becomes readable when ``parent_pid`` exits (a Linux pidfd),
    or None where there is none (other systems, the parent already gone)."""
    try:
        fd = os.pidfd_open(parent_pid)
    except (AttributeError, OSError):
        return None
    if os.getppid() != parent_pid:  # gone before the pidfd: the pid may be reused
        os.close(fd)
        return None
    return fd


def start_watcher(
    stop: StopRequest,
    parent_pid: int | None,
    sqlite_file: Path | None = None,
    on_database_gone: Callable[[], None] | None = None,
    database_gone_exit_code: int = cli.EXIT_DATABASE_GONE,
) -> None:
    """A daemon thread that requests a stop when ``parent_pid`` stops being our parent,
    or when ``sqlite_file``, once created, is deleted or replaced (after calling
    ``on_database_gone``).

    On Linux it sleeps on a pidfd of the parent and wakes only to look at the database
    file (every :data:`DATABASE_CHECK_SEC`); elsewhere it looks at both every
    :data:`WATCH_INTERVAL_SEC`.
    """
    if parent_pid is None and sqlite_file is None:
        return  # nothing to watch
    database = DatabaseFile(sqlite_file) if sqlite_file is not None else None
    if database is not None:
        database.gone()  # note the file's identity now, if it exists already
    parent_fd = parent_exit_fd(parent_pid) if parent_pid is not None else None
    polls_parent = parent_pid is not None and parent_fd is None
    interval = WATCH_INTERVAL_SEC if polls_parent else DATABASE_CHECK_SEC

    def parent_gone() -> bool:
        if parent_pid is None:
            return False
        if parent_fd is not None:
            return bool(select.select([parent_fd], [], [], 0)[0])
        return os.getppid() != parent_pid

    def pause() -> bool:
        """Sleep until the next look; True once a stop has been requested."""
        if parent_fd is not None:
            select.select([parent_fd], [], [], interval)
            return stop.event.is_set()
        return stop.wait(interval)

    def watch() -> None:
        try:
            while not stop.event.is_set():
                if parent_gone():
                    stop.request(f"parent pid {parent_pid} is gone", graceful=False)
                    return
                if database is not None and database.gone():
                    if on_database_gone is not None:
                        on_database_gone()
                    stop.request(
                        "database file deleted", graceful=False, exit_code=database_gone_exit_code
                    )
                    return
                if pause():
                    return
        finally:
            if parent_fd is not None:
                os.close(parent_fd)

    threading.Thread(target=watch, daemon=True).start()
