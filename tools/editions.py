"""The two editions of a notebook, the instructor's (as built) and the student's, and what
running the student's must give.

The student edition is what a workshop hands out: every cell tagged ``solution`` has its
source replaced by ONE placeholder line and shown (it is hidden in the instructor's
notebook), every output cleared; every other cell, ``exercise-check`` cells included, is
kept as it is. ``tools/handouts.py`` writes it, and tests/test_notebook_reruns.py runs it
as a learner who skips every exercise: both call :func:`student_edition`. That run must
fail in the exercise checks, each with ``ExerciseIncomplete``, and nowhere else
(:func:`skipped_exercise_problems`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import nbformat

from fiblab.exercises import CHECK_TAG, ExerciseIncomplete

SOLUTION_TAG = "solution"
ON_PURPOSE_TAG = "raises-exception"
PLACEHOLDER = "# Your code here"
INCOMPLETE = ExerciseIncomplete.__name__

__all__ = ["CHECK_TAG", "PLACEHOLDER", "SOLUTION_TAG", "has_tag", "student_edition"]


def has_tag(cell: nbformat.NotebookNode, tag: str) -> bool:
    return tag in cell.get("metadata", {}).get("tags", [])


def student_edition(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb``: solution cells emptied to the placeholder and shown; no outputs."""
    student = copy.deepcopy(nb)
    for cell in student.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = []
        cell.execution_count = None
        if has_tag(cell, SOLUTION_TAG):
            cell.source = PLACEHOLDER
            jupyter = cell.metadata.get("jupyter", {})
            jupyter.pop("source_hidden", None)
            if not jupyter:
                cell.metadata.pop("jupyter", None)
    return student


@dataclass(frozen=True)
class Failure:
    """A code cell whose outputs hold an error."""

    number: int  # the cell's position in the notebook, from 1, as JupyterLab counts
    cell_id: str
    ename: str
    evalue: str
    first_line: str  # of the cell's source, to find it by eye

    def __str__(self) -> str:
        value = self.evalue if len(self.evalue) <= 160 else self.evalue[:157] + "…"
        return f"cell {self.number} ({self.cell_id}, {self.first_line!r}): {self.ename}: {value}"


def failures(nb: nbformat.NotebookNode) -> list[Failure]:
    """Every executed code cell with an error output, except those failing on purpose."""
    found = []
    for number, cell in enumerate(nb.cells, 1):
        if cell.cell_type != "code" or has_tag(cell, ON_PURPOSE_TAG):
            continue
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                line = next((x for x in cell.source.splitlines() if x.strip()), "")
                found.append(
                    Failure(number, cell.get("id", "?"), output.ename, output.evalue, line[:60])
                )
                break
    return found


def skipped_exercise_problems(nb: nbformat.NotebookNode) -> list[str]:
    """What is wrong with a student edition run top to bottom, every exercise skipped
    (errors allowed): empty when exactly the ``exercise-check`` cells failed, each with
    ``ExerciseIncomplete``, and the notebook's exercise has such a check."""
    problems = []
    failed = {f.cell_id: f for f in failures(nb)}
    checks = [
        (number, cell)
        for number, cell in enumerate(nb.cells, 1)
        if cell.cell_type == "code" and has_tag(cell, CHECK_TAG)
    ]
    solutions = [cell for cell in nb.cells if has_tag(cell, SOLUTION_TAG)]
    if solutions and not checks:
        problems.append(
            f"it has an exercise ({len(solutions)} cell(s) tagged {SOLUTION_TAG}) but no cell "
            f"tagged {CHECK_TAG}: nothing tells a learner who skipped it"
        )
    for number, cell in checks:
        failure = failed.pop(cell.get("id", "?"), None)
        line = next((x for x in cell.source.splitlines() if x.strip()), "")[:60]
        if failure is None:
            problems.append(
                f"cell {number} ({cell.get('id', '?')}, {line!r}), tagged {CHECK_TAG}, passed "
                "with the exercise skipped: a check that cannot fail on the placeholder "
                "checks nothing"
            )
        elif failure.ename != INCOMPLETE:
            problems.append(f"{failure}: an exercise check must fail with {INCOMPLETE}")
        elif not failure.evalue.strip():
            problems.append(f"{failure}: its message must say what to write")
    problems += [f"{failure}: only exercise checks may fail" for failure in failed.values()]
    return problems


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = (
    "[a live progress bar: it moves while the cell runs in JupyterLab; "
    "a static page can only show its first state, so the summary below gives this run's numbers]"
)


def without_live_widgets(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy whose widget outputs are a note: their page would load a script from the network."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if WIDGET_VIEW in output.get("data", {}):
                output["data"] = {"text/plain": WIDGET_NOTE}
    return nb
