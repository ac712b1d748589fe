"""Exercise checks: one clear message for a learner who skipped or erred, and a way on.

A notebook exercise is three cells: the task (prose), the solution (a code cell tagged
``solution``, hidden in JupyterLab and emptied to a placeholder in the student edition),
and a check cell tagged ``exercise-check``: it calls :func:`require` for what the exercise
defines, then tests the learner's result in plain Python and raises
:class:`ExerciseIncomplete` with what is wrong and what to write (written out in the cell,
so a learner reads exactly what is checked). A learner who skips the exercise meets one
:class:`ExerciseIncomplete` naming what to write; later cells
that need the exercise's result take it from :func:`mine_or_reference`, so nothing after
the check fails because of the skip.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")

#: The cell tag of an exercise's check cell (the student-edition test expects these, and
#: only these, to fail when every exercise is skipped).
CHECK_TAG = "exercise-check"


class ExerciseIncomplete(Exception):
    """The exercise above is not done yet, or not right: the message says what to write."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the learner needs the message, not
        # fiblab's frames.
        return [f"ExerciseIncomplete: {self}"]


def require(namespace: Mapping[str, Any], *names: str, task: str) -> None:
    """Fail the check if the exercise cell did not define every one of ``names``.

    ``task`` says what to write, e.g. ``"define the workflow two_step_workflow(n)"``.
    """
    missing = [name for name in names if name not in namespace]
    if missing:
        raise ExerciseIncomplete(
            f"{', '.join(missing)} not defined yet: {task} in the exercise cell above, "
            "run it, then run this check again."
        )


def mine_or_reference(namespace: Mapping[str, Any], name: str, reference: T, what: str) -> T:
    """The learner's ``name`` if the exercise defined it; otherwise ``reference``, said aloud.

    Later sections call this so that a skipped exercise never breaks them.
    """
    if name in namespace:
        return namespace[name]
    print(f"You skipped the exercise: using the reference {what}.")
    return reference
