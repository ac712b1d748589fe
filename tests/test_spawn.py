"""stop_previous_copy: a copy left from an earlier run is gone before a new one starts."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator

import psutil
import pytest

from fiblab import spawn
from fiblab.pidfile import PidFile, pid_gone
from fiblab.spawn import stop_previous_copy

from .conftest import sqlite_pass_only

# Starts a process; opens no database, so the PostgreSQL pass has nothing to add.
pytestmark = [pytest.mark.integration, sqlite_pass_only]

IGNORES_SIGTERM = (
    "import signal, sys; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); sys.stdin.read()"
)


@pytest.fixture
def stubborn() -> Iterator[subprocess.Popen[str]]:
    """A process that ignores SIGTERM, like a server stuck in its shutdown."""
    process = subprocess.Popen(
        [sys.executable, "-c", IGNORES_SIGTERM],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "ready\n"
    yield process
    process.kill()
    process.wait()


def sigkill_lands_late(monkeypatch, delay: float | None) -> None:
    """psutil's kill delivers SIGKILL ``delay`` s later (None: never), as on a busy machine."""
    real_kill = psutil.Process.kill

    def late_kill(self: psutil.Process) -> None:
        if delay is not None:
            threading.Timer(delay, real_kill, args=(self,)).start()

    monkeypatch.setattr(psutil.Process, "kill", late_kill)


def test_it_returns_only_once_a_copy_that_ignores_sigterm_is_gone(
    tmp_path, stubborn, monkeypatch
) -> None:
    pid_path = tmp_path / "pids" / "server-1.json"
    PidFile(pid_path).write(stubborn.pid)
    sigkill_lands_late(monkeypatch, 0.5)
    stop_previous_copy(pid_path, timeout=0.2)
    assert pid_gone(stubborn.pid), "returned while the old copy still runs: the new one overlaps it"


def test_it_refuses_when_the_copy_outlives_sigkill(tmp_path, stubborn, monkeypatch) -> None:
    pid_path = tmp_path / "pids" / "server-1.json"
    PidFile(pid_path).write(stubborn.pid)
    sigkill_lands_late(monkeypatch, None)
    monkeypatch.setattr(spawn, "KILL_TIMEOUT_SEC", 0.3)
    with pytest.raises(RuntimeError, match="still runs"):
        stop_previous_copy(pid_path, timeout=0.2)


def test_a_reused_pid_is_never_touched(tmp_path, stubborn) -> None:
    pid_path = tmp_path / "pids" / "server-1.json"
    pid_path.parent.mkdir()
    started = psutil.Process(stubborn.pid).create_time()
    pid_path.write_text(json.dumps({"pid": stubborn.pid, "create_time": started - 5}))
    stop_previous_copy(pid_path, timeout=0.2)
    assert stubborn.poll() is None and psutil.Process(stubborn.pid).status() != "zombie"
