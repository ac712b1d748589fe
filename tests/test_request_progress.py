"""``python -m fiblab.request``'s progress line: on a terminal, off with --quiet or a pipe."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

import pytest

from fiblab.cli import EXIT_OK

pytestmark = pytest.mark.integration  # each test runs the command against a real server

NS = ["20", "21", "22"]
PROGRESS = re.compile(r"\r\x1b\[K(\d+)/3 done, \d+ s")


def request_on_a_terminal(lab, *extra: str) -> tuple[int, str]:
    """Run the request with its stdout on a pseudo-terminal; its exit code and output."""
    main, child_end = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "fiblab.request", *NS, "--database-url", lab.database_url, *extra],
        stdout=child_end,
        stderr=subprocess.PIPE,
        cwd=lab.scratch,
    )
    os.close(child_end)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    returncode = process.wait(timeout=120)
    return returncode, b"".join(chunks).decode()


def test_on_a_terminal_a_progress_line_counts_the_results(lab) -> None:
    lab.start_server("s1")
    returncode, output = request_on_a_terminal(lab)
    assert returncode == EXIT_OK, output
    counts = [int(done) for done in PROGRESS.findall(output)]
    assert counts[0] == 0 and counts[-1] == 3 and counts == sorted(counts), output
    # every result line still starts on a line of its own (the progress line is cleared)
    assert len(re.findall(r"\x1b\[Kdone: fib\(\d+\) = \d+ ", output)) == 3, output
    assert "=== Summary ===" in output


def test_quiet_on_a_terminal_and_a_pipe_get_no_progress_line(lab) -> None:
    lab.start_server("s1")
    returncode, output = request_on_a_terminal(lab, "--quiet")
    assert returncode == EXIT_OK, output
    assert "\x1b[K" not in output and "/3 done" not in output
    assert len(re.findall(r"^done: fib", output, re.M)) == 3

    piped = subprocess.run(
        [sys.executable, "-m", "fiblab.request", *NS, "--database-url", lab.database_url],
        capture_output=True,
        text=True,
        cwd=lab.scratch,
        timeout=120,
    )
    assert piped.returncode == EXIT_OK, piped.stderr
    assert "\r" not in piped.stdout and "\x1b" not in piped.stdout
    assert "/3 done" not in piped.stdout + piped.stderr
    assert len(re.findall(r"^done: fib", piped.stdout, re.M)) == 3
