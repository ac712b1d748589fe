"""Every notebook, executed as a learner runs it: the notebook tier, in both passes.

SQLite pass: "Run All" twice in one kernel (every check cell must pass on the second run
too: Lab starts each run from a clean slate), and 01 and 03 side by side (two notebooks
at the same time must not collide on ports, databases or scratch folders). The first
run's executed copy is kept in ``tests/artifacts/executed/`` for the handouts test,
which builds from it instead of executing the notebook again.

PostgreSQL pass (``FIBLAB_DATABASE_URL`` set): each notebook once, and no output may
show the database password.
"""

from __future__ import annotations

import concurrent.futures
import copy
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest
from nbclient import NotebookClient

from fiblab import config

from .conftest import EXECUTED, REPO, strays

pytestmark = [pytest.mark.notebook, pytest.mark.timeout(1200)]

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SIDE_BY_SIDE = ("01_step_workflow", "03_servers")
# The longest first (benchmarks/README.md, section 5), so that two pytest-xdist workers
# finish at about the same time instead of one waiting for the other's last notebook.
LONGEST_FIRST = (
    "09_scaling_out",
    "08_async_variants",
    "02_queues",
    "06_health_split",
    "05_crash_and_recovery",
    "07_class_based_variants",
    "04_client_handles",
)
ALONE = sorted(
    (p for p in NOTEBOOKS if p.stem not in SIDE_BY_SIDE),
    key=lambda p: LONGEST_FIRST.index(p.stem) if p.stem in LONGEST_FIRST else len(LONGEST_FIRST),
)
DATABASE_URL = os.environ.get(config.DATABASE_URL_ENV)
RUNS = 1 if DATABASE_URL else 2  # the SQLite default, as a learner has it: Run All twice


def execute(path: Path, runs: int = RUNS) -> nbformat.NotebookNode:
    """Run All ``runs`` times in one kernel; raise on a failed cell; return the last run.

    On the SQLite default the first run is also written to ``EXECUTED`` (what the
    handouts tool does with a notebook), with how long it took.
    """
    copy_path = EXECUTED / path.name
    copy_path.unlink(missing_ok=True)  # never leave a copy from an earlier session
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    with client.setup_kernel():
        for run in range(runs):
            started = time.perf_counter()
            client.execute(cleanup_kc=False)  # raising cells must carry raises-exception
            if run == 0 and not DATABASE_URL:
                first = copy.deepcopy(nb)
                first.metadata["fiblab"] = {
                    "executed_seconds": round(time.perf_counter() - started, 1),
                    "database": "sqlite default",
                }
                EXECUTED.mkdir(parents=True, exist_ok=True)
                nbformat.write(first, copy_path)
    return nb


def check_no_password(nb: nbformat.NotebookNode, name: str) -> None:
    """03 prints server logs and the lab, 09 its PostgreSQL part: no password anywhere."""
    password = urlsplit(DATABASE_URL or "").password
    if password:
        assert password not in nbformat.writes(nb), f"{name} shows the database password"


def test_two_notebooks_side_by_side() -> None:
    """01 and 03 at the same time: each still passes (``RUNS`` times in its kernel)."""
    pair = [REPO / "notebooks" / f"{stem}.ipynb" for stem in SIDE_BY_SIDE]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = {path.stem: pool.submit(execute, path) for path in pair}
    for name, future in futures.items():
        check_no_password(future.result(), name)
    assert strays(wait=10) == []


@pytest.mark.parametrize("path", ALONE, ids=[p.stem for p in ALONE])
def test_run_all(path: Path) -> None:
    check_no_password(execute(path), path.stem)
    assert strays(wait=10) == []


def test_the_postgres_pass_has_a_password_to_look_for() -> None:
    """Without one, the password check above would check nothing."""
    if not DATABASE_URL:
        pytest.skip("SQLite pass: no database password")
    assert urlsplit(DATABASE_URL).password
