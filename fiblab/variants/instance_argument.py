"""Notebook 07, section 4: an object with credentials passed as a workflow argument, and the fix.

``fetcher_workflow(fetcher, n)`` takes a ``Fetcher`` that carries a user name and a
password (the original experiment's ``ex3.py``). DBOS stores every workflow argument in
the system database, pickled: the password sits in the ``workflow_input`` table (dbos 3.4), readable
by anyone who can read the database, for as long as the row is kept. The workflow runs
on a copy made from those bytes: changes to the caller's object never reach it, and a
workflow recovered after a crash still holds the password as it was at enqueue time.

``user_id_workflow(user, n)`` takes only the user name; its step reads the password from
the server's environment (``FIBLAB_DEMO_PASSWORD``) whenever it runs, so nothing secret
is stored and a recovered run uses the current password.

The "service" is simulated: it accepts only the current ``FIBLAB_DEMO_PASSWORD`` of the
server process. Use obviously fake passwords.
"""

from __future__ import annotations

import os

from dbos import DBOS

from fiblab.crashes import note_step
from fiblab.fib import MAX_ITERATIVE_N, validate_n
from fiblab.variants import main_guard

if __name__ == "__main__":  # `python -m …`: serve this module imported under its real name
    main_guard("fiblab.variants.instance_argument")

DESCRIPTION = (
    "Serve notebook 07's fetcher_workflow (an object carrying a password is the workflow "
    "argument, so the password is stored in the database) and user_id_workflow (only a "
    "user name; the step reads the password from $FIBLAB_DEMO_PASSWORD of this server). "
    "Same options as python -m fiblab.server."
)

PASSWORD_ENV = "FIBLAB_DEMO_PASSWORD"


class Fetcher:
    """Fetches Fibonacci numbers from a (simulated) service that needs a password."""

    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self.password = password
        self.requests = 0

    def __repr__(self) -> str:  # hides the password on screen, which protects nothing stored
        return f"Fetcher(user={self.user!r}, password='***', requests={self.requests})"

    def fibonacci(self, n: int, crash_at: int | None) -> int:
        previous, current = 0, 1
        for i in range(2, n + 1):
            self.requests += 1
            previous, current = (
                current,
                password_step(self.user, self.password, i, previous, current, crash_at),
            )
        return current if n > 0 else 0


def service_login(user: str, password: str) -> None:
    """The simulated service: only this server's current password is accepted."""
    if password != os.environ.get(PASSWORD_ENV):
        raise PermissionError(f"the service refused the password of {user!r}")


@DBOS.step()
def password_step(
    user: str, password: str, i: int, previous: int, current: int, crash_at: int | None = None
) -> int:
    note_step(i, crash_at)
    service_login(user, password)
    return previous + current


@DBOS.workflow()
def fetcher_workflow(fetcher: Fetcher, n: int, crash_at: int | None = None) -> dict:
    """The design to avoid: the object (and its password) is the workflow's argument."""
    validate_n(n, MAX_ITERATIVE_N)
    value = fetcher.fibonacci(n, crash_at)
    return {"n": n, "fib": value, "user": fetcher.user, "requests_seen": fetcher.requests}


@DBOS.step()
def user_id_step(
    user: str, i: int, previous: int, current: int, crash_at: int | None = None
) -> int:
    note_step(i, crash_at)
    service_login(user, os.environ.get(PASSWORD_ENV, ""))  # read where it is used, never stored
    return previous + current


@DBOS.workflow()
def user_id_workflow(user: str, n: int, crash_at: int | None = None) -> dict:
    """The fix: plain identifiers in, the secret read inside the step that needs it."""
    validate_n(n, MAX_ITERATIVE_N)
    previous, current = 0, 1
    for i in range(2, n + 1):
        previous, current = current, user_id_step(user, i, previous, current, crash_at)
    return {"n": n, "fib": current if n > 0 else 0, "user": user}
