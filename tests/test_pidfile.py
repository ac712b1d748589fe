"""PidFile: one format, written atomically, read back, and a record never matches a reused pid."""

from __future__ import annotations

import json
import os

import psutil
import pytest

from fiblab.pidfile import CREATE_TIME_TOLERANCE_SEC, PidFile, PidRecord, pid_gone

pytestmark = pytest.mark.unit  # reads this process's own pid: no process started


def test_write_then_read_gives_this_process_back(tmp_path) -> None:
    record = PidFile(tmp_path / "pids" / "me.json").write(os.getpid())
    assert record == PidFile(tmp_path / "pids" / "me.json").read()
    assert record.create_time == psutil.Process().create_time()
    assert record.process() is not None and record.process().pid == os.getpid()
    assert json.loads((tmp_path / "pids" / "me.json").read_text()) == {
        "pid": os.getpid(),
        "create_time": record.create_time,
    }


def test_a_write_leaves_no_temporary_file_behind(tmp_path) -> None:
    pid_file = PidFile(tmp_path / "me.json")
    pid_file.write(os.getpid())
    pid_file.write(os.getpid())  # replaced, not appended to
    assert [p.name for p in tmp_path.iterdir()] == ["me.json"]


def test_a_bare_pid_is_read_without_a_start_time(tmp_path) -> None:
    (tmp_path / "worker.pid").write_text(f"{os.getpid()}\n")
    record = PidFile(tmp_path / "worker.pid").read()
    assert record == PidRecord(os.getpid(), None)
    assert record.process() is not None  # nothing to compare: taken as it is


@pytest.mark.parametrize("text", ["", "{", '{"create_time": 1.0}', "not a pid", '{"pid": "x"}'])
def test_a_missing_or_broken_file_reads_as_none(tmp_path, text: str) -> None:
    assert PidFile(tmp_path / "none.json").read() is None
    (tmp_path / "broken.json").write_text(text)
    assert PidFile(tmp_path / "broken.json").read() is None


def test_a_record_with_another_start_time_is_a_reused_pid(tmp_path) -> None:
    started = psutil.Process().create_time()
    assert PidRecord(os.getpid(), started + CREATE_TIME_TOLERANCE_SEC / 2).process() is not None
    assert PidRecord(os.getpid(), started - 1.0).process() is None
    assert not PidRecord(os.getpid(), started + 1.0).started_at(started)


def test_remove_only_removes_the_record_of_the_given_pid(tmp_path) -> None:
    pid_file = PidFile(tmp_path / "me.json")
    pid_file.write(os.getpid())
    pid_file.remove(os.getpid() + 1)
    assert pid_file.read() is not None
    pid_file.remove(os.getpid())
    assert pid_file.read() is None
    pid_file.remove()  # nothing there: no error


def test_this_process_is_not_gone() -> None:
    assert not pid_gone(os.getpid())
