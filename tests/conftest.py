"""Shared fixtures, and the suite-wide check that no fiblab process outlives the tests."""

from __future__ import annotations

import argparse
import itertools
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from fiblab import config, processes, spawn
from fiblab.lab import Lab

REPO = Path(__file__).resolve().parent.parent
# Everything fiblab starts during the tests (notebook kernels included, which inherit this
# environment) keeps its scratch folder here, away from a learner's notebooks/scratch.
# Under pytest-xdist each worker has a root of its own, so that its checks for processes
# left running see only its own; the controller's root holds them all.
SCRATCH_ROOT = REPO / "tests" / "scratch" / os.environ.get("PYTEST_XDIST_WORKER", "")
os.environ[config.SCRATCH_ROOT_ENV] = str(SCRATCH_ROOT)
# Executed notebooks the notebook tier leaves for the handouts test (git-ignored).
EXECUTED = REPO / "tests" / "artifacts" / "executed"
SESSION_STARTED = time.time()
# Executed copies written since this moment count as this run's (the handouts test reuses
# them). `make test` runs the notebook and e2e tiers as two pytest sessions and passes
# the time it started; a session run by hand counts only its own copies.
EXECUTED_SINCE = float(os.environ.get("FIBLAB_EXECUTED_SINCE", SESSION_STARTED))
_counter = itertools.count()

#: make test's second pass: FIBLAB_DATABASE_URL points at a PostgreSQL.
IN_THE_POSTGRES_PASS = config.is_postgres(os.environ.get(config.DATABASE_URL_ENV, "sqlite:///"))
#: For an integration test whose databases are all SQLite files of its own (or none): the
#: PostgreSQL pass would run it again unchanged.
sqlite_pass_only = pytest.mark.skipif(
    IN_THE_POSTGRES_PASS, reason="its databases are SQLite files of its own: the SQLite pass ran it"
)

# The tiers, in the order a session runs them (the cheap ones fail first; the notebook
# tier leaves the executed copies that the e2e handouts test builds from).
TIERS = ("unit", "integration", "notebook", "e2e")


@pytest.fixture
def lab(request: pytest.FixtureRequest):
    """A fresh Lab of this test's own; every server it started is stopped afterwards."""
    name = f"t{os.getpid()}-{next(_counter)}-{request.node.name}"[:60]
    name = "".join(c if c.isalnum() or c in "_.-" else "_" for c in name)
    with Lab.fresh(name, root=REPO / "tests") as workspace:
        yield workspace


def run_python(code: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (an "owner" process) and wait for it."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, **kwargs
    )


def assert_help_documents_every_option(module: str, parser: argparse.ArgumentParser) -> str:
    """``python -m module --help`` names every option ``parser`` defines; returns the text."""
    out = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, check=True
    ).stdout
    options = [o for action in parser._actions for o in action.option_strings if o[:2] == "--"]
    assert len(options) > 1, "the parser defines no option besides --help"
    missing = [option for option in options if option not in out]
    assert missing == [], f"{module} --help does not mention {missing}"
    return out


def started_by_the_tests() -> list[psutil.Process]:
    """Live processes started (directly or not) by this test session, other than itself.

    Every one of them inherited ``FIBLAB_SCRATCH_ROOT`` pointing under ``tests/scratch``:
    fiblab servers, notebook kernels, the Jupyter server, Chromium.
    """
    root, found = str(SCRATCH_ROOT), []
    for proc in psutil.process_iter(["status"]):
        try:
            if proc.pid == os.getpid() or proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get(config.SCRATCH_ROOT_ENV, "").startswith(root):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def strays(wait: float = 0.0) -> list:
    """Processes the tests started that are still running, after up to ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        found = processes.fiblab_processes(SCRATCH_ROOT) or started_by_the_tests()
        if not found or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def tiers(item: pytest.Item) -> set[str]:
    return {mark.name for mark in item.iter_markers() if mark.name in TIERS}


def without_one_tier(items: list[pytest.Item]) -> list[str]:
    """One line per test with no tier marker or with more than one."""
    return [
        f"  {item.nodeid}: {sorted(tiers(item)) or 'no tier'}"
        for item in items
        if len(tiers(item)) != 1
    ]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test has exactly one tier; run them tier by tier (see ``TIERS``)."""
    for item in items:
        if item.path.suffix == ".ipynb":  # nbmake's items (``pytest notebooks/``)
            item.add_marker(pytest.mark.notebook)
    wrong = without_one_tier(items)
    if wrong:
        raise pytest.UsageError(
            f"every test needs exactly one tier marker of {', '.join(TIERS)} "
            "(a module-level pytestmark); these have not:\n" + "\n".join(wrong)
        )
    items.sort(key=lambda item: TIERS.index(tiers(item).pop()))


@pytest.fixture(autouse=True)
def _unit_tests_start_nothing(request: pytest.FixtureRequest, monkeypatch) -> None:
    """A ``unit`` test that starts a process or opens a database fails, saying why."""
    if request.node.get_closest_marker("unit") is None:
        return

    def refuse(*_args, **_kwargs):
        raise RuntimeError(
            f"{request.node.nodeid} is marked unit: it may start no process and open no "
            "database (mark its module integration instead)"
        )

    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse)
    for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, refuse)
    monkeypatch.setattr(sqlite3, "connect", refuse)
    try:
        import psycopg
    except ImportError:
        return
    monkeypatch.setattr(psycopg, "connect", refuse)
    monkeypatch.setattr(psycopg.Connection, "connect", refuse)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    spawn.stop_all()
    left = strays(wait=10.0)
    if left:
        lines = "\n".join(f"  pid {p.pid}: {' '.join(p.cmdline())}" for p in left if p.is_running())
        sys.stderr.write(f"\nFAIL: processes left running after the suite:\n{lines}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        sys.stdout.write("\nno fiblab process (nor any other the tests started) left running\n")
