"""Chaos run: many workflows, servers SIGKILLed at random and restarted, then an audit.

``run_chaos(lab, …)`` enqueues step-per-index workflows onto several servers, kills a
randomly chosen server every 0.5-1 s, a fixed number of times (the schedule comes from a
seeded ``random.Random`` and is returned, so a failure can be replayed), restarts each killed
server at once with the same executor id (what a supervisor does), waits for every
workflow, and audits what DBOS recorded against the step-execution side channel:

* lost: a workflow that did not end SUCCESS (its final status, or the one it still had
  at the timeout). An error of the run itself (a database or harness error) is no
  verdict on a workflow: it ends the run instead;
* wrong: a SUCCESS whose result is not ``(n, fib(n))``;
* duplicated: a step that ran again after DBOS had recorded it as completed (a
  durable-execution violation). A step re-run because its process died *while* it ran
  is allowed (steps are at-least-once) and counted separately.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from dbos import WorkflowHandle

from . import client as fc
from .fib import fib_iterative
from .lab import Lab
from .waiting import WaitTimeout, wait_for
from .worker_thread import in_worker_thread

#: Clock slack between a step's start (side channel) and its recorded completion, seconds.
CLOCK_SLACK_SEC = 0.002
#: The least time the audit gives a workflow that is still running once the run's timeout
#: has passed (the later ones of a long list get a look of their own), seconds.
LATE_LOOK_SEC = 1.0


@dataclass
class ChaosReport:
    """What happened, and what the audit found."""

    seed: int
    workflows: int
    kills: list[tuple[float, str]] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    duplicated: list[tuple[str, int]] = field(default_factory=list)
    rerun_in_flight: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.wrong or self.duplicated)

    def summary(self) -> str:
        return (
            f"chaos seed={self.seed}: {self.workflows} workflows, {len(self.kills)} kills in "
            f"{self.seconds:.1f} s; lost={len(self.lost)} duplicated={len(self.duplicated)} "
            f"wrong={len(self.wrong)}; in-flight steps re-run={self.rerun_in_flight}"
        )


def run_chaos(
    lab: Lab,
    workflows: int = 200,
    servers: int = 3,
    kills: int = 6,
    n: int = 8,
    step_seconds: float = 0.01,
    seed: int | None = None,
    timeout: float = 300.0,
) -> ChaosReport:
    """Run the chaos scenario on ``lab``'s database; see the module docstring."""
    seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    chooser = random.Random(seed)
    report = ChaosReport(seed=seed, workflows=workflows)
    group = lab.start_servers([f"chaos-{i + 1}" for i in range(servers)])
    try:
        options = fc.enqueue_options("fibonacci_steps_workflow")
        started = time.monotonic()
        handles = [
            in_worker_thread(lab.client.enqueue, options, n, step_seconds=step_seconds)
            for _ in range(workflows)
        ]
        for _ in range(kills):
            time.sleep(chooser.uniform(0.5, 1.0))
            victim = chooser.choice(group.servers)
            report.kills.append((round(time.monotonic() - started, 3), victim.name))
            victim.kill()
            victim.start().wait_ready()  # the supervisor's job: same executor id, at once
        audit(lab, handles, n, report, timeout)
        report.seconds = time.monotonic() - started
    finally:
        group.stop()
    return report


def audit(lab: Lab, handles: list, n: int, report: ChaosReport, timeout: float) -> None:
    """Wait for every workflow, then fill in lost / wrong / duplicated."""
    expected = (n, fib_iterative(n))
    deadline = time.monotonic() + timeout
    for handle in handles:
        wait = max(deadline - time.monotonic(), LATE_LOOK_SEC)
        if in_worker_thread(final_status, handle, wait) != "SUCCESS":
            report.lost.append(handle.workflow_id)
        elif tuple(in_worker_thread(handle.get_result)) != expected:
            report.wrong.append(handle.workflow_id)
    ids = [h.workflow_id for h in handles]
    completed_at = {
        (row["workflow_id"], row["step_id"]): row["end"]
        for row in fc.step_rows(lab.client, ids)
        if row["end"] is not None
    }
    runs: dict[tuple[str, int], list[float]] = defaultdict(list)
    for execution in lab.executions():
        runs[(execution["workflow_id"], execution["step"])].append(execution["at"])
    for (workflow_id, index), starts in runs.items():
        done = completed_at.get((workflow_id, index - 1))  # step index i is function id i-1
        late = [at for at in starts if done is not None and at > done + CLOCK_SLACK_SEC]
        if late:
            report.duplicated.append((workflow_id, index))
        report.rerun_in_flight += len(starts) - 1 - len(late)


def final_status(handle: WorkflowHandle[Any], timeout: float) -> str:
    """The workflow's status once it has finished, or the one it still has after
    ``timeout`` seconds; errors reading it are raised, not taken for a status."""

    def finished() -> str | None:
        status = handle.get_status().status
        return status if status in fc.FINISHED_STATUSES else None

    try:
        return wait_for(finished, timeout, f"workflow {handle.workflow_id} to finish")
    except WaitTimeout:
        return handle.get_status().status
