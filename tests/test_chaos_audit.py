"""The chaos run's bookkeeping, on stand-in handles and servers: what counts as lost,
wrong or duplicated, and that its servers stop however the run ends."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from fiblab import chaos
from fiblab import client as fc
from fiblab.chaos import ChaosReport, audit, chaos_schedule, run_chaos, with_outage

pytestmark = pytest.mark.unit

N = 5  # fib(5) = 5


class Handle:
    """A finished workflow: its status and result, or an error reading them."""

    def __init__(self, workflow_id: str, status: str, result=None, error=None) -> None:
        self.workflow_id, self.status, self.result, self.error = workflow_id, status, result, error

    def get_status(self) -> SimpleNamespace:
        if self.error:
            raise self.error
        return SimpleNamespace(status=self.status)

    def get_result(self):
        return self.result


def fake_lab(executions: list[dict]) -> SimpleNamespace:
    return SimpleNamespace(client=None, executions=lambda: executions)


@pytest.fixture(autouse=True)
def completed_steps(monkeypatch) -> list[dict]:
    """The step rows DBOS "recorded" (empty unless a test adds some)."""
    rows: list[dict] = []
    monkeypatch.setattr(fc, "step_rows", lambda _client, _ids: rows)
    return rows


def test_only_a_workflow_that_did_not_succeed_is_lost() -> None:
    handles = [
        Handle("good", "SUCCESS", (N, 5)),
        Handle("wrong", "SUCCESS", (N, 8)),
        Handle("failed", "ERROR"),
        Handle("cancelled", "CANCELLED"),
    ]
    report = ChaosReport(seed=0, workflows=len(handles))
    audit(fake_lab([]), handles, N, report, timeout=1)
    assert report.lost == ["failed", "cancelled"] and report.wrong == ["wrong"]


def test_an_error_of_the_run_itself_is_raised_not_counted_as_lost() -> None:
    handles = [Handle("a", "SUCCESS", (N, 5)), Handle("b", "", error=ConnectionError("db down"))]
    report = ChaosReport(seed=0, workflows=2)
    with pytest.raises(ConnectionError, match="db down"):
        audit(fake_lab([]), handles, N, report, timeout=1)
    assert report.lost == []


def test_a_workflow_still_pending_at_the_timeout_is_lost(monkeypatch) -> None:
    monkeypatch.setattr(chaos, "LATE_LOOK_SEC", 0.05)
    report = ChaosReport(seed=0, workflows=1)
    audit(fake_lab([]), [Handle("stuck", "PENDING")], N, report, timeout=0.05)
    assert report.lost == ["stuck"]


def test_a_step_run_after_its_recorded_completion_is_duplicated(completed_steps) -> None:
    completed_steps.append({"workflow_id": "w", "step_id": 1, "end": 100.0})  # index 2
    runs = [
        {"workflow_id": "w", "step": 2, "at": 99.0},
        {"workflow_id": "w", "step": 2, "at": 101.0},  # after completion: a violation
        {"workflow_id": "w", "step": 3, "at": 101.5},
        {"workflow_id": "w", "step": 3, "at": 102.0},  # never completed: re-run in flight
    ]
    report = ChaosReport(seed=0, workflows=1)
    audit(fake_lab(runs), [Handle("w", "SUCCESS", (N, 5))], N, report, timeout=1)
    assert report.duplicated == [("w", 2)] and report.rerun_in_flight == 1


def test_the_servers_stop_when_the_run_fails() -> None:
    group = SimpleNamespace(servers=[], stopped=False)
    group.stop = lambda: setattr(group, "stopped", True)

    def enqueue(*_args, **_kwargs):
        raise ConnectionError("db down")

    lab = SimpleNamespace(
        start_servers=lambda _ids, **_options: group, client=SimpleNamespace(enqueue=enqueue)
    )
    with pytest.raises(ConnectionError):
        run_chaos(lab, workflows=1, servers=1, kills=0, seed=1)
    assert group.stopped


class Server:
    """A stand-in server that notes its kills and starts in a shared journal."""

    alive = True

    def __init__(self, name: str, journal: list[str]) -> None:
        self.name, self.journal = name, journal

    def kill(self) -> None:
        self.journal.append(f"kill {self.name}")

    def start(self):
        self.journal.append(f"start {self.name}")
        return self

    def wait_ready(self, _timeout: float) -> None:
        self.journal.append(f"ready {self.name}")


class Database:
    """A stand-in database that notes its halts and resumes in the same journal."""

    def __init__(self, journal: list[str]) -> None:
        self.journal = journal

    def halt(self) -> None:
        self.journal.append("halt")

    def resume(self) -> None:
        self.journal.append("resume")


def chaos_on_stand_ins(monkeypatch, seed: int, **options) -> tuple[ChaosReport, list[str]]:
    """run_chaos on stand-in servers and database, without sleeping; its report and the
    journal of what was done to them."""
    monkeypatch.setattr(chaos.time, "sleep", lambda _seconds: None)
    monkeypatch.setattr(chaos, "audit", lambda *_args: None)
    journal: list[str] = []
    group = SimpleNamespace(servers=[Server(f"s{i}", journal) for i in range(3)], stop=lambda: None)
    lab = SimpleNamespace(
        start_servers=lambda _ids, **_options: group,
        client=SimpleNamespace(enqueue=lambda *a, **k: None),
    )
    report = run_chaos(lab, workflows=0, seed=seed, database=Database(journal), **options)
    return report, journal


def test_a_kill_schedule_is_replayed_from_its_seed(monkeypatch) -> None:
    def kills(seed: int) -> list[str]:
        return [name for _at, name in chaos_on_stand_ins(monkeypatch, seed, kills=8)[0].kills]

    assert kills(7) == kills(7) != kills(8)


def test_a_kill_only_schedule_is_the_one_drawn_before_outages_existed() -> None:
    chooser = random.Random(2026)
    before = [(chooser.uniform(0.5, 1.0), chooser.choice(range(3))) for _ in range(6)]
    schedule = chaos_schedule(2026, kills=6, outages=0, servers=3)
    assert [(event.after, event.victim) for event in schedule] == before


def test_kills_and_outages_interleave_and_replay_from_the_seed() -> None:
    schedules = {seed: chaos_schedule(seed, kills=6, outages=2, servers=3) for seed in range(20)}
    assert chaos_schedule(3, kills=6, outages=2, servers=3) == schedules[3]
    assert all(sum(e.outage for e in events) == 2 for events in schedules.values())
    assert len({tuple(e.outage for e in events) for events in schedules.values()}) > 1
    assert any(not events[0].outage and not events[-1].outage for events in schedules.values())


def test_during_an_outage_a_server_is_killed_and_restarted_then_ready_after_resume(
    monkeypatch,
) -> None:
    report, journal = chaos_on_stand_ins(monkeypatch, 5, kills=2, outages=1, outage_seconds=3.0)
    at = journal.index("halt")
    victim = journal[at + 1].removeprefix("kill ")
    assert journal[at : at + 5] == ["halt", f"kill {victim}", f"start {victim}", "resume",
                                    f"ready {victim}"]  # fmt: skip
    assert len(report.kills) == 3 and [o[2] for o in report.outages] == [victim]
    assert report.servers_alive == 3


def test_outages_without_a_database_to_halt_are_refused() -> None:
    with pytest.raises(ValueError, match="database"):
        run_chaos(SimpleNamespace(), workflows=0, outages=1, seed=1)


def test_with_outage_resumes_the_database_even_when_the_callback_fails(monkeypatch) -> None:
    monkeypatch.setattr(chaos.time, "sleep", lambda _seconds: None)
    database = Database([])

    def fail() -> None:
        raise RuntimeError("kill failed")

    with pytest.raises(RuntimeError, match="kill failed"):
        with_outage(database, 2.0, during=fail)
    assert database.journal == ["halt", "resume"]


def test_an_outage_is_marked_on_a_timeline_by_its_start_and_end(monkeypatch) -> None:
    now = [100.0]  # a clock that only sleeping advances
    monkeypatch.setattr(chaos.time, "time", lambda: now[0])
    monkeypatch.setattr(chaos.time, "sleep", lambda seconds: now.__setitem__(0, now[0] + seconds))
    outage = with_outage(Database([]), 4.0, during=lambda: now.__setitem__(0, now[0] + 1.5))
    assert outage.seconds == 4.0  # the callback's time counts in the outage
    assert outage.resumed_at == 104.0  # asked for once the outage's length had passed
    assert outage.markers() == [(100.0, "database halted"), (104.0, "database back")]
