"""Chaos with a database outage: PostgreSQL halted and resumed, a server SIGKILLed and
restarted while it was down; nothing lost, duplicated or wrong, every server alive.

It halts a cluster of its own (``outage_lab``), never the PostgreSQL pass's shared one.
The long version is ``python -m fiblab.localpg run -- python benchmarks/chaos.py
--outages 2``.
"""

from __future__ import annotations

import json
import os
import socket

import psycopg
import pytest

from fiblab.chaos import run_chaos, with_outage
from fiblab.localpg import Frozen

from .conftest import own_postgres_only

pytestmark = [pytest.mark.integration, own_postgres_only]

OUTAGE_SEC = 2.0


def test_an_outage_refuses_connections_until_it_is_resumed(outage_lab) -> None:
    _lab, cluster = outage_lab
    port = json.loads(cluster.state_file.read_text())["port"]
    refused: list[bool] = []

    def try_to_connect() -> None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            refused.append(False)
        except ConnectionRefusedError:
            refused.append(True)

    outage = with_outage(cluster, OUTAGE_SEC, during=try_to_connect)
    assert refused == [True]
    assert outage.seconds >= OUTAGE_SEC
    socket.create_connection(("127.0.0.1", port), timeout=5).close()  # back


def test_a_frozen_database_hangs_connections_until_it_is_thawed(outage_lab) -> None:
    _lab, cluster = outage_lab
    server_url = cluster.url().rsplit("/", 1)[0] + "/postgres"
    timed_out: list[bool] = []

    def try_to_connect() -> None:
        try:
            psycopg.connect(server_url, connect_timeout=1).close()
            timed_out.append(False)
        except psycopg.errors.ConnectionTimeout:
            timed_out.append(True)

    with psycopg.connect(server_url) as open_before:
        outage = with_outage(Frozen(cluster), OUTAGE_SEC, during=try_to_connect)
        assert open_before.execute("SELECT 1").fetchone() == (1,)  # it answers again
    assert timed_out == [True]  # not refused: nothing answered
    assert outage.seconds >= OUTAGE_SEC


def test_kills_and_an_outage_lose_nothing_and_redo_no_completed_step(outage_lab) -> None:
    lab, cluster = outage_lab
    seed = int(os.environ.get("FIBLAB_CHAOS_SEED", "2026"))
    report = run_chaos(
        lab, workflows=30, servers=2, kills=1, outages=1, outage_seconds=OUTAGE_SEC,
        seed=seed, timeout=120, database=cluster,
    )  # fmt: skip
    print(report.summary())
    print("kills:", report.kills, "outages:", report.outages)
    [(halted, resumed, victim)] = report.outages
    assert resumed - halted >= OUTAGE_SEC
    assert any(name == victim and halted <= at <= resumed for at, name in report.kills)
    assert (report.lost, report.duplicated, report.wrong) == ([], [], [])
    assert report.servers_alive == 2
