"""The system database, set up in one place: migrate, prepare, connect, drop, and
queue claims that respect ``global_concurrency`` on SQLite.

DBOS creates its tables when a process launches; a client or a notebook that gets there
first finds none ("no such table"). :func:`prepare_database` and :func:`connect` run
DBOS's migrations first (from a notebook cell, on a worker thread: see
:mod:`fiblab.worker_thread`). Reading back what DBOS stored is :mod:`fiblab.stored`'s job.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from . import config
from .waiting import WaitTimeout, wait_for
from .worker_thread import in_worker_thread

if TYPE_CHECKING:
    import sqlalchemy as sa
    from dbos import DBOSClient

#: Pause between two migration attempts while the database is busy, seconds.
MIGRATION_RETRY_SEC = 0.5


def sqlalchemy_url(database_url: str, database: str | None = None) -> sa.engine.URL:
    """``database_url`` for SQLAlchemy: a plain ``postgresql://`` gets the psycopg 3 driver
    (SQLAlchemy's default is psycopg2, which fiblab does not install); ``database``
    names another database on the same server."""
    import sqlalchemy as sa

    url = sa.engine.make_url(database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url if database is None else url.set(database=database)


class DatabaseNotReady(RuntimeError):
    """The database could not be reached, or DBOS's tables not created, in time."""


def migrate(database_url: str, timeout: float = config.DATABASE_WAIT_SEC) -> None:
    """Create or update DBOS's tables; retries while the database is busy (e.g. locked).

    DBOS's migration helper reports a failure by printing it and exiting; this turns
    that into a :class:`DatabaseNotReady` that names the (masked) database.
    """
    from dbos import run_dbos_database_migrations

    sqlite_file = config.sqlite_path(database_url)
    if sqlite_file is not None:  # DBOS creates the file, not the folder it goes in
        sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    failure: list[BaseException] = []

    def attempt() -> bool:
        try:
            run_dbos_database_migrations(database_url)
            return True
        except (Exception, SystemExit) as error:  # click's Exit is one of these
            failure[:] = [error]
            return False

    try:
        wait_for(attempt, timeout, "the DBOS migrations", interval=MIGRATION_RETRY_SEC)
    except WaitTimeout:
        raise DatabaseNotReady(
            f"could not prepare the DBOS system database {config.mask_url(database_url)} "
            f"within {timeout:g} s (DBOS printed the reason above)"
        ) from (failure[0] if failure else None)


def prepare_database(
    database_url: str,
    queue: str = config.QUEUE_NAME,
    worker_concurrency: int | None = 1,
    polling_interval_sec: float = config.QUEUE_POLLING_INTERVAL_SEC,
    timeout: float = config.DATABASE_WAIT_SEC,
    global_concurrency: int | None = None,
) -> None:
    """Create DBOS's tables and register ``queue``, before any server launches; retries
    for up to ``timeout`` seconds while the database is busy or unreachable.

    A server launched on a database that already lists its queue polls it at once;
    one that registers the queue itself after launch waits for the queue manager's next
    scan (about a second later).
    """
    from dbos import DBOSClient

    def prepare() -> None:
        migrate(database_url, timeout)
        client = DBOSClient(system_database_url=database_url, application_name=config.APP_NAME)
        try:
            client.register_queue(
                queue,
                worker_concurrency=worker_concurrency,
                global_concurrency=global_concurrency,
                polling_interval_sec=polling_interval_sec,
            )
        finally:
            client.destroy()

    in_worker_thread(prepare)


def connect(database_url: str) -> DBOSClient:
    """A ``DBOSClient`` for ``database_url``, creating DBOS's tables if none exist yet.

    (A bare ``DBOSClient`` on a brand-new database fails with "no such table" until a
    server has launched once; fiblab runs DBOS's migrations first.)
    """
    from dbos import DBOSClient

    def make() -> DBOSClient:
        migrate(database_url)
        return DBOSClient(system_database_url=database_url, application_name=config.APP_NAME)

    return in_worker_thread(make)


def drop_database(database_url: str) -> None:
    """Drop the PostgreSQL database ``database_url`` names, if it exists, closing its
    connections; the next :func:`prepare_database` or DBOS launch creates it again."""
    import sqlalchemy as sa

    if not config.is_postgres(database_url):
        raise ValueError(f"not a PostgreSQL URL: {config.mask_url(database_url)}")
    target = sqlalchemy_url(database_url)
    engine = sa.create_engine(
        sqlalchemy_url(database_url, database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    finally:
        engine.dispose()


def lock_sqlite_claims() -> None:
    """Make each SQLite queue claim of this process that shares a limit with other
    processes count and claim in one transaction.

    DBOS 3.4 claims queued workflows in one SQLAlchemy transaction
    (``start_queued_workflows`` in ``dbos/_sys_db.py``): it counts the queue's PENDING
    workflows (for ``global_concurrency``), selects the next ENQUEUED ones, then marks
    them PENDING. On SQLite, Python's ``sqlite3`` begins the transaction (``BEGIN
    IMMEDIATE``, set in ``dbos/_sys_db_sqlite.py``) only at the first write, so the count
    and the selection run before it, each on its own: a claim by another process that
    commits between them is not counted, and both processes fill the limit (two servers
    on a queue with ``global_concurrency=2`` ran four at once). Here such a claim takes the
    write lock first, as DBOS's own SQLite migrations do: DBOS's private
    ``SQLiteSystemDatabase._begin``, which only the claim uses, begins with ``BEGIN
    IMMEDIATE`` while ``start_queued_workflows`` claims for a queue with a budget shared
    across processes (DBOS's own test, ``has_shared_budget``: a global or partition
    concurrency, or a rate limit). Any other poll stays a read that takes no lock (pinned
    DBOS 3.4.0; tests/test_sqlite_claims.py fails if an upgrade undoes it). On PostgreSQL
    DBOS claims under REPEATABLE READ, which refuses such a claim. Idempotent; every
    fiblab launch calls it.
    """
    from dbos._sys_db_sqlite import SQLiteSystemDatabase

    if getattr(SQLiteSystemDatabase._begin, "locks_first", False):
        return
    dbos_begin = SQLiteSystemDatabase._begin
    dbos_claim = SQLiteSystemDatabase.start_queued_workflows
    claiming_shared = threading.local()

    @contextlib.contextmanager
    def begin_locked(self, isolation: str | None) -> Iterator[sa.Connection]:
        with dbos_begin(self, isolation) as connection:
            if getattr(claiming_shared, "on", False):
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            yield connection

    @functools.wraps(dbos_claim)
    def claim(self, queue, *args, **kwargs):
        claiming_shared.on = any(
            limit is not None
            for limit in (
                queue._concurrency,
                queue._partition_concurrency,
                queue._limiter,
                queue._partition_limiter,
            )
        )
        try:
            return dbos_claim(self, queue, *args, **kwargs)
        finally:
            claiming_shared.on = False

    begin_locked.locks_first = True  # type: ignore[attr-defined]
    SQLiteSystemDatabase._begin = begin_locked  # type: ignore[method-assign]
    SQLiteSystemDatabase.start_queued_workflows = claim  # type: ignore[method-assign]
