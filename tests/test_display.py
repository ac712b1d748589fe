"""fiblab.display: excerpts of real source, for notebooks that show part of a long function."""

from __future__ import annotations

import pytest

from fiblab import server
from fiblab.display import excerpt_of

pytestmark = pytest.mark.unit  # no process, no database


def sample(x: int) -> int:
    if x > 1:
        y = x * 2
        return y
    return x


def test_excerpt_runs_from_first_to_last_marker_dedented() -> None:
    assert excerpt_of(sample, "y = x", "return y") == "y = x * 2\nreturn y"


def test_excerpt_of_a_real_module_function() -> None:
    text = excerpt_of(server.main, "# Launch DBOS", "os._exit(code)")
    assert text.startswith("# Launch DBOS") and text.endswith("os._exit(code)")
    assert "\n    app.launch(" in text  # dedented to the function body's level


@pytest.mark.parametrize(("first", "last"), [("missing", "return"), ("return y", "y = x")])
def test_excerpt_fails_when_a_marker_is_missing(first: str, last: str) -> None:
    with pytest.raises(ValueError):
        excerpt_of(sample, first, last)
