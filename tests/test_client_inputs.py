"""What the client helpers refuse before anything is enqueued, on a stand-in client
that records every enqueue (no process, no database)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from fiblab import client as fc
from fiblab import config

pytestmark = pytest.mark.unit


class RecordingClient:
    """Knows one queue, ``my_queue``; records what is enqueued."""

    def __init__(self) -> None:
        self.enqueued: list[tuple[dict, int]] = []

    def retrieve_queue(self, name: str) -> object | None:
        return SimpleNamespace(name=name) if name == config.QUEUE_NAME else None

    def list_queues(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(name=config.QUEUE_NAME), SimpleNamespace(name="_dbos_internal")]

    def enqueue(self, options: dict, n: int) -> str:
        self.enqueued.append((options, n))
        return f"handle-{n}"

    async def enqueue_async(self, options: dict, n: int) -> str:
        return self.enqueue(options, n)


@pytest.fixture
def client() -> RecordingClient:
    return RecordingClient()


def test_good_input_is_enqueued_in_order(client) -> None:
    assert fc.enqueue_many(client, [5, 3]) == ["handle-5", "handle-3"]
    assert [n for _options, n in client.enqueued] == [5, 3]
    options = client.enqueued[0][0]
    assert (options["queue_name"], options["workflow_name"]) == ("my_queue", "fibonacci_workflow")
    assert options["app_version"] == config.APP_VERSION


@pytest.mark.parametrize("bad", [-1, 2.5, "10", None, True, 10**6])
def test_bad_input_is_refused_before_anything_is_enqueued(client, bad) -> None:
    with pytest.raises((TypeError, ValueError)) as error:
        fc.enqueue_many(client, [5, bad])
    assert repr(bad) in str(error.value) or str(bad) in str(error.value)
    assert client.enqueued == []


def test_not_a_list_is_refused(client) -> None:
    with pytest.raises(TypeError, match="list of ints"):
        fc.enqueue_many(client, "123")
    assert client.enqueued == []


def test_enqueue_many_async_validates_first(client) -> None:
    with pytest.raises(ValueError, match="got -1"):
        asyncio.run(fc.enqueue_many_async(client, [3, -1]))
    assert client.enqueued == []


def test_a_wrong_workflow_name_is_refused_before_enqueue(client) -> None:
    with pytest.raises(ValueError) as error:
        fc.enqueue_many(client, [5], workflow_name="fibonaci_workflow")
    assert "'fibonaci_workflow'" in str(error.value) and "fibonacci_workflow" in str(error.value)
    assert client.enqueued == []


def test_the_steps_workflow_allows_a_larger_n(client) -> None:
    assert fc.check_inputs([500], fc.FIBONACCI_WORKFLOWS["fibonacci_steps_workflow"]) == [500]
    with pytest.raises(ValueError, match="0 to 35"):
        fc.enqueue_many(client, [500])
    fc.enqueue_many(client, [500], workflow_name="fibonacci_steps_workflow")
    assert client.enqueued[0][1] == 500
