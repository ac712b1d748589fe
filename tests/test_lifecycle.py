"""StopRequest: the first reason to stop wins, and a signal can never deadlock the process."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from fiblab.lifecycle import SIGNAL_CHECK_SEC, DatabaseFile, StopRequest

pytestmark = pytest.mark.unit


def test_the_first_reason_wins_and_later_ones_are_logged() -> None:
    said: list[str] = []
    stop = StopRequest(said.append)
    assert stop.wait(0.01) is False
    stop.request("parent pid 1 is gone", graceful=False)
    stop.request("SIGTERM")
    assert stop.wait(0) is True
    assert (stop.reason, stop.graceful) == ("parent pid 1 is gone", False)
    assert said == ["SIGTERM while already stopping (parent pid 1 is gone): ignored"]


def test_a_signal_while_the_waiter_holds_the_events_lock_does_not_deadlock() -> None:
    """A handler runs in the main thread between two bytecodes, possibly inside
    ``Event.wait`` with the event's lock held; ``Event.set`` there would wait for that
    same lock forever."""
    stop = StopRequest(print)

    def signal_arrives_inside_event_wait() -> None:
        with stop.event._cond:  # what the main thread holds for a moment in Event.wait
            stop.on_signal(signal.SIGTERM, None)

    handler = threading.Thread(target=signal_arrives_inside_event_wait, daemon=True)
    handler.start()
    handler.join(5)
    assert not handler.is_alive(), "the signal handler blocked on the event's lock"
    started = time.monotonic()
    assert stop.wait(5) is True
    assert time.monotonic() - started < 1
    assert (stop.reason, stop.graceful, stop.exit_code) == ("SIGTERM", True, 0)


# A waiting thread is woken by a signal or a request, not by its next timed look
# (SIGNAL_CHECK_SEC, a safety net): well under that after the event.
PROMPT_SEC = SIGNAL_CHECK_SEC / 2


def test_a_signal_noted_during_a_wait_ends_it_promptly() -> None:
    stop = StopRequest(print)
    threading.Timer(0.2, stop.on_signal, (signal.SIGINT, None)).start()
    started = time.monotonic()
    assert stop.wait(10) is True
    assert time.monotonic() - started < 0.2 + PROMPT_SEC
    assert stop.reason == "SIGINT"


def test_a_request_from_another_thread_ends_a_wait_promptly() -> None:
    stop = StopRequest(print)
    threading.Timer(0.2, stop.request, ("parent pid 1 is gone",), {"graceful": False}).start()
    started = time.monotonic()
    assert stop.wait() is True
    assert time.monotonic() - started < 0.2 + PROMPT_SEC
    assert (stop.reason, stop.graceful) == ("parent pid 1 is gone", False)


def test_a_real_signal_ends_the_main_threads_wait_promptly() -> None:
    stop = StopRequest(print)
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    wakeup_fd = signal.set_wakeup_fd(-1)
    stop.install_signal_handlers()
    try:
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
        started = time.monotonic()
        assert stop.wait(10) is True
        assert time.monotonic() - started < 0.2 + PROMPT_SEC
        assert stop.reason == "SIGTERM"
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
        signal.set_wakeup_fd(wakeup_fd)


def test_a_database_file_not_created_yet_is_not_gone(tmp_path) -> None:
    path = tmp_path / "fresh" / "db.sqlite"
    database = DatabaseFile(path)
    assert not database.gone()  # not there yet: a server still launching
    assert not database.gone()
    path.parent.mkdir()
    path.write_bytes(b"")  # DBOS.launch() created it
    assert not database.gone()
    assert not database.gone()
    path.unlink()
    assert database.gone()  # seen, then deleted


def test_a_replaced_database_file_is_gone(tmp_path) -> None:
    path = tmp_path / "db.sqlite"
    path.write_bytes(b"old")
    database = DatabaseFile(path)
    assert not database.gone()
    replacement = tmp_path / "new.sqlite"
    replacement.write_bytes(b"new")
    replacement.replace(path)  # same name, another file
    assert database.gone()
