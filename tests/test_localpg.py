"""fiblab.localpg without PostgreSQL: a cluster that fails to come up leaves nothing behind."""

from __future__ import annotations

import tempfile

import pytest

from fiblab import localpg
from fiblab.localpg import LocalPostgres

pytestmark = pytest.mark.unit


@pytest.fixture
def temp_root(tmp_path, monkeypatch):
    """Where the cluster's temporary folder goes; the PostgreSQL tools are stand-ins."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    monkeypatch.setattr(localpg, "find_bin_dir", lambda: tmp_path / "bin")
    monkeypatch.setattr(localpg, "_run_as", lambda: None)
    return root


@pytest.mark.parametrize("failing", ["initdb", "pg_ctl"])
def test_a_failed_start_removes_the_temporary_cluster(temp_root, tmp_path, monkeypatch, failing):
    calls: list[tuple[str, tuple[str, ...]]] = []

    def pg(_bin_dir, _user, tool: str, *args: str, check: bool = True):
        calls.append((tool, args))
        if tool == "initdb":
            (temp_root / next(temp_root.iterdir()).name / "data").mkdir()
        if tool == failing and check:
            raise RuntimeError(f"{tool} failed (1)")

    monkeypatch.setattr(LocalPostgres, "_pg", staticmethod(pg))
    cluster = LocalPostgres(tmp_path / "state")
    with pytest.raises(RuntimeError, match=f"{failing} failed"):
        cluster.start()
    assert list(temp_root.iterdir()) == []
    assert not cluster.state_file.exists() and not cluster.env_file.exists()
    if failing == "pg_ctl":  # a server that may half-run is told to stop
        assert calls[-1][0] == "pg_ctl" and calls[-1][1][-1] == "stop"
