"""What a separate health process knows about the worker it watches: :class:`WorkerWatch`.

The worker is looked up afresh on every probe: its pid (from a pid file, re-read each
time, so a restarted worker is followed), whether that process is alive (a zombie or a
reused pid is not), and whether it printed its ready line (read from its log). A
:class:`WorkerWatch` is the *report* a :class:`fiblab.health_endpoint.HealthServer`
answers with.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

import psutil

from .pidfile import PidFile, PidRecord
from .protocol import SERVER_READY_PREFIX

#: psutil states in which a process exists but cannot answer anything.
NOT_RUNNING_STATES = (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
FROZEN_STATES = (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP)


class WorkerWatch:
    """The worker a health process watches, looked up afresh on every probe.

    Give a ``pid_file`` (a :class:`fiblab.pidfile.PidFile`, as fiblab's process handles
    write it, or a bare pid) to follow a worker that gets restarted, or a fixed
    ``pid``. With ``log_file``, the worker is *ready* once that log holds a fiblab
    server ready line naming its pid; without, a live worker counts as ready.
    """

    def __init__(
        self,
        pid: int | None = None,
        pid_file: Path | str | None = None,
        log_file: Path | str | None = None,
        ready_marker: str = SERVER_READY_PREFIX,
    ) -> None:
        if (pid is None) == (pid_file is None):
            raise ValueError("give exactly one of pid and pid_file")
        self.pid_file = PidFile(pid_file) if pid_file is not None else None
        # A fixed pid's start time is read now, so a later reuse of the pid is detected.
        self.fixed = PidRecord.of(pid) if pid is not None else None
        self._last: PidRecord | None = None
        self.ready_lines = ReadyLines(log_file, ready_marker) if log_file else None

    def target(self) -> PidRecord | None:
        """The worker's pid and start time, or None if there never was one.

        While the pid file is missing (the worker died and was reaped, and is not
        restarted yet) the last worker seen is the one reported on: gone.
        """
        if self.fixed is not None:
            return self.fixed
        self._last = self.pid_file.read() or self._last  # type: ignore[union-attr]
        return self._last

    def __call__(self) -> dict:
        worker = self.target()
        pid = worker.pid if worker is not None else None
        report: dict[str, Any] = {"pid": pid, "alive": False, "ready": False, "frozen": False}
        report["state"] = "none"
        if worker is None:
            return report
        try:
            process = psutil.Process(worker.pid)
            with process.oneshot():
                state, started = process.status(), process.create_time()
        except (psutil.NoSuchProcess, ValueError):
            return {**report, "state": "gone"}
        except psutil.Error as error:  # cannot look at it: never call that healthy
            return {**report, "state": f"unknown ({type(error).__name__})"}
        if not worker.started_at(started):
            return {**report, "state": "gone (pid reused)"}
        report["state"] = state
        if state in NOT_RUNNING_STATES:
            return report
        report["alive"] = True
        report["frozen"] = state in FROZEN_STATES
        if self.ready_lines is None:
            report["ready"] = True
        else:
            executor = self.ready_lines.executor_of(worker.pid)
            report["ready"] = executor is not None
            if executor:
                report["executor_id"] = executor
        return report


class ReadyLines:
    """The ready lines in a growing log file, read incrementally: pid → executor id."""

    _PID = re.compile(r"(?<![\w])pid=(\d+)")
    _EXECUTOR = re.compile(r"executor_id=(\S+)")

    def __init__(self, path: Path | str, marker: str) -> None:
        self.path = Path(path)
        self.marker = marker
        self.ready: dict[int, str] = {}
        self._offset = 0
        self._partial = b""
        self._lock = threading.Lock()

    def executor_of(self, pid: int) -> str | None:
        with self._lock:
            self._read_new_lines()
            return self.ready.get(pid)

    def _read_new_lines(self) -> None:
        try:
            with open(self.path, "rb") as log:
                size = os.fstat(log.fileno()).st_size
                if size < self._offset:  # a new file in its place: start over
                    self._offset, self._partial, self.ready = 0, b"", {}
                log.seek(self._offset)
                data = log.read(size - self._offset)
        except OSError:
            return
        self._offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        for raw in lines:
            line = raw.decode(errors="replace")
            if self.marker not in line:
                continue
            rest = line.split(self.marker, 1)[1]
            pid, executor = self._PID.search(rest), self._EXECUTOR.search(rest)
            if pid:
                self.ready[int(pid.group(1))] = executor.group(1) if executor else ""
