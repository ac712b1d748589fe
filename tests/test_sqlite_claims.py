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


def test_only_a_claim_with_a_shared_limit_waits_for_the_write_lock(tmp_path) -> None:
    """An idle poll of a queue with no limit shared across processes stays a plain read:
    it goes on while another process holds the write lock; a capped queue's poll waits
    for it (here, with no busy timeout, it is refused at once)."""
    lock_sqlite_claims()
    url = f"sqlite:///{tmp_path}/claims.sqlite"
    poller = connect(url)
    holder = sa.create_engine(f"sqlite:///{tmp_path}/claims.sqlite")
    try:
        poller.register_queue("capped", worker_concurrency=CAP, global_concurrency=CAP)
        poller.register_queue("free", worker_concurrency=CAP)
        engine = poller._sys_db.engine
        engine.dispose()
        sa.event.listen(
            engine, "connect", lambda dbapi_conn, _r: dbapi_conn.execute("PRAGMA busy_timeout=0")
        )
        sys_db = poller._sys_db
        with holder.connect() as held:
            held.exec_driver_sql("BEGIN IMMEDIATE")  # another process is writing
            free, _ = sys_db.start_queued_workflows(
                sys_db.get_queue("free"), "poller", config.APP_VERSION, None
            )
            with pytest.raises(OperationalError, match="database is locked"):
                claim(poller, "poller")
            held.exec_driver_sql("ROLLBACK")
    finally:
        poller.destroy()
        holder.dispose()
    assert free == []
