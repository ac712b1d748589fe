"""A queue claim on SQLite counts the queue's running workflows and claims in one
transaction (:func:`fiblab.database.lock_sqlite_claims`): another process's claim cannot
slip in between, so ``global_concurrency`` holds across processes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from dbos import DBOSClient
from sqlalchemy.exc import OperationalError

from fiblab import config
from fiblab.client import enqueue_options
from fiblab.database import connect, lock_sqlite_claims

from .conftest import sqlite_pass_only

pytestmark = [pytest.mark.integration, sqlite_pass_only]

CAP = 2


def claim(client: DBOSClient, executor_id: str) -> list[str]:
    """One poll's claim on the queue ``capped``, as DBOS's queue thread makes it."""
    sys_db = client._sys_db
    queue = sys_db.get_queue("capped")
    claimed, _limit = sys_db.start_queued_workflows(queue, executor_id, config.APP_VERSION, None)
    return claimed


def test_no_claim_slips_in_between_the_count_and_the_claim(tmp_path) -> None:
    """Two clients on one SQLite file, each with its own connections, stand in for two
    processes; the second claims at the worst moment of the first one's claim."""
    lock_sqlite_claims()
    url = f"sqlite:///{tmp_path}/claims.sqlite"
    first = connect(url)
    second = DBOSClient(system_database_url=url, application_name=config.APP_NAME)
    try:
        first.register_queue("capped", worker_concurrency=CAP, global_concurrency=CAP)
        options = enqueue_options("fibonacci_steps_workflow", "capped")
        for _ in range(2 * CAP):
            first.enqueue(options, 3)

        # The second process gives up at once when the database is locked.
        second_engine = second._sys_db.engine
        second_engine.dispose()
        sa.event.listen(
            second_engine,
            "connect",
            lambda dbapi_conn, _record: dbapi_conn.execute("PRAGMA busy_timeout=0"),
        )
        # Right before the first process selects what to claim (it has counted what runs
        # already), the second process claims in full.
        seen: dict[str, object] = {}

        def second_claims_first(_conn, _cursor, statement: str, *_args) -> None:
            if "ORDER BY" in statement and "workflow_status.priority" in statement and not seen:
                try:
                    seen["second"] = claim(second, "second")
                except OperationalError as error:
                    seen["second"] = str(error.orig)

        sa.event.listen(first._sys_db.engine, "before_cursor_execute", second_claims_first)
        first_claimed = claim(first, "first")
    finally:
        first.destroy()
        second.destroy()

    assert "second" in seen, "the claim's selection ran no query this test recognises"
    assert seen["second"] == "database is locked", (
        f"the second process claimed {seen['second']} between the first one's count and "
        f"its claim of {first_claimed}: {len(seen['second'])} + {len(first_claimed)} "
        f"against a limit of {CAP}"
    )
    assert len(first_claimed) == CAP
