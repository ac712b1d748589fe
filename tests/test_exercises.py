"""The exercise checks a learner meets: a clear message, and the reference when skipped."""

from __future__ import annotations

import pytest

from fiblab.exercises import ExerciseIncomplete, mine_or_reference, require

pytestmark = pytest.mark.unit


def test_require_names_what_is_missing_and_what_to_write() -> None:
    with pytest.raises(ExerciseIncomplete, match=r"^b not defined yet: define b\(n\) in the"):
        require({"a": 1}, "a", "b", task="define b(n)")
    require({"a": 1, "b": 2}, "a", "b", task="unused")


def test_a_skipped_exercise_falls_back_to_the_reference_and_says_so(capsys) -> None:
    assert mine_or_reference({"server": "mine"}, "server", "ref", "server") == "mine"
    assert capsys.readouterr().out == ""
    assert mine_or_reference({}, "server", "ref", "server module") == "ref"
    said = capsys.readouterr().out
    assert said == "You skipped the exercise: using the reference server module.\n"


def test_ipython_shows_the_message_not_fiblabs_frames() -> None:
    assert ExerciseIncomplete("define x")._render_traceback_() == ["ExerciseIncomplete: define x"]
