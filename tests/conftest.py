"""Shared fixtures, and the suite-wide check that no fiblab process outlives the tests."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from fiblab import config, processes
from fiblab.lab import Lab

REPO = Path(__file__).resolve().parent.parent
# Everything fiblab starts during the tests (notebook kernels included, which inherit this
# environment) keeps its scratch folder here, away from a learner's notebooks/scratch.
SCRATCH_ROOT = REPO / "tests" / "scratch"
os.environ[config.SCRATCH_ROOT_ENV] = str(SCRATCH_ROOT)
_counter = itertools.count()


@pytest.fixture
def lab(request: pytest.FixtureRequest):
    """A fresh Lab of this test's own; every server it started is stopped afterwards."""
    name = f"t{os.getpid()}-{next(_counter)}-{request.node.name}"[:60]
    name = "".join(c if c.isalnum() or c in "_.-" else "_" for c in name)
    with Lab(name, root=REPO / "tests") as workspace:
        yield workspace


def run_python(code: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (an "owner" process) and wait for it."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, **kwargs
    )


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Notebooks are integration tests: they run again in the PostgreSQL pass."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.integration)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    processes.stop_all()
    left = strays(wait=10.0)
    if left:
        lines = "\n".join(f"  pid {p.pid}: {' '.join(p.cmdline())}" for p in left if p.is_running())
        sys.stderr.write(f"\nFAIL: processes left running after the suite:\n{lines}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        sys.stdout.write("\nno fiblab process (nor any other the tests started) left running\n")
