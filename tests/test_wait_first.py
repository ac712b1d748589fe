"""fiblab's "as they complete" helpers wait with DBOS's wait_first: one query per poll for all.

The statements are counted on the client's engine (SQLAlchemy's ``before_cursor_execute``)
while 40 workflows wait on a queue no server serves, until the helper's timeout.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy import event

from fiblab import client as fc

pytestmark = pytest.mark.integration

WAITING = 40
TIMEOUT = 0.5
INTERVAL = 0.01


class Statements:
    def __init__(self, client) -> None:
        self.count, self._lock = 0, threading.Lock()
        event.listen(client._sys_db.engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args) -> None:
        with self._lock:
            self.count += 1


def test_waiting_costs_at_most_one_query_per_poll_whatever_the_number_waiting(lab) -> None:
    handles = [lab.client.enqueue(fc.enqueue_options(), 5) for _ in range(WAITING)]
    statements = Statements(lab.client)
    polls_at_most = TIMEOUT / INTERVAL + 10  # every poll at the shortest pause, and slack
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=f"{WAITING} workflows unfinished"):
        list(fc.results_as_completed(lab.client, handles, TIMEOUT, INTERVAL))
    assert time.monotonic() - started < TIMEOUT + 2
    sync_count = statements.count
    assert 1 <= sync_count <= polls_at_most < WAITING * 2  # per handle: 40 per poll

    async def wait_async() -> None:
        async_handles = [await lab.client.retrieve_workflow_async(h.workflow_id) for h in handles]
        async for _ in fc.results_as_completed_async(lab.client, async_handles, TIMEOUT, INTERVAL):
            pass

    statements.count = 0
    with pytest.raises(TimeoutError):
        asyncio.run(wait_async())
    assert WAITING <= statements.count <= WAITING + polls_at_most  # the retrieves, then polls
