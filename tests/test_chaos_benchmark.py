"""``benchmarks/chaos.py --outages`` refuses, with exit code 2 and the command to use,
a database it cannot halt: SQLite, or a PostgreSQL that ``fiblab.localpg run`` did not
start for it (a shared server)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from fiblab import config, localpg

from .conftest import REPO

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "database_url", ["sqlite:///chaos.sqlite", "postgresql://u:secret@127.0.0.1:1/fiblab"]
)
def test_outages_are_refused_on_a_database_it_cannot_halt(database_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != localpg.STATE_ENV}
    env[config.DATABASE_URL_ENV] = database_url
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "chaos.py"), "--outages", "1"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "fiblab.localpg run -- python benchmarks/chaos.py --outages" in result.stderr
    assert "secret" not in result.stdout + result.stderr
