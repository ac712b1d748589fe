"""The health endpoint's own logic, in this process: the connection limit, a failing
report, the worker watch's pid checks (no process started, no database)."""

from __future__ import annotations

import json
import os
import socket

import pytest

from fiblab.health_endpoint import HealthServer
from fiblab.probe import probe
from fiblab.protocol import HOST
from fiblab.waiting import wait_for
from fiblab.worker_watch import WorkerWatch

pytestmark = pytest.mark.unit


def test_connections_beyond_the_limit_get_503_at_once() -> None:
    server = HealthServer(
        lambda: {"pid": 1, "alive": True, "ready": True},
        served_by="test",
        max_connections=2,
        client_timeout=30,
    ).start()
    try:
        holders = [socket.create_connection((HOST, server.port), timeout=10) for _ in range(2)]
        wait_for(lambda: server.free_slots == 0, 10, "both slots taken")
        answer = probe(server.port, timeout=5)
        assert answer.status == 503 and answer.body["error"].startswith("busy")
        assert answer.seconds < 2  # refused at once, not after the other clients' timeout
        for holder in holders:
            holder.close()
        wait_for(lambda: server.free_slots == 2, 10, "slots released")
        assert probe(server.port).status == 200
    finally:
        server.close()


def test_a_failing_report_is_a_500_not_a_crash() -> None:
    def broken() -> dict:
        raise RuntimeError("cannot look")

    server = HealthServer(broken, served_by="test").start()
    try:
        answer = probe(server.port)
        assert answer.status == 500 and answer.body["healthy"] is False
        assert "cannot look" in answer.body["error"]
    finally:
        server.close()


def test_a_bad_port_is_refused() -> None:
    with pytest.raises(ValueError, match="port must be 0..65535"):
        HealthServer(dict, served_by="test", port=70000)


def test_a_reused_pid_is_not_the_worker(tmp_path) -> None:
    pid_file = tmp_path / "worker.json"
    pid_file.write_text(json.dumps({"pid": os.getpid(), "create_time": 1.0}))
    report = WorkerWatch(pid_file=pid_file)()
    assert report["state"] == "gone (pid reused)" and report["alive"] is False


def test_no_pid_file_yet_means_no_worker(tmp_path) -> None:
    report = WorkerWatch(pid_file=tmp_path / "missing.json")()
    assert report["pid"] is None and report["alive"] is False and report["state"] == "none"
