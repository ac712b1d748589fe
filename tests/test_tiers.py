"""The tier markers: every test has exactly one, and a unit test really starts nothing."""

from __future__ import annotations

import textwrap
from types import SimpleNamespace

import pytest

from .conftest import without_one_tier

pytestmark = pytest.mark.unit
pytest_plugins = ["pytester"]


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


# A session of its own (in this process) with the suite's tier hooks and fixture.
INNER_CONFTEST = (
    "from tests.conftest import _unit_tests_start_nothing, pytest_collection_modifyitems\n"
    "__all__ = ['_unit_tests_start_nothing', 'pytest_collection_modifyitems']\n"
)
INNER_INI = "[pytest]\nmarkers =\n    unit\n    integration\n    notebook\n    e2e\n"


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # seconds saved: no nbmake etc.
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makeini(INNER_INI)
    return pytester


def test_a_unit_test_that_starts_a_process_or_opens_a_database_fails_saying_why(inner) -> None:
    inner.makepyfile(
        test_starts=textwrap.dedent(
            """
        import os, sqlite3, subprocess, sys
        import pytest

        pytestmark = pytest.mark.unit

        def test_runs_a_command():
            subprocess.run([sys.executable, "-c", "pass"])

        def test_forks():
            os.fork()

        def test_opens_sqlite(tmp_path):
            sqlite3.connect(tmp_path / "db.sqlite")
        """
        )
    )
    result = inner.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=3)
    for name in ("test_runs_a_command", "test_forks", "test_opens_sqlite"):
        result.stdout.fnmatch_lines([f"*test_starts.py::{name} is marked unit*"])


def test_a_session_with_an_untiered_test_stops_before_running_anything(inner) -> None:
    inner.makepyfile(test_untiered="def test_nothing():\n    pass\n")
    result = inner.runpytest_inprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*every test needs exactly one tier*", "*test_nothing: no tier*"])
