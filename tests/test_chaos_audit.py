"""The chaos run's bookkeeping, on stand-in handles and servers: what counts as lost,
wrong or duplicated, and that its servers stop however the run ends."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from fiblab import chaos
from fiblab import client as fc
from fiblab.chaos import ChaosReport, audit, run_chaos

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

    lab = SimpleNamespace(start_servers=lambda _ids: group, client=SimpleNamespace(enqueue=enqueue))
    with pytest.raises(ConnectionError):
        run_chaos(lab, workflows=1, servers=1, kills=0, seed=1)
    assert group.stopped


def test_a_kill_schedule_is_replayed_from_its_seed(monkeypatch) -> None:
    monkeypatch.setattr(chaos.time, "sleep", lambda _seconds: None)
    monkeypatch.setattr(chaos, "audit", lambda *_args: None)

    class Server:
        def __init__(self, name: str) -> None:
            self.name = name

        def kill(self) -> None: ...

        def start(self):
            return SimpleNamespace(wait_ready=lambda: None)

    def schedule(seed: int) -> list[str]:
        group = SimpleNamespace(servers=[Server(f"s{i}") for i in range(3)], stop=lambda: None)
        lab = SimpleNamespace(
            start_servers=lambda _ids: group, client=SimpleNamespace(enqueue=lambda *a, **k: None)
        )
        return [name for _at, name in run_chaos(lab, workflows=0, kills=8, seed=seed).kills]

    assert schedule(7) == schedule(7) != schedule(8)
