"""Keep a fiblab worker running: restart it when it crashes, give up when it keeps crashing.

The original experiment's ``server3.py`` ran its worker under a parent loop that
restarted nothing: when either child died it terminated the other and exited 1.
:class:`Supervisor` is the loop that was missing:

* it restarts the **same** process handle, so the worker comes back with the same
  executor id, and DBOS recovers the workflows the crash interrupted;
* only a *crash* is restarted: an exit code other than 0, or death by a signal other
  than a request to stop (SIGTERM, SIGINT, SIGHUP, SIGPIPE), as systemd's
  ``Restart=on-failure`` counts it. A worker that was asked to stop stays stopped;
* a worker that crashes ``max_crashes`` times within ``window_sec`` seconds is not
  restarted again: the supervisor *gives up* with a message that says why and shows
  the worker's last log lines (a worker that cannot start, or that recovers a
  workflow that crashes it every time, would otherwise loop forever);
* it waits ``restart_delay`` seconds before a restart (as systemd's ``RestartSec``
  does), so a crash loop does not spin;
* a worker that does not print its ready line within ``ready_timeout`` is killed and
  counted as a crash;
* it only ever signals the process it started itself.

From a notebook: ``Supervisor(lab.server("worker")).start()``; a monitor thread does
the rest. From a shell: ``python -m fiblab.supervisor --executor-id worker …`` runs a
server (and, with ``--health-port``, a health process that follows it) until SIGTERM.
"""

from __future__ import annotations

import argparse
import atexit
import os
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import cli, lifecycle
from .protocol import SUPERVISOR_READY_PREFIX as READY_PREFIX
from .spawn import (
    READY_TIMEOUT_SEC,
    STOP_TIMEOUT_SEC,
    HealthProcess,
    ManagedProcess,
    ServerProcess,
)

#: Deaths that mean "someone asked it to stop", not a crash (systemd's clean signals).
CLEAN_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE)
POLL_INTERVAL_SEC = 0.05
RESTART_DELAY_SEC = 0.1

_active: weakref.WeakSet[Supervisor] = weakref.WeakSet()


class SupervisorGaveUp(RuntimeError):
    """The worker crashed too often, too fast; the supervisor stopped restarting it."""


@dataclass
class Event:
    """Something the supervisor saw or did, with the time (epoch seconds)."""

    at: float
    kind: str  # started, ready, crashed, exited, gave-up, stopped
    pid: int | None
    code: int | None = None
    note: str = ""

    def __str__(self) -> str:
        code = "" if self.code is None else f" code={self.code}"
        note = f" {self.note}" if self.note else ""
        clock = time.strftime("%H:%M:%S", time.localtime(self.at))
        return f"{clock} {self.kind} pid={self.pid}{code}{note}"


def is_crash(code: int) -> bool:
    """Whether an exit code means a crash (restart) rather than a requested stop."""
    return code != 0 and -code not in CLEAN_SIGNALS


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class Supervisor:
    """Run ``worker`` and restart it after crashes; see the module docstring.

    States: ``new`` → ``starting`` → ``running``; after a crash ``restarting`` (for
    ``restart_delay`` seconds) → ``starting`` → ``running`` again; finally ``gave-up``
    (too many fast crashes), ``exited`` (the worker stopped cleanly, not by us) or
    ``stopped`` (:meth:`stop`). Give it a worker handle that is not started yet.
    """

    def __init__(
        self,
        worker: ManagedProcess,
        *,
        max_crashes: int = 3,
        window_sec: float = 30.0,
        restart_delay: float = RESTART_DELAY_SEC,
        ready_timeout: float = READY_TIMEOUT_SEC,
        poll_interval: float = POLL_INTERVAL_SEC,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        if max_crashes < 1 or not window_sec > 0 or not ready_timeout > 0 or restart_delay < 0:
            raise ValueError(
                "max_crashes must be >= 1, window_sec and ready_timeout > 0, restart_delay >= 0"
            )
        self.worker = worker
        self.max_crashes = max_crashes
        self.window_sec = window_sec
        self.restart_delay = restart_delay
        self.ready_timeout = ready_timeout
        self.poll_interval = poll_interval
        self.on_event = on_event
        self.events: list[Event] = []
        self.state = "new"
        self.message = ""
        self.log_path = worker.scratch / "logs" / f"supervisor-{worker.name}.log"
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._finish = threading.Event()
        self._thread: threading.Thread | None = None
        self._started_at = 0.0
        self._restart_at = 0.0
        self._hung = ""  # why the monitor killed the worker, if it did

    # --- what the notebook calls ------------------------------------------------------

    def start(self, wait: bool = True, timeout: float | None = None) -> Supervisor:
        """Start the worker and the monitor thread; with ``wait``, until the worker is
        ready (raises :class:`SupervisorGaveUp` if it never gets there)."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("this supervisor was started already")
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._start_worker()
            self._thread = threading.Thread(
                target=self._monitor, name=f"supervisor-{self.worker.name}", daemon=True
            )
            self._thread.start()
            _active.add(self)
        if wait:
            self.wait_running(timeout=timeout)
        return self

    def wait_running(self, restarts: int = 0, timeout: float | None = None) -> Supervisor:
        """Block until the worker is ready after at least ``restarts`` restarts."""
        limit = self.ready_timeout * (restarts + 1) + 5 if timeout is None else timeout

        def running() -> bool:
            return (self.state == "running" and self.restarts >= restarts) or self.finished

        with self._changed:
            if not self._changed.wait_for(running, limit):
                raise TimeoutError(
                    f"{self.worker.name}: not running after {restarts} restart(s) within "
                    f"{limit:g} s (state {self.state})"
                )
        self.check()
        if self.state != "running":
            raise RuntimeError(f"{self.worker.name}: supervisor {self.state}: {self.message}")
        return self

    def wait_finished(self, timeout: float = 60.0) -> str:
        """Block until the supervisor has finished (gave up, worker exited, stopped)."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.finished, timeout):
                raise TimeoutError(f"{self.worker.name}: supervisor still {self.state}")
        return self.state

    def check(self) -> None:
        """Raise :class:`SupervisorGaveUp` (with the reason) if the supervisor gave up."""
        if self.state == "gave-up":
            raise SupervisorGaveUp(self.message)

    def kill_worker(self) -> int:
        """SIGKILL the current worker (a crash, for demonstrations); returns its pid."""
        with self._lock:
            process = self.worker.process
            if process is None or process.poll() is not None:
                raise RuntimeError(f"{self.worker.name} is not running")
            process.send_signal(signal.SIGKILL)  # our own child, not yet reaped: its pid
            return process.pid

    def stop(self, timeout: float = STOP_TIMEOUT_SEC) -> int | None:
        """Stop supervising, then stop the worker gracefully; returns its exit code."""
        with self._lock:
            self._finish.set()  # from here on, nothing is restarted
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        code = self.worker.stop(timeout) if self.worker.alive else self.worker.returncode
        with self._changed:
            if not self.finished:
                self._record("stopped", self.worker.pid, code, "stop requested")
                self.state = "stopped"
            self._changed.notify_all()
        _active.discard(self)
        return code

    # --- what it knows ----------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self.state in ("gave-up", "exited", "stopped")

    @property
    def pid(self) -> int | None:
        return self.worker.pid

    @property
    def crashes(self) -> list[Event]:
        return [event for event in self.events if event.kind == "crashed"]

    @property
    def restarts(self) -> int:
        return max(0, sum(event.kind == "started" for event in self.events) - 1)

    # --- the monitor thread -----------------------------------------------------------

    def _monitor(self) -> None:
        while not self._finish.wait(self.poll_interval):
            with self._lock:
                if self._finish.is_set():
                    return
                try:
                    self._look_at_worker()
                except Exception as error:  # e.g. the worker cannot even be spawned
                    self.message = f"supervisor of {self.worker.name} failed: {error!r}"
                    self._set_state("gave-up")  # before the event: listeners read it
                    self._record("gave-up", self.worker.pid, None, repr(error))
                if self.finished:
                    self._finish.set()
                    return

    def _look_at_worker(self) -> None:
        """One round of the monitor (holding the lock): notice ready, exit or a hang."""
        worker = self.worker
        if self.state == "restarting":
            if time.monotonic() >= self._restart_at:
                self._start_worker()
            return
        code = worker.returncode
        if code is None:
            if self.state == "starting":
                if worker.ready_marker is None or worker.ready_marker in worker.logs():
                    self._set_state("running", "ready")
                elif time.monotonic() - self._started_at > self.ready_timeout:
                    self._hung = f"not ready in {self.ready_timeout:g} s"
                    worker.process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
            return
        pid = worker.pid
        worker.wait()  # reaped already by returncode's poll; this forgets its pid file
        if not is_crash(code):
            self.message = f"{worker.name} ({pid}) stopped: {describe_exit(code)}; not restarted"
            self._set_state("exited")
            self._record("exited", pid, code, describe_exit(code))
            return
        hung, self._hung = self._hung, ""
        self._record("crashed", pid, code, describe_exit(code) + (f" ({hung})" if hung else ""))
        recent = [e for e in self.crashes if e.at >= time.time() - self.window_sec]
        if len(recent) >= self.max_crashes:
            self.message = self._give_up_message(recent)
            self._set_state("gave-up")
            self._record("gave-up", pid, code, f"{len(recent)} crashes in {self.window_sec:g} s")
            return
        self._restart_at = time.monotonic() + self.restart_delay
        self._set_state("restarting")

    def _start_worker(self) -> None:
        self.worker.start()
        self._started_at = time.monotonic()
        self._record("started", self.worker.pid, None, self._executor_note())
        self._set_state("starting")

    def _give_up_message(self, recent: Sequence[Event]) -> str:
        how = ", ".join(e.note for e in recent)
        return (
            f"supervisor gave up on {self.worker.name}: it crashed {len(recent)} times within "
            f"{self.window_sec:g} s ({how}), the limit is {self.max_crashes}. It is not "
            f"restarted again. A worker that cannot start (bad arguments, no database) or "
            f"that recovers a workflow which crashes it every time ends up here.\n"
            f"Last lines of its log ({self.worker.log_path}):\n{self.worker.tail(8)}"
        )

    def _executor_note(self) -> str:
        executor = getattr(self.worker, "executor_id", None)
        return f"executor_id={executor}" if executor else ""

    def _set_state(self, state: str, event: str | None = None) -> None:
        self.state = state
        if event:
            self._record(event, self.worker.pid)
        self._changed.notify_all()

    def _record(self, kind: str, pid: int | None, code: int | None = None, note: str = "") -> None:
        event = Event(time.time(), kind, pid, code, note)
        self.events.append(event)
        try:
            with open(self.log_path, "a") as log:
                log.write(f"{event}\n")
        except OSError:
            pass
        if self.on_event is not None:
            self.on_event(event)

    def __enter__(self) -> Supervisor:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (
            f"<Supervisor {self.worker.name} {self.state} pid={self.pid} "
            f"restarts={self.restarts} crashes={len(self.crashes)}>"
        )


def stop_all() -> None:
    """Stop every supervisor of this interpreter (first, so none restarts a worker that
    :func:`fiblab.spawn.stop_all` is stopping)."""
    for supervisor in list(_active):
        supervisor.stop(timeout=5.0)


atexit.register(stop_all)  # registered after spawn.stop_all, so it runs before it


# --- python -m fiblab.supervisor ---------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fiblab.supervisor",
        description="Run one fiblab server, restart it (same executor id) when it crashes, "
        "give up after too many fast crashes. Options not listed here go to the server.",
        epilog=f"Exit status: 0 when stopped (SIGTERM/SIGINT, its parent gone, or the "
        f"worker exited cleanly); {cli.EXIT_FAILED} when it gave up on a worker that kept "
        f"crashing; {cli.EXIT_BAD_ARGUMENTS} for bad arguments.",
    )
    cli.add_executor_id(parser)
    cli.add_database_url(parser)
    cli.add_scratch_dir(parser, "logs, pid files and step logs")
    parser.add_argument(
        "--max-crashes",
        type=cli.positive_int,
        default=3,
        help="crashes within --window after which it gives up (default: %(default)s)",
    )
    parser.add_argument(
        "--window",
        type=cli.positive_float,
        default=30.0,
        help="seconds the crashes are counted over (default: %(default)s)",
    )
    parser.add_argument(
        "--restart-delay",
        type=cli.non_negative_float,
        default=RESTART_DELAY_SEC,
        help="seconds to wait before a restart (default: %(default)s)",
    )
    parser.add_argument(
        "--health-port",
        type=cli.port,
        default=None,
        help="also run a health process for the server on 127.0.0.1:PORT (0: a free port)",
    )
    cli.add_no_parent_watch(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args, server_args = build_parser().parse_known_args(argv)
    problem = cli.server_args_problem(args.database_url, args.executor_id)
    if problem:
        return cli.refuse(problem)
    scratch = Path(args.scratch_dir or Path.cwd() / "scratch").resolve()
    scratch.mkdir(parents=True, exist_ok=True)

    say = cli.logger("fiblab-supervisor")
    stop = lifecycle.StopRequest(say)
    stop.install_signal_handlers()
    lifecycle.start_watcher(stop, None if args.no_parent_watch else os.getppid())

    def on_event(event: Event) -> None:
        say(str(event))
        if event.kind in ("gave-up", "exited"):
            stop.request(event.kind)

    worker = ServerProcess(args.executor_id, args.database_url, scratch, extra_args=server_args)
    supervisor = Supervisor(
        worker,
        max_crashes=args.max_crashes,
        window_sec=args.window,
        restart_delay=args.restart_delay,
        on_event=on_event,
    )
    health = None
    try:
        supervisor.start(wait=False)
        if args.health_port is not None:
            health = HealthProcess.watching(worker, port=args.health_port)
            health.start().wait_ready()
        announced = False
        while not stop.wait(POLL_INTERVAL_SEC):
            if not announced and supervisor.state == "running":
                port = f" health_port={health.port}" if health is not None else ""
                say(
                    f"{READY_PREFIX} pid={os.getpid()} worker_pid={worker.pid} "
                    f"executor_id={args.executor_id}{port}"
                )
                announced = True
    finally:
        if supervisor.state == "gave-up":
            print(supervisor.message, file=sys.stderr, flush=True)
        else:
            say(f"stopping: {stop.reason or supervisor.state}")
        supervisor.stop()
        if health is not None:
            health.stop()
    return cli.EXIT_FAILED if supervisor.state == "gave-up" else cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
