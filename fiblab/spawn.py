"""Child processes we own: fiblab's programs started with a log file and a pid file.

:class:`ManagedProcess` runs one Python module as a subprocess: its output goes to a
log file, its pid and start time to a :class:`fiblab.pidfile.PidFile`; it is stopped
(SIGTERM, then SIGKILL), killed, restarted and waited on until its ready line appears.
:class:`ServerProcess` (``python -m fiblab.server``) and :class:`HealthProcess`
(``python -m fiblab.health``) build the command lines of fiblab's two long-running
programs. A notebook kernel or a test starts them (through :mod:`fiblab.processes` and
:mod:`fiblab.lab`), and so does the supervisor program; the programs started never
import this module.

Every process started here ends when its owner does:

* the owner calls ``stop()``/``kill()``, leaves a ``with`` block, or exits normally or
  with an exception: :func:`stop_all` runs at interpreter exit;
* the owner is SIGKILLed (a kernel killed or restarted): the server watches its
  parent pid and stops itself within a fraction of a second;
* a cell is run again: starting a process whose name is already running for the same
  scratch folder first stops the old copy, and waits until it is gone
  (:func:`stop_previous_copy`: found through its pid file, which records the pid and
  start time of the process *we* started, so a reused pid is never touched).

Children run in their own session, so Jupyter's interrupt (SIGINT to the kernel's
process group) does not reach them: interrupting a cell never kills a server.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from . import config
from .pidfile import PidFile, pid_gone
from .probe import Probe, probe
from .protocol import (
    HEALTH_PATH,
    HEALTH_READY_PREFIX,
    SERVER_READY_PREFIX,
    health_url,
    port_in_log,
)
from .waiting import WaitTimeout, wait_for

STOP_TIMEOUT_SEC = 15.0
READY_TIMEOUT_SEC = 60.0
#: How long a SIGKILLed process may take to be gone (it cannot refuse), seconds.
KILL_TIMEOUT_SEC = 5.0

_live: dict[Path, ManagedProcess] = {}


class ProcessFailed(RuntimeError):
    """A managed process exited while we were waiting for it to become ready."""


class ManagedProcess:
    """One Python module run as a subprocess that we own, with its log in a file."""

    def __init__(
        self,
        name: str,
        module: str,
        args: Sequence[str],
        scratch: Path,
        *,
        env: dict[str, str] | None = None,
        ready_marker: str | None = None,
    ) -> None:
        self.name = config.check_name(name, "process name")
        self.module = module
        self.args = list(args)
        self.scratch = Path(scratch)
        self.extra_env = dict(env or {})
        self.ready_marker = ready_marker
        self.log_path = self.scratch / "logs" / f"{self.name}.log"
        self.pid_path = self.scratch / "pids" / f"{self.name}.json"
        self.pid_file = PidFile(self.pid_path)
        self.process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> ManagedProcess:
        """Start the process (stopping a copy of it left from an earlier run first)."""
        if self.alive:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        stop_previous_copy(self.pid_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", config.SCRATCH_ENV: str(self.scratch)}
        env.update(self.extra_env)
        with open(self.log_path, "ab") as log:
            self._log_offset = log.tell()
            log.write(f"--- {self.name}: started at {time.strftime('%H:%M:%S')}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module, *self.args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # Jupyter's interrupt must not reach it
            )
        self.pid_file.write(self.process.pid)
        _live[self.pid_path] = self
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT_SEC) -> ManagedProcess:
        """Block until the ready line appears in the log; raise if the process dies."""
        if self.ready_marker is None:
            return self

        def ready() -> bool:
            if self.ready_marker in self.logs():
                return True
            if not self.alive:
                raise ProcessFailed(
                    f"{self.name} exited with code {self.returncode} before it was ready; "
                    f"last log lines:\n{self.tail()}"
                )
            return False

        try:
            wait_for(ready, timeout, f"{self.name} to be ready")
        except WaitTimeout as error:
            raise WaitTimeout(f"{error}; last log lines:\n{self.tail()}") from None
        return self

    def stop(self, timeout: float = STOP_TIMEOUT_SEC) -> int | None:
        """Graceful stop: SIGTERM, wait up to ``timeout`` s, then SIGKILL. Returns the exit code."""
        return self._signal_and_wait(signal.SIGTERM, timeout)

    def interrupt(self, timeout: float = STOP_TIMEOUT_SEC) -> int | None:
        """Graceful stop by SIGINT (what Ctrl-C sends in a terminal)."""
        return self._signal_and_wait(signal.SIGINT, timeout)

    def kill(self) -> int | None:
        """SIGKILL: the process dies at once, in the middle of whatever it was doing."""
        return self._signal_and_wait(signal.SIGKILL, STOP_TIMEOUT_SEC)

    def restart(self, timeout: float = READY_TIMEOUT_SEC) -> ManagedProcess:
        """Start again with the same name and arguments (after a graceful stop if alive)."""
        if self.alive:
            self.stop()
        return self.start().wait_ready(timeout)

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the process to exit by itself; returns its exit code."""
        if self.process is None:
            return None
        code = self.process.wait(timeout)
        self._forget()
        return code

    def _signal_and_wait(self, signum: int | None, timeout: float) -> int | None:
        """Send ``signum`` (None: already sent), wait ``timeout`` s, then SIGKILL."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            if signum is not None:
                self.process.send_signal(signum)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        self._forget()
        return self.process.returncode

    def _forget(self) -> None:
        _live.pop(self.pid_path, None)
        if self.process is not None:
            self.pid_file.remove(self.process.pid)

    # --- state ------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.process.poll() if self.process is not None else None

    def cpu_percent(self, seconds: float = 1.0) -> float:
        """This process's CPU use over the next ``seconds``, in % of one core."""
        return cpu_percents([self], seconds)[0]

    def logs(self) -> str:
        """Everything this run of the process has written to its log."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_offset)
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.logs().splitlines()[-lines:])

    def __enter__(self) -> ManagedProcess:
        if self.process is None:
            self.start().wait_ready()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.alive else f"exited {self.returncode}"
        return f"<{type(self).__name__} {self.name} pid={self.pid} {state}>"


class ServerProcess(ManagedProcess):
    """The handle of one ``python -m fiblab.server`` process with its own executor id
    (the program itself is :mod:`fiblab.server`).

    The database URL travels in the environment, never on the command line, so a
    password in it is not visible in ``ps``.
    """

    def __init__(
        self,
        executor_id: str,
        database_url: str,
        scratch: Path,
        *,
        queue: str = config.QUEUE_NAME,
        worker_concurrency: int | None = 1,
        polling_interval: float = config.QUEUE_POLLING_INTERVAL_SEC,
        grace: int = 10,
        global_concurrency: int | None = None,
        env: dict[str, str] | None = None,
        module: str = "fiblab.server",
        extra_args: Sequence[str] = (),
    ) -> None:
        args = [
            "--executor-id", executor_id,
            "--queue", queue,
            "--worker-concurrency", str(worker_concurrency).lower(),
            "--polling-interval", str(polling_interval),
            "--grace", str(grace),
            "--global-concurrency", str(global_concurrency).lower(),
            *extra_args,
        ]  # fmt: skip
        super().__init__(
            executor_id,
            module,
            args,
            scratch,
            env={**(env or {}), config.DATABASE_URL_ENV: database_url},
            ready_marker=SERVER_READY_PREFIX,
        )
        self.executor_id = executor_id
        self.database_url = database_url
        self.queue = queue


class HealthProcess(ManagedProcess):
    """The handle of a ``python -m fiblab.health`` process; :meth:`watching` a server is
    typical (the program itself is :mod:`fiblab.health`)."""

    def __init__(
        self,
        name: str,
        scratch: Path,
        *,
        worker_pid: int | None = None,
        worker_pid_file: Path | str | None = None,
        worker_log: Path | str | None = None,
        port: int = 0,
        env: dict[str, str] | None = None,
    ) -> None:
        args = ["--port", str(port)]
        if worker_pid is not None:
            args += ["--worker-pid", str(worker_pid)]
        if worker_pid_file is not None:
            args += ["--worker-pid-file", str(worker_pid_file)]
        if worker_log is not None:
            args += ["--worker-log", str(worker_log)]
        super().__init__(
            name, "fiblab.health", args, scratch, env=env, ready_marker=HEALTH_READY_PREFIX
        )

    @classmethod
    def watching(
        cls, worker: ManagedProcess, name: str | None = None, port: int = 0
    ) -> HealthProcess:
        """A health process that follows ``worker`` through its pid file and log, so it
        keeps reporting on the right process when the worker is restarted."""
        return cls(
            name or f"health-{worker.name}",
            worker.scratch,
            worker_pid_file=worker.pid_path,
            worker_log=worker.log_path,
            port=port,
        )

    @property
    def port(self) -> int:
        port = port_in_log(self.logs(), HEALTH_READY_PREFIX)
        if port is None:
            raise RuntimeError(f"{self.name} has not reported its port yet (not ready?)")
        return port

    @property
    def url(self) -> str:
        return health_url(self.port)

    def probe(self, path: str = HEALTH_PATH, method: str = "GET", timeout: float = 2.0) -> Probe:
        return probe(self.port, path, method, timeout)


def cpu_percents(processes: Sequence[ManagedProcess], seconds: float = 1.0) -> list[float]:
    """Each process's CPU use over the same next ``seconds``, in % of one core, read with
    :func:`cpu_seconds` (to the microsecond on Linux)."""
    never_started = [p.name for p in processes if p.process is None]
    if never_started:
        raise RuntimeError(f"never started: {', '.join(never_started)}")
    pids = [p.process.pid for p in processes]  # type: ignore[union-attr]
    before, started = [cpu_seconds(pid) for pid in pids], time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    after = [cpu_seconds(pid) for pid in pids]
    return [100 * (end - start) / elapsed for start, end in zip(before, after, strict=True)]


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, all its threads) process ``pid`` has used so far.

    On Linux read from the kernel's CPU clock of that process, in nanoseconds; elsewhere
    (or if that fails) psutil's figure, which Linux counts in 10 ms clock ticks: too
    coarse for an idle server sampled for a second or two."""
    if sys.platform.startswith("linux"):
        try:
            return time.clock_gettime(_process_cpu_clock(pid))
        except OSError:  # no such process, or a kernel that refuses: psutil says which
            pass
    return sum(psutil.Process(pid).cpu_times()[:2])


def _process_cpu_clock(pid: int) -> int:
    """Linux's clock id for process ``pid``'s CPU time, made as glibc's
    ``clock_getcpuclockid`` makes it (``MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)`` in the
    kernel's posix-timers headers)."""
    return (~pid << 3) | 2


def stop_all(timeout: float = 5.0) -> None:
    """Stop every process this interpreter started (graceful, then SIGKILL)."""
    stop_together(list(_live.values()), timeout)


def stop_together(procs: Sequence[ManagedProcess], timeout: float = STOP_TIMEOUT_SEC) -> None:
    """SIGTERM every process first, then wait for each (SIGKILL after ``timeout``)."""
    signalled = [p for p in procs if p.alive and p.process is not None]
    for proc in signalled:
        proc.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
    for proc in signalled:
        proc._signal_and_wait(None, timeout)


def stop_previous_copy(pid_path: Path, timeout: float = STOP_TIMEOUT_SEC) -> None:
    """End the process recorded in ``pid_path`` if it is still the one we started, and
    return only once it is gone (SIGTERM; after ``timeout`` s, SIGKILL).

    A process started under the same name right after must never overlap the old one:
    two servers with one executor id would both take and recover its workflows.
    """
    owner = _live.get(pid_path)
    if owner is not None and owner.alive:
        owner.stop(timeout)
        return
    record = PidFile(pid_path).read()
    if record is None or record.create_time is None:
        return  # nothing recorded, or nothing to tell our process from a reused pid
    process = record.process()
    if process is None or pid_gone(process.pid):
        return  # gone (or a zombie), or the pid was reused by an unrelated process
    try:
        process.terminate()
        process.wait(timeout)
        return
    except psutil.TimeoutExpired:
        process.kill()
    except psutil.Error:
        return
    try:
        wait_for(lambda: pid_gone(process.pid), KILL_TIMEOUT_SEC, f"pid {process.pid} to end")
    except WaitTimeout:
        raise RuntimeError(
            f"the earlier copy recorded in {pid_path} (pid {process.pid}) still runs "
            f"{KILL_TIMEOUT_SEC:g} s after SIGKILL; not starting a second one"
        ) from None


atexit.register(stop_all)
