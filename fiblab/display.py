"""Show things in a notebook: highlighted source of the code that runs, small tables."""

from __future__ import annotations

import html
import inspect
import textwrap
from collections.abc import Callable, Sequence
from typing import Any


def source_of(*objects: Callable[..., Any] | type) -> str:
    """The source code of functions or classes, decorators included, as one string."""
    return "\n\n".join(inspect.getsource(inspect.unwrap(obj)).rstrip() for obj in objects)


def show_source(*objects: Callable[..., Any] | type) -> Any:
    """Display the highlighted source of the given workflows, steps or classes.

    Read from the fiblab package itself, so what the notebook shows is exactly what
    the servers run.
    """
    from IPython.display import Code

    return Code(source_of(*objects), language="python")


def excerpt_of(obj: Callable[..., Any] | type, first: str, last: str) -> str:
    """Lines of ``obj``'s source from the first one containing ``first`` through the next
    one containing ``last``, dedented. Raises ``ValueError`` if either is not there, so a
    notebook that shows an excerpt fails when the source it names changes."""
    lines = inspect.getsource(inspect.unwrap(obj)).splitlines()
    start = next((i for i, line in enumerate(lines) if first in line), None)
    if start is None:
        raise ValueError(f"{first!r} is not in the source of {obj.__qualname__}")
    end = next((i for i in range(start, len(lines)) if last in lines[i]), None)
    if end is None:
        raise ValueError(f"{last!r} does not follow {first!r} in {obj.__qualname__}")
    return textwrap.dedent("\n".join(lines[start : end + 1]))


def show_excerpt(obj: Callable[..., Any] | type, first: str, last: str) -> Any:
    """Display :func:`excerpt_of` highlighted: part of a long function, read from fiblab."""
    from IPython.display import Code

    return Code(excerpt_of(obj, first, last), language="python")


def table(rows: Sequence[dict], columns: Sequence[str] | None = None) -> Any:
    """An HTML table of ``rows`` (dicts), showing ``columns`` (default: all keys)."""
    from IPython.display import HTML

    columns = list(columns or (rows[0].keys() if rows else []))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(row.get(c)))}</td>" for c in columns) + "</tr>"
        for row in rows
    )
    return HTML(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Exception):
        return f"{type(value).__name__}: {value}"
    return str(value)
