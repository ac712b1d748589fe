"""Notebook 03's reference server is its exercise's solution, kept as a file.

A learner who skips 03's exercise gets ``notebooks/reference/my_server.py`` for the later
sections; the instructor edition shows the solution cell. The two are one program twice
(the cell must show it, the file must exist without running the cell): this keeps them
from drifting apart.
"""

from __future__ import annotations

import pytest

from .conftest import REPO

pytestmark = pytest.mark.unit

SOLUTION_HEADER = '# %% tags=["solution"] jupyter={"source_hidden": true}\n'
WRITEFILE = "%%writefile {scratch}/my_server.py"


def test_the_reference_server_is_the_solution_cell_word_for_word() -> None:
    source = (REPO / "notebooks" / "src" / "03_servers.py").read_text()
    cell = source.split(SOLUTION_HEADER, 1)[1].split("\n# %%", 1)[0]
    first_line, program = cell.split("\n", 1)
    assert first_line == f"# {WRITEFILE}"
    reference = (REPO / "notebooks" / "reference" / "my_server.py").read_text()
    assert program.strip() == reference.strip(), "03's solution cell and the reference differ"
