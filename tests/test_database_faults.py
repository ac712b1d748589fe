"""Database faults: a locked SQLite file, a PostgreSQL outage. Nothing hangs, nothing is lost."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import Counter

import pytest

from fiblab import client as fc
from fiblab import config
from fiblab.lab import Lab
from fiblab.localpg import LocalPostgres, find_bin_dir

from .conftest import REPO

pytestmark = pytest.mark.integration


def test_a_locked_sqlite_database_makes_work_wait_not_fail(lab, monkeypatch) -> None:
    if not lab.database_url.startswith("sqlite:///"):
        pytest.skip("SQLite only")
    lab.start_server("s1")
    client = lab.client
    blocker = sqlite3.connect(config.sqlite_path(lab.database_url), isolation_level=None,
                              check_same_thread=False)  # fmt: skip
    blocker.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
    release = threading.Timer(2.0, lambda: blocker.execute("COMMIT"))
    release.start()
    started = time.monotonic()
    handle = client.enqueue(fc.enqueue_options(), 15)  # waits for the lock (busy timeout)
    assert fc.wait_result(handle, timeout=60)[:2] == (15, 610)
    assert time.monotonic() - started >= 1.5  # it really waited for the lock
    release.join()
    blocker.close()


@pytest.fixture
def outage_lab(monkeypatch):
    """A cluster of its own to halt and resume: run once, in the PostgreSQL pass, where
    the binaries are sure to be installed (the SQLite pass comes first on a fresh machine)."""
    if not config.is_postgres(os.environ.get(config.DATABASE_URL_ENV, "sqlite:///")):
        pytest.skip("runs in the PostgreSQL pass (FIBLAB_DATABASE_URL=postgresql://…)")
    if find_bin_dir() is None:
        pytest.skip("PostgreSQL binaries not installed (make test installs them when root)")
    cluster = LocalPostgres(REPO / "tests" / "scratch" / "outage-postgres")
    monkeypatch.setenv(config.DATABASE_URL_ENV, cluster.start())
    try:
        with Lab.fresh("outage", root=REPO / "tests") as lab:
            yield lab, cluster
    finally:
        cluster.stop()


def test_a_postgres_outage_pauses_work_and_loses_nothing(outage_lab) -> None:
    lab, cluster = outage_lab
    server = lab.start_server("s1")
    handle = lab.enqueue_steps(40, wait_steps=5, step_seconds=0.05)
    cluster.halt()
    # While the database is down the server stays up and retries; work cannot go on
    # past the next checkpoint, which needs the database.
    paused_at = len(lab.executions(handle.workflow_id))
    time.sleep(2.0)  # an outage of a fixed length, not a wait for something to happen
    assert server.alive
    assert len(lab.executions(handle.workflow_id)) <= paused_at + 1
    assert "Connection refused" in server.logs()
    cluster.resume()
    assert fc.wait_result(handle, timeout=60) == (40, 102334155)
    counts = Counter(e["step"] for e in lab.executions(handle.workflow_id))
    assert sorted(counts) == list(range(2, 41))
    assert sum(counts.values()) - len(counts) <= 1  # at most the step in flight ran twice


def test_a_graceful_stop_during_an_outage_still_ends_the_server(outage_lab) -> None:
    lab, cluster = outage_lab
    server = lab.start_server("s1")
    handle = lab.enqueue_steps(40, wait_steps=3, step_seconds=0.05)
    cluster.halt()
    started = time.monotonic()
    server.stop(timeout=30)
    assert not server.alive and time.monotonic() - started < 20
    cluster.resume()
    server.start().wait_ready()  # same executor id: the interrupted workflow is recovered
    recovered = lab.reconnect().retrieve_workflow(handle.workflow_id)
    assert fc.wait_result(recovered, timeout=60) == (40, 102334155)


def test_a_deleted_sqlite_file_stops_the_server_with_a_clear_message(lab) -> None:
    if not lab.database_url.startswith("sqlite:///"):
        pytest.skip("SQLite only")
    server = lab.start_server("s1")
    config.sqlite_path(lab.database_url).unlink()
    assert server.wait(timeout=30) == 3  # EXIT_DATABASE_GONE
    assert "was deleted" in server.logs()
