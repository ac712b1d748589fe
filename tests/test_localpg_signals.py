"""fiblab.localpg's command runner and signals: a terminal's Ctrl-C reaches the command
once, a SIGTERM sent to the runner reaches it too (no PostgreSQL needed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fiblab.waiting import wait_for

from .conftest import REPO

pytestmark = pytest.mark.integration

# Counts its SIGINTs; SIGTERM ends it with that count as its exit code.
CHILD = textwrap.dedent(
    """
    import signal, sys
    received = 0
    def on_sigint(*_):
        global received
        received += 1
        print("SIGINT", flush=True)
    signal.signal(signal.SIGINT, on_sigint)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(received))
    print("ready", flush=True)
    while True:
        signal.pause()
    """
)
RUNNER = "import os, sys; from fiblab.localpg import run_child; "
RUNNER += "sys.exit(run_child([sys.executable, '-c', sys.argv[1]], dict(os.environ)))"


def catches(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has a handler of its own for ``signum`` (Linux)."""
    status = Path(f"/proc/{pid}/status").read_text()
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(mask, 16) >> (signum - 1) & 1)


def test_ctrl_c_reaches_the_command_once_and_sigterm_is_passed_on() -> None:
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, CHILD],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group of its own, as a terminal's job has
    )
    try:
        assert runner.stdout.readline() == "ready\n"
        wait_for(lambda: catches(runner.pid, signal.SIGTERM), 10, "the runner's handlers")
        os.killpg(runner.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group
        assert runner.stdout.readline() == "SIGINT\n"
        runner.send_signal(signal.SIGTERM)  # to the runner alone
        assert runner.wait(timeout=30) == 1  # the command's exit code: one SIGINT seen
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait()
