"""Chaos run: many workflows, servers SIGKILLed at random and restarted, database
outages, then an audit.

``run_chaos(lab, …)`` enqueues step-per-index workflows onto several servers, kills a
randomly chosen server every 0.5-1 s, a fixed number of times, restarts each killed server
at once with the same executor id (what a supervisor does), waits for every workflow, and
audits what DBOS recorded against the step-execution side channel. With ``outages=K`` and
a ``database`` it may halt (a :class:`Haltable`, e.g. ``fiblab.localpg.LocalPostgres``),
K of those events are outages instead: the database is halted, one server is SIGKILLed
and restarted while it is down, and the database is resumed after ``outage_seconds``
(:func:`with_outage`). The schedule comes from a seeded ``random.Random``
(:func:`chaos_schedule`) and is returned, so a failure can be replayed. The audit:

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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

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
#: How long a server restarted during an outage keeps trying to reach the database beyond
#: the outage's own length (its ``--database-wait``; the default 30 s would make a server
#: restarted early in a longer outage give up), seconds.
OUTAGE_DATABASE_MARGIN_SEC = 60.0


class Haltable(Protocol):
    """A database that can go away and come back with its data (``LocalPostgres``)."""

    def halt(self) -> None: ...

    def resume(self) -> None: ...


@dataclass(frozen=True)
class Outage:
    """When a database was halted (``start``: the halt was asked for) and accepting
    connections again (``end``: the resume had returned), in epoch seconds, as step rows'
    times are (for a timeline mark); ``resumed_at``, when the resume was asked for: from the
    halt's return until then the database was certainly down (it may answer a little before
    ``end``, while the resume still waits to see it ready)."""

    start: float
    end: float
    resumed_at: float

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def markers(self) -> list[tuple[float, str]]:
        """Its start and end as ``fiblab.plots.plot_timeline`` markers."""
        return [(self.start, "database halted"), (self.end, "database back")]


def with_outage(
    database: Haltable, seconds: float, during: Callable[[], object] | None = None
) -> Outage:
    """Halt ``database``, call ``during()`` while it is down (e.g. kill and restart a
    server), resume it once ``seconds`` have passed since the halt began, and return when
    it was down. The database is resumed even if ``during`` raises."""
    start = time.time()
    database.halt()
    try:
        if during is not None:
            during()
        time.sleep(max(0.0, start + seconds - time.time()))  # the outage's length, on purpose
    finally:
        resumed_at = time.time()
        database.resume()
    return Outage(start, time.time(), resumed_at)


@dataclass(frozen=True)
class ChaosEvent:
    """One step of the schedule: wait ``after`` seconds, then kill server ``victim``
    (its index), during an outage if ``outage``."""

    after: float
    victim: int
    outage: bool = False


def chaos_schedule(seed: int, kills: int, outages: int, servers: int) -> list[ChaosEvent]:
    """The kills and outages of a run, interleaved at random, from ``seed`` alone (a
    kill-only schedule is the one fiblab drew before outages existed)."""
    chooser = random.Random(seed)
    outage_at = set(chooser.sample(range(kills + outages), outages))
    return [
        ChaosEvent(chooser.uniform(0.5, 1.0), chooser.randrange(servers), i in outage_at)
        for i in range(kills + outages)
    ]


@dataclass
class ChaosReport:
    """What happened, and what the audit found."""

    seed: int
    workflows: int
    kills: list[tuple[float, str]] = field(default_factory=list)
    #: (seconds since start halted, seconds since start resumed, server killed meanwhile)
    outages: list[tuple[float, float, str]] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    duplicated: list[tuple[str, int]] = field(default_factory=list)
    rerun_in_flight: int = 0
    seconds: float = 0.0
    #: when the run's clock (the times in ``kills`` and ``outages``) started, epoch seconds
    started_at: float = 0.0
    #: how many servers were alive once every workflow had been audited
    servers_alive: int = 0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.wrong or self.duplicated)

    def since_start(self, epoch: float) -> float:
        """An epoch time as the report gives it: seconds since :attr:`started_at`."""
        return round(epoch - self.started_at, 3)

    def summary(self) -> str:
        down = sum(end - start for start, end, _victim in self.outages)
        outages = f" ({len(self.outages)} of them during as many outages, {down:.1f} s down)"
        return (
            f"chaos seed={self.seed}: {self.workflows} workflows, {len(self.kills)} kills"
            f"{outages if self.outages else ''} in {self.seconds:.1f} s; "
            f"lost={len(self.lost)} duplicated={len(self.duplicated)} "
            f"wrong={len(self.wrong)}; in-flight steps re-run={self.rerun_in_flight}; "
            f"servers alive at the end={self.servers_alive}"
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
    outages: int = 0,
    outage_seconds: float = 4.0,
    database: Haltable | None = None,
) -> ChaosReport:
    """Run the chaos scenario on ``lab``'s database (``database`` is that database, to
    halt for ``outages``); see the module docstring."""
    if outages and database is None:
        raise ValueError("outages need the database to halt (database=…)")
    seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    report = ChaosReport(seed=seed, workflows=workflows)
    options: dict[str, Any] = {}
    if outages:  # a server restarted during an outage must outwait it
        wait = outage_seconds + OUTAGE_DATABASE_MARGIN_SEC
        options["extra_args"] = ["--database-wait", f"{wait:g}"]
    group = lab.start_servers([f"chaos-{i + 1}" for i in range(servers)], **options)
    try:
        enqueue = fc.enqueue_options("fibonacci_steps_workflow")
        started = time.monotonic()
        report.started_at = time.time()  # the report's times: epoch seconds from here
        handles = [
            in_worker_thread(lab.client.enqueue, enqueue, n, step_seconds=step_seconds)
            for _ in range(workflows)
        ]
        for event in chaos_schedule(seed, kills, outages, servers):
            time.sleep(event.after)
            victim = group.servers[event.victim]

            def kill_and_restart(victim=victim) -> None:  # the supervisor's job, at once
                report.kills.append((report.since_start(time.time()), victim.name))
                victim.kill()
                victim.start()

            if event.outage:
                outage = with_outage(database, outage_seconds, during=kill_and_restart)
                window = (report.since_start(outage.start), report.since_start(outage.end))
                report.outages.append((*window, victim.name))
            else:
                kill_and_restart()
            victim.wait_ready(outage_seconds + OUTAGE_DATABASE_MARGIN_SEC)
        audit(lab, handles, n, report, timeout)
        report.seconds = time.monotonic() - started
        report.servers_alive = sum(server.alive for server in group.servers)
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
