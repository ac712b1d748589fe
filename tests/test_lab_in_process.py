"""DBOS launched in this process by a Lab (what a notebook kernel does): the steps that run
here are logged in that Lab's scratch folder, whatever other Labs the process creates."""

from __future__ import annotations

import asyncio

import pytest
from dbos import DBOS

from fiblab import app, config
from fiblab.lab import Lab

pytestmark = pytest.mark.integration


def test_in_process_steps_log_to_the_lab_that_launched_dbos(lab, tmp_path) -> None:
    before = Lab("before", root=tmp_path)

    async def kernel() -> tuple[int, int]:
        await lab.launch_dbos()
        Lab("after", root=tmp_path)  # created while DBOS runs: must not redirect the log
        workflow = app.fibonacci_steps_workflow
        return await asyncio.to_thread(lambda: DBOS.start_workflow(workflow, 6).get_result())

    try:
        assert asyncio.run(kernel()) == (6, 8)
    finally:
        lab.close()
    assert [e["step"] for e in lab.executions()] == [2, 3, 4, 5, 6]
    assert before.executions() == [] == Lab("after", root=tmp_path).executions()
    assert config.scratch_dir() != lab.scratch  # closing the lab undid the setting
