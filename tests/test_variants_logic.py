"""The variants' helpers that need no server: run counting, reading stored bytes, the
simulated network's delays (no process, no database)."""

from __future__ import annotations

import asyncio

import pytest

from fiblab.steplog import note_run, runs_started
from fiblab.stored import printable_strings

pytestmark = pytest.mark.unit


def test_runs_are_counted_per_workflow(tmp_path) -> None:
    assert [note_run("a", tmp_path), note_run("b", tmp_path), note_run("a", tmp_path)] == [0, 0, 1]
    assert runs_started("a", tmp_path) == 2 and runs_started("c", tmp_path) == 0


def test_printable_strings_finds_the_words() -> None:
    assert printable_strings(b"\x80\x04\x8c\x0chunter2-demo\x94ab") == ["hunter2-demo"]


def test_the_network_of_a_process_comes_from_its_environment(monkeypatch) -> None:
    from fiblab.variants.completion_order import NETWORK_ENV, network_wait

    async def timed(position: int) -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await network_wait(position)
        return loop.time() - start

    monkeypatch.setenv(NETWORK_ENV, "0.0, 0.2")
    assert asyncio.run(timed(1)) >= 0.2
    assert asyncio.run(timed(5)) < 0.1  # past the list: no wait
    monkeypatch.delenv(NETWORK_ENV)
    assert asyncio.run(timed(0)) < 0.1
