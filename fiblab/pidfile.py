"""Pid files: which process a parent started, written and read back in one format.

A pid file is JSON ``{"pid": N, "create_time": T}`` (T: the process's start time as
psutil reports it). The start time is what makes the record safe to act on: a pid can
be reused by an unrelated process once ours has ended, and :meth:`PidRecord.process`
only ever returns the process whose start time matches. A file holding a bare pid (one
written by hand) is read too, with no start time to check.

:meth:`PidFile.write` is atomic (a temporary file, then ``os.replace``), so a reader
such as a health process that re-reads the file on every probe never sees half a record.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psutil

#: Two start times closer than this are the same process (psutil rounds them), seconds.
CREATE_TIME_TOLERANCE_SEC = 0.01


def create_time(pid: int) -> float | None:
    """When process ``pid`` started (psutil's clock), or None if there is no such process."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


@dataclass(frozen=True)
class PidRecord:
    """A process as a pid file records it: its pid, and its start time if known."""

    pid: int
    create_time: float | None = None

    @classmethod
    def of(cls, pid: int) -> PidRecord:
        """The record of the running process ``pid`` (its start time read now)."""
        return cls(pid, create_time(pid))

    def started_at(self, started: float) -> bool:
        """Whether a process that started at ``started`` is the recorded one (True when
        the record has no start time to compare)."""
        return self.create_time is None or abs(started - self.create_time) <= (
            CREATE_TIME_TOLERANCE_SEC
        )

    def process(self) -> psutil.Process | None:
        """The recorded process if it still exists and is the same one (not a reused pid),
        else None. A zombie still exists: see :func:`pid_gone`."""
        try:
            process = psutil.Process(self.pid)
            return process if self.started_at(process.create_time()) else None
        except psutil.Error:
            return None


class PidFile:
    """One pid file: :meth:`write` it atomically, :meth:`read` it, :meth:`remove` it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def write(self, pid: int) -> PidRecord:
        """Record process ``pid`` with its start time, atomically; returns the record."""
        record = PidRecord.of(pid)
        data = json.dumps({"pid": record.pid, "create_time": record.create_time})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w") as file:
                file.write(data)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return record

    def read(self) -> PidRecord | None:
        """The record in the file (JSON, or a bare pid), or None if there is none."""
        try:
            text = self.path.read_text().strip()
            if not text.startswith("{"):
                return PidRecord(int(text))
            recorded = json.loads(text)
            started = recorded.get("create_time")
            return PidRecord(int(recorded["pid"]), None if started is None else float(started))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def remove(self, pid: int | None = None) -> None:
        """Delete the file; with ``pid``, only while it still records that pid."""
        record = self.read()
        if pid is not None and (record is None or record.pid != pid):
            return
        self.path.unlink(missing_ok=True)

    def __repr__(self) -> str:
        return f"PidFile({str(self.path)!r})"


def pid_gone(pid: int, *, reaped: bool = False) -> bool:
    """Whether process ``pid`` no longer runs: it does not exist, or is a zombie (dead,
    not yet collected by its parent). With ``reaped``, a zombie still counts as there."""
    try:
        status = psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return True
    if status == psutil.STATUS_DEAD:
        return True
    return status == psutil.STATUS_ZOMBIE and not reaped
