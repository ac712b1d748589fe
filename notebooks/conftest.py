"""pytest hooks for the notebooks run through nbmake (``pytest --nbmake notebooks``, and
``make test``'s PostgreSQL pass): no notebook's outputs may show the database password.

nbmake executes a notebook and keeps its outputs to itself; the hook below records the
executed notebook and fails the test if the password of ``FIBLAB_DATABASE_URL`` appears
anywhere in it (server logs, the lab, 09's PostgreSQL part print things).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import nbformat
import pytest

from fiblab import config


def password() -> str | None:
    return urlsplit(os.environ.get(config.DATABASE_URL_ENV, "")).password


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    if not getattr(item, "nbmake", False):
        return (yield)
    from nbmake import pytest_items
    from nbmake.nb_result import NotebookError, NotebookResult

    executed: list[nbformat.NotebookNode] = []

    class Recorded(pytest_items.NotebookRun):
        def execute(self):
            result = super().execute()
            executed.append(result.nb)
            return result

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pytest_items, "NotebookRun", Recorded)
        outcome = yield
    secret = password()
    shown = [
        number
        for number, cell in enumerate(executed[0].cells if executed else [], 1)
        if secret and secret in nbformat.writes(nbformat.v4.new_notebook(cells=[cell]))
    ]
    if shown:  # failed the way nbmake fails a notebook, so it reports it as one
        summary = f"{item.name} shows the database password (cells {shown}, counted from 1)"
        error = NotebookError(summary=summary, trace=summary, failing_cell_index=shown[0] - 1)
        raise pytest_items.NotebookFailedException(NotebookResult(executed[0], error))
    return outcome
