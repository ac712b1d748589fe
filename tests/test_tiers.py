"""The tier markers: every test has exactly one, and a unit test really starts nothing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from types import SimpleNamespace

import pytest

from .conftest import without_one_tier

pytestmark = pytest.mark.unit


def fake_item(nodeid: str, *marks: str) -> SimpleNamespace:
    markers = [getattr(pytest.mark, name).mark for name in marks]
    return SimpleNamespace(nodeid=nodeid, iter_markers=lambda: iter(markers))


def test_a_test_needs_exactly_one_tier() -> None:
    items = [
        fake_item("ok", "unit", "timeout"),
        fake_item("none", "timeout"),
        fake_item("two", "integration", "e2e"),
    ]
    assert without_one_tier(items) == ["  none: no tier", "  two: ['e2e', 'integration']"]


def test_a_unit_test_cannot_start_a_process() -> None:
    with pytest.raises(RuntimeError, match="is marked unit"):
        subprocess.run([sys.executable, "-c", "pass"], check=False)
    with pytest.raises(RuntimeError, match="is marked unit"):
        os.fork()


def test_a_unit_test_cannot_open_a_database(tmp_path) -> None:
    with pytest.raises(RuntimeError, match="is marked unit"):
        sqlite3.connect(tmp_path / "db.sqlite")
    psycopg = pytest.importorskip("psycopg")
    with pytest.raises(RuntimeError, match="is marked unit"):
        psycopg.connect("postgresql://nobody@127.0.0.1:1/none")
