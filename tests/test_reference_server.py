"""03's reference server is its exercise's solution, line for line.

A learner who skips 03's exercise gets ``notebooks/reference/my_server.py`` in its place
(the later sections run it), so the two must not drift apart.
"""

from __future__ import annotations

import jupytext
import pytest

from .conftest import REPO

pytestmark = pytest.mark.unit

SOURCE = REPO / "notebooks" / "src" / "03_servers.py"
REFERENCE = REPO / "notebooks" / "reference" / "my_server.py"


def test_the_reference_server_is_the_exercise_solution() -> None:
    nb = jupytext.read(SOURCE, fmt="py:percent")
    solutions = [cell for cell in nb.cells if "solution" in cell.metadata.get("tags", [])]
    assert len(solutions) == 1, "03 has one exercise, so one solution cell"
    magic, body = solutions[0].source.split("\n", 1)
    assert magic == "%%writefile {scratch}/my_server.py"
    assert body.strip() == REFERENCE.read_text().strip(), (
        f"{REFERENCE.relative_to(REPO)} and 03's solution cell differ: change both"
    )
