"""A learner presses "Run All" twice in one kernel; two notebooks run side by side.

Every check cell must pass on the second run in the same kernel too (Lab starts each run
from a clean slate), and two notebooks executing at the same time must not collide on
ports, databases or scratch folders. Runs in the SQLite pass only: it is long.
"""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .conftest import REPO, strays

pytestmark = pytest.mark.notebook

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def execute(path: Path, runs: int) -> None:
    """Execute every cell of ``path`` ``runs`` times in one kernel; raise on a failed cell."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    with client.setup_kernel():
        for _ in range(runs):
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)  # raising cells must carry raises-exception


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_run_all_twice_in_one_kernel(path: Path) -> None:
    execute(path, runs=2)
    assert strays(wait=10) == []


@pytest.mark.timeout(1200)
def test_two_notebooks_side_by_side() -> None:
    pair = [REPO / "notebooks" / "01_step_workflow.ipynb", REPO / "notebooks" / "03_servers.ipynb"]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(execute, path, 1) for path in pair]:
            future.result()
    assert strays(wait=10) == []
