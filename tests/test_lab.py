"""The Lab: what creating, resetting, reconnecting and closing one does (and does not do).

Its client and in-process DBOS are stand-ins here: no process, no database.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from types import SimpleNamespace

import pytest

from fiblab import app, config
from fiblab import lab as lab_module
from fiblab.lab import Lab
from fiblab.waiting import WaitTimeout

pytestmark = pytest.mark.unit


class FakeClient:
    """Counts ``destroy`` calls; with ``hang`` set, ``destroy`` waits until it is released."""

    def __init__(self, hang: bool = False) -> None:
        self.destroyed = 0
        self.release = threading.Event()
        self.hang = hang

    def destroy(self) -> None:
        if self.hang:
            self.release.wait(30)
        self.destroyed += 1


@pytest.fixture
def clients(monkeypatch) -> list[FakeClient]:
    """Every client a Lab connects, in order (each a :class:`FakeClient`)."""
    made: list[FakeClient] = []

    def connect(_url: str) -> FakeClient:
        made.append(FakeClient())
        return made[-1]

    monkeypatch.setattr(lab_module, "connect", connect)
    return made


@pytest.fixture
def fake_dbos(monkeypatch) -> SimpleNamespace:
    """Lab.launch_dbos without DBOS: counts launches and shutdowns."""
    calls = SimpleNamespace(launched=0, destroyed=0)

    async def launch_async(*_args, **_kwargs) -> None:
        calls.launched += 1

    def destroy(*_args, **_kwargs) -> None:
        calls.destroyed += 1

    monkeypatch.setattr(app, "launch_async", launch_async)
    monkeypatch.setattr(lab_module.DBOS, "destroy", destroy)
    monkeypatch.setattr(lab_module, "_dbos_is_launched", lambda: calls.launched > calls.destroyed)
    monkeypatch.setattr(lab_module, "_dbos_owner", None)
    yield calls
    config.use_scratch_dir(None)


def test_creating_a_lab_deletes_nothing_and_sets_no_environment(tmp_path) -> None:
    Lab("kept", root=tmp_path).scratch.joinpath("notes.txt").write_text("mine")
    environment = dict(os.environ)
    lab = Lab("kept", root=tmp_path)
    assert (lab.scratch / "notes.txt").read_text() == "mine"
    assert dict(os.environ) == environment


def test_fresh_empties_the_scratch_folder(tmp_path, monkeypatch) -> None:
    prepared: list[str] = []
    monkeypatch.setattr(lab_module, "prepare_database", prepared.append)
    old = Lab("again", root=tmp_path, sqlite=True)
    (old.scratch / "crash-markers").mkdir()
    (old.scratch / "step-executions.log").write_text("wf 2 1 0.0\n")
    lab = Lab.fresh("again", root=tmp_path, sqlite=True)
    assert list(lab.scratch.iterdir()) == []
    assert prepared == [lab.database_url]  # an empty database with my_queue, for servers


def test_only_the_lab_that_launched_dbos_here_sets_where_its_steps_log(tmp_path, fake_dbos) -> None:
    before = config.scratch_dir()
    first = Lab("first", root=tmp_path)
    asyncio.run(first.launch_dbos())
    assert config.scratch_dir() == first.scratch and first.owns_dbos
    second = Lab("second", root=tmp_path)  # a second Lab in the same kernel
    assert config.scratch_dir() == first.scratch
    second.close()  # closes nothing of the first's
    assert fake_dbos.destroyed == 0 and config.scratch_dir() == first.scratch
    asyncio.run(second.launch_dbos())  # takes DBOS over: the first one's is shut down
    assert fake_dbos.destroyed == 1 and config.scratch_dir() == second.scratch
    first.close()  # no longer the owner: leaves the second's DBOS alone
    assert fake_dbos.destroyed == 1 and second.owns_dbos and not first.owns_dbos
    second.close()
    assert fake_dbos.destroyed == 2 and config.scratch_dir() == before


def test_reconnect_closes_the_replaced_client(tmp_path, clients) -> None:
    lab = Lab("reconnect", root=tmp_path)
    old = lab.client
    new = lab.reconnect()
    assert new is lab.client is clients[1] and old is clients[0]
    assert (old.destroyed, new.destroyed) == (1, 0)


def test_reconnect_does_not_wait_long_for_a_client_that_hangs_on_close(
    tmp_path, clients, monkeypatch
) -> None:
    monkeypatch.setattr(lab_module, "CLIENT_CLOSE_TIMEOUT_SEC", 0.2)
    lab = Lab("hung", root=tmp_path)
    lab._client = hung = FakeClient(hang=True)  # as after a database outage
    started = time.monotonic()
    fresh = lab.reconnect()
    assert time.monotonic() - started < 5 and fresh is clients[0]
    assert hung.destroyed == 0  # still closing, on its own thread
    hung.release.set()


def test_close_attempts_every_part_and_raises_the_first_error(tmp_path, clients, fake_dbos) -> None:
    lab = Lab("close", root=tmp_path)
    client = lab.client
    asyncio.run(lab.launch_dbos())

    def servers_fail_to_stop() -> None:
        raise RuntimeError("first")

    lab._stop_processes = servers_fail_to_stop
    with pytest.raises(RuntimeError, match="first"):
        lab.close()
    assert client.destroyed == 1 and lab._client is None
    assert fake_dbos.destroyed == 1 and not lab.owns_dbos


def test_enqueue_steps_async_lets_the_event_loop_run_while_it_waits(tmp_path) -> None:
    lab = Lab("async", root=tmp_path)

    class AsyncClient:
        async def enqueue_async(self, *_args, **_kwargs) -> SimpleNamespace:
            return SimpleNamespace(workflow_id="wf")

    lab._client = AsyncClient()

    async def steps_run_meanwhile() -> None:  # runs only if the wait awaits
        for step in (2, 3, 4):
            app.record_execution("wf", step, lab.scratch)
            await asyncio.sleep(0)

    async def scenario() -> str:
        waiting = asyncio.create_task(lab.enqueue_steps_async(5, wait_steps=3, timeout=2))
        await steps_run_meanwhile()
        return (await waiting).workflow_id

    assert asyncio.run(scenario()) == "wf"


def test_wait_steps_async_times_out_naming_what_it_waited_for(tmp_path) -> None:
    lab = Lab("timeout", root=tmp_path)
    with pytest.raises(WaitTimeout, match="2 steps of workflow wf"):
        asyncio.run(lab.wait_steps_async("wf", 2, timeout=0.1))
