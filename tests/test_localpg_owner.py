"""A notebook's PostgreSQL (``postgres_for_notebook``): FIBLAB_DATABASE_URL wins, else a
cluster of its own that goes away with its owner however the owner ends, else how to get
PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import psutil
import psycopg
import pytest

from fiblab import config, localpg
from fiblab.localpg import INSTALL_HINT, LocalPostgres, postgres_for_notebook
from fiblab.waiting import wait_for

from .conftest import REPO, own_postgres_only

# The owner (a notebook kernel, say): gets a cluster, prints where it is, then waits.
OWNER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from fiblab.localpg import postgres_for_notebook
    pg = postgres_for_notebook(Path(sys.argv[1]))
    state = json.loads(pg.cluster.state_file.read_text())
    print(json.dumps({"data_root": state["data_root"], "start_seconds": pg.start_seconds}))
    sys.stdout.flush()
    if sys.argv[2] == "close":
        pg.close()
        print("closed", flush=True)
    time.sleep(300)
    """
)


@pytest.mark.unit
def test_a_configured_postgresql_wins_and_is_not_ours_to_halt(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(config.DATABASE_URL_ENV, "postgresql://u:secret@db.example:5432/fiblab")
    monkeypatch.setattr(LocalPostgres, "start", lambda *_a, **_k: pytest.fail("started one"))
    pg = postgres_for_notebook(tmp_path)
    assert pg.url == "postgresql://u:secret@db.example:5432/fiblab" and pg.cluster is None
    assert "secret" not in pg.source and config.DATABASE_URL_ENV in pg.source


@pytest.mark.unit
def test_without_binaries_it_says_how_to_get_them(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv(config.DATABASE_URL_ENV, raising=False)
    monkeypatch.setattr(localpg, "find_bin_dir", lambda: None)
    pg = postgres_for_notebook(tmp_path)
    assert pg.url is None and pg.source == INSTALL_HINT and "apt-get" in pg.source


def start_owner(state_dir, then: str) -> tuple[subprocess.Popen[str], dict]:
    env = {k: v for k, v in os.environ.items() if k != config.DATABASE_URL_ENV}
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(state_dir), then],
        cwd=REPO, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    return owner, json.loads(owner.stdout.readline())


def postmaster(data_root: str) -> psutil.Process:
    with open(os.path.join(data_root, "data", "postmaster.pid")) as pid_file:
        return psutil.Process(int(pid_file.readline()))


def ended(process: psutil.Process) -> bool:
    """Gone, or a zombie nobody has reaped yet (a container's pid 1 may not)."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.integration
@own_postgres_only
@pytest.mark.parametrize("ending", ["SIGKILL", "close"])
def test_the_cluster_goes_away_with_its_owner(tmp_path, ending: str) -> None:
    owner, started = start_owner(tmp_path / "postgres", "close" if ending == "close" else "wait")
    try:
        print(f"cluster start (initdb + pg_ctl start): {started['start_seconds']:.2f} s")
        watcher = psutil.Process(owner.pid).children()[0]
        if ending == "SIGKILL":  # a kernel killed, or restarted (its process group killed)
            server = postmaster(started["data_root"])
            owner.send_signal(signal.SIGKILL)
            owner.wait()
            wait_for(lambda: ended(server), 30, "the postmaster to stop")
        else:
            assert owner.stdout.readline() == "closed\n"
        wait_for(lambda: ended(watcher), 30, "the watcher to end")
        assert not os.path.exists(started["data_root"])
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()


@pytest.mark.integration
@own_postgres_only
def test_run_all_twice_gets_the_same_cluster_and_close_removes_it(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(config.DATABASE_URL_ENV)
    first = postgres_for_notebook(tmp_path / "postgres")
    try:
        assert postgres_for_notebook(tmp_path / "postgres") is first
    finally:
        first.close()
    assert first.cluster.url() is None  # stopped and removed


@pytest.mark.integration
@own_postgres_only
def test_the_cpu_of_ended_connections_is_counted(tmp_path, monkeypatch) -> None:
    """09 prints what PostgreSQL's processes took while servers ran: connections that
    ended meanwhile count too (the postmaster has reaped them)."""
    monkeypatch.delenv(config.DATABASE_URL_ENV)
    pg = postgres_for_notebook(tmp_path / "postgres")
    try:
        before = pg.cluster.cpu_seconds()
        with psycopg.connect(pg.url.rsplit("/", 1)[0] + "/postgres") as connection:
            connection.execute("SELECT sum(i) FROM generate_series(1, 3000000) AS i").fetchone()
        wait_for(lambda: pg.cluster.cpu_seconds() > before + 0.1, 10, "the query's CPU")
    finally:
        pg.close()
