"""blind_health's parent stops cleanly even when a signal lands while it polls its worker.

Its old SIGTERM handler terminated, joined and waited for the children inside the
handler. A signal that landed while the main thread held the worker's wait lock (inside
``Popen.poll``, which the ``--parent-loop`` watch calls five times a second) then
deadlocked the process on that lock for good: the trap ``fiblab.lifecycle`` warns about.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from fiblab import config

from .conftest import sqlite_pass_only

pytestmark = pytest.mark.integration  # starts the program, its health child and a server

SIGNAL_MID_POLL = textwrap.dedent(
    """
    import os, signal, subprocess, sys
    from fiblab.variants import blind_health

    real_poll = subprocess.Popen.poll
    sent = []

    def poll_with_a_signal_inside(self):
        if not sent:  # once: the signal lands while Popen.poll holds its wait lock
            sent.append(True)
            with self._waitpid_lock:
                os.kill(os.getpid(), signal.SIGTERM)  # the handler runs here, lock held
        return real_poll(self)

    subprocess.Popen.poll = poll_with_a_signal_inside
    sys.exit(blind_health.main(sys.argv[1:]))
    """
)


@sqlite_pass_only  # about signals: its database is a SQLite file of its own
def test_a_sigterm_that_lands_mid_poll_still_stops_it_cleanly(lab) -> None:
    env = {**os.environ, config.SCRATCH_ENV: str(lab.scratch)}
    database_url = f"sqlite:///{lab.scratch / 'mid-poll.sqlite'}"
    argv = ["--executor-id", "mid-poll", "--database-url", database_url, "--parent-loop"]
    try:
        result = subprocess.run(
            [sys.executable, "-c", SIGNAL_MID_POLL, *argv],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
    except subprocess.TimeoutExpired as stuck:
        pytest.fail(f"deadlocked in its signal handler; its output:\n{stuck.stdout}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stopping: SIGTERM" in result.stdout
