"""``python -m fiblab.request``: bad input enqueues nothing; a timeout says what is still queued."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from dbos import DBOSClient

from fiblab.cli import EXIT_BAD_ARGUMENTS, EXIT_TIMEOUT
from fiblab.request import build_parser

pytestmark = pytest.mark.integration  # each test runs the command as a process


def request(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fiblab.request", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.mark.parametrize("bad", [["10", "36"], ["-1"], ["ten"], ["10", "--timeout", "0"]])
def test_a_bad_argument_is_refused_and_nothing_is_enqueued(tmp_path: Path, bad: list[str]) -> None:
    database = tmp_path / "demo.sqlite"
    result = request(*bad, "--database-url", f"sqlite:///{database}", cwd=tmp_path)
    assert result.returncode == EXIT_BAD_ARGUMENTS, result.stderr
    assert "error" in result.stderr
    assert not database.exists()  # not even the tables: nothing was enqueued


def test_help_documents_every_option() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fiblab.request", "--help"], capture_output=True, text=True
    )
    options = [s for a in build_parser()._actions for s in a.option_strings]
    assert len(options) >= 4
    for option in options:
        assert option in result.stdout


def test_with_no_server_it_times_out_and_the_work_stays_queued(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    result = request("5", "6", "--timeout", "1", "--database-url", url, cwd=tmp_path)
    assert result.returncode == EXIT_TIMEOUT, result.stdout + result.stderr
    assert "2 workflows unfinished after 1 s" in result.stderr
    client = DBOSClient(system_database_url=url)
    try:
        queued = client.list_workflows(status="ENQUEUED")
    finally:
        client.destroy()
    assert sorted(w.workflow_id for w in queued) == sorted(
        line.split()[2].rstrip(":") for line in result.stdout.splitlines() if "enqueued" in line
    )
