"""tools/editions.py: the student edition, and the verdict on running it with every
exercise skipped (read from executed notebooks made by hand: no kernel here)."""

from __future__ import annotations

import sys

import nbformat
import pytest

from .conftest import REPO

pytestmark = pytest.mark.unit  # no process, no database

sys.path.insert(0, str(REPO / "tools"))
from editions import PLACEHOLDER, skipped_exercise_problems, student_edition  # noqa: E402

new = nbformat.v4


def error(ename: str, evalue: str = "it went wrong") -> nbformat.NotebookNode:
    return new.new_output("error", ename=ename, evalue=evalue, traceback=[])


def executed(*cells: tuple[list[str], list]) -> nbformat.NotebookNode:
    """A notebook whose code cells carry the given tags and outputs."""
    nb = new.new_notebook()
    nb.cells.append(new.new_markdown_cell("**Exercise:** define `answer`."))
    for number, (tags, outputs) in enumerate(cells, 1):
        cell = new.new_code_cell(f"line_{number} = 1", metadata={"tags": tags} if tags else {})
        cell.outputs = outputs
        nb.cells.append(cell)
    for number, cell in enumerate(nb.cells):
        cell.id = f"cell-{number:02d}"
    return nb


def test_the_student_edition_empties_solutions_and_keeps_checks() -> None:
    nb = executed(
        (["solution"], [new.new_output("stream", name="stdout", text="42\n")]),
        (["exercise-check"], []),
    )
    nb.cells[1].metadata["jupyter"] = {"source_hidden": True}
    nb.cells[1].execution_count = 3
    student = student_edition(nb)
    solution, check = student.cells[1], student.cells[2]
    assert solution.source == PLACEHOLDER and solution.outputs == []
    assert solution.execution_count is None and "jupyter" not in solution.metadata
    assert check.source == nb.cells[2].source and check.metadata == nb.cells[2].metadata
    assert nb.cells[1].source == "line_1 = 1"  # the original is untouched


def test_only_the_checks_failing_as_incomplete_is_right() -> None:
    nb = executed(
        (["solution"], []),
        (["exercise-check"], [error("ExerciseIncomplete")]),
        ([], [new.new_output("stream", name="stdout", text="using the reference\n")]),
        (["raises-exception"], [error("ValueError")]),
    )
    assert skipped_exercise_problems(nb) == []


def test_every_wrong_outcome_is_named_with_its_cell() -> None:
    nb = executed(
        (["solution"], []),
        (["exercise-check"], []),  # passed on the placeholder
        (["exercise-check"], [error("AssertionError")]),  # a bare assert
        (["exercise-check"], [error("ExerciseIncomplete", "")]),  # says nothing
        ([], [error("NameError", "name 'answer' is not defined")]),  # a cascade
    )
    assert skipped_exercise_problems(nb) == [
        "cell 3 (cell-02, 'line_2 = 1'), tagged exercise-check, passed with the exercise "
        "skipped: a check that cannot fail on the placeholder checks nothing",
        "cell 4 (cell-03, 'line_3 = 1'): AssertionError: it went wrong: an exercise check "
        "must fail with ExerciseIncomplete",
        "cell 5 (cell-04, 'line_4 = 1'): ExerciseIncomplete: : its message must say what to write",
        "cell 6 (cell-05, 'line_5 = 1'): NameError: name 'answer' is not defined: only "
        "exercise checks may fail",
    ]


def test_an_exercise_without_a_check_is_named() -> None:
    problems = skipped_exercise_problems(executed((["solution"], [])))
    assert problems == [
        "it has an exercise (1 cell(s) tagged solution) but no cell tagged exercise-check: "
        "nothing tells a learner who skipped it"
    ]
    assert skipped_exercise_problems(executed(([], []))) == []  # no exercise, nothing to say


def test_a_handout_page_shows_a_note_for_a_live_widget_and_loads_no_widget_script() -> None:
    from editions import WIDGET_NOTE, WIDGET_VIEW, without_live_widgets

    nb = nbformat.v4.new_notebook(metadata={"widgets": {"state": {}}})
    bar = nbformat.v4.new_output(
        "display_data", data={WIDGET_VIEW: {"model_id": "x"}, "text/plain": "0/24"}
    )
    nb.cells = [nbformat.v4.new_code_cell("watch_progress(...)", outputs=[bar])]
    page_nb = without_live_widgets(nb)
    assert "widgets" not in page_nb.metadata  # nbconvert adds the widget script only for these
    assert page_nb.cells[0].outputs[0]["data"] == {"text/plain": WIDGET_NOTE}
    assert WIDGET_VIEW in nb.cells[0].outputs[0]["data"]  # the executed notebook keeps its bar
