"""A throwaway local PostgreSQL for fiblab: ``python -m fiblab.localpg start|stop|status|run``.

It uses the PostgreSQL binaries already on the machine (Debian's ``postgresql`` package,
Homebrew's ``postgresql@15``, or anything with ``initdb`` and ``pg_ctl`` on the PATH),
creates a cluster in a temporary folder, listens on 127.0.0.1 only, on a free port, with
a random password, and stops and deletes it again. PostgreSQL refuses to run as root, so
as root the cluster runs as the ``postgres`` user (or ``nobody``).

* ``start`` writes ``export FIBLAB_DATABASE_URL=…`` to ``scratch/postgres/env`` (mode
  600, never printed) and prints the URL with the password masked.
* ``run -- CMD …`` starts a cluster, runs CMD with ``FIBLAB_DATABASE_URL`` set (and
  ``FIBLAB_LOCALPG_STATE``, so CMD may halt and resume that cluster:
  :meth:`LocalPostgres.from_env`), and stops the cluster however CMD ends. With
  ``--install``, a missing PostgreSQL is installed with apt-get first when that is
  possible (root on Debian/Ubuntu).
* :func:`postgres_for_notebook` gives a notebook a PostgreSQL: ``FIBLAB_DATABASE_URL``'s,
  else a cluster of its own, else words saying how to get the binaries.

A cluster started with ``start(remove_on_exit=True)`` (as ``run`` and notebooks do) has
a watcher process in a session of its own that removes the cluster when the owner exits
in any way, SIGKILL included (a killed or restarted notebook kernel).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from .config import DATABASE_URL_ENV, is_postgres, mask_url
from .lifecycle import WATCH_INTERVAL_SEC, parent_exit_fd

STATE_DIR = Path("scratch") / "postgres"
#: Set by ``run`` for its command: the state folder of the cluster it started.
STATE_ENV = "FIBLAB_LOCALPG_STATE"
ROLE = "fiblab"
INSTALL_HINT = (
    "PostgreSQL was not found. Install it, then try again:\n"
    "  Debian/Ubuntu:  sudo apt-get install postgresql\n"
    "  macOS:          brew install postgresql@15\n"
    "  conda:          conda install -c conda-forge postgresql"
)


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries here, and none could be installed."""


def find_bin_dir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(os.path.realpath(on_path)).parent
    patterns = [
        "/usr/lib/postgresql/*/bin",
        "/opt/homebrew/opt/postgresql@*/bin",
        "/usr/local/opt/postgresql@*/bin",
        "/opt/homebrew/opt/postgresql/bin",
        "/usr/local/opt/postgresql/bin",
    ]
    for pattern in patterns:
        for folder in sorted(glob.glob(pattern), reverse=True):
            if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
                return Path(folder)
    return None


def install_with_apt() -> bool:
    """Install Debian's ``postgresql`` package when we are root with apt-get; True if done."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("fiblab.localpg: installing PostgreSQL with apt-get …", file=sys.stderr, flush=True)
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "postgresql"],
    ):
        if subprocess.run(command, env=env, stdout=subprocess.DEVNULL).returncode != 0:
            return False
    return find_bin_dir() is not None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_as() -> str | None:
    """The user to run PostgreSQL as: ourselves, or an unprivileged user when we are root."""
    if os.geteuid() != 0:
        return None
    import pwd

    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise PostgresUnavailable("running as root and found no 'postgres' or 'nobody' user")


class LocalPostgres:
    """One throwaway cluster: :meth:`start` it, read :attr:`url`, :meth:`stop` it."""

    def __init__(self, state_dir: Path = STATE_DIR) -> None:
        self.state_dir = Path(state_dir)
        self.state_file = self.state_dir / "state.json"
        self.env_file = self.state_dir / "env"
        self._watcher: subprocess.Popen[bytes] | None = None

    @classmethod
    def from_env(cls) -> LocalPostgres | None:
        """The cluster ``python -m fiblab.localpg run`` started for this process, or None."""
        state_dir = os.environ.get(STATE_ENV)
        return cls(Path(state_dir)) if state_dir else None

    def start(self, install: bool = False, remove_on_exit: bool = False) -> str:
        """Create and start a cluster; returns its URL (contains the password: don't print).
        With ``remove_on_exit``, a watcher removes it when this process exits, however."""
        bin_dir = find_bin_dir()
        if bin_dir is None and install and install_with_apt():
            bin_dir = find_bin_dir()
        if bin_dir is None:
            raise PostgresUnavailable(INSTALL_HINT)
        if self.state_file.exists():
            self.stop()
        user = _run_as()
        data_root = Path(tempfile.mkdtemp(prefix="fiblab-pg-"))
        try:
            url = self._create(bin_dir, user, data_root)
            if remove_on_exit:
                self._watcher = self._start_watcher()
            return url
        except BaseException:  # initdb or pg_ctl failed, or an interrupt: leave nothing
            self._remove(bin_dir, user, data_root)
            raise

    def _start_watcher(self) -> subprocess.Popen[bytes]:
        """``python -m fiblab.localpg watch``: removes this cluster once this process exits.
        A session of its own, so a kernel restart's kill of the kernel's process group
        does not take it along."""
        watch = ["watch", str(self.state_dir), "--owner", str(os.getpid())]
        return subprocess.Popen(
            [sys.executable, "-m", "fiblab.localpg", *watch], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip

    def _create(self, bin_dir: Path, user: str | None, data_root: Path) -> str:
        """Create and start a cluster in ``data_root``; write the state and env files."""
        data_dir = data_root / "data"
        password = secrets.token_urlsafe(18)
        port = _free_port()
        password_file = data_root / "pwfile"
        password_file.write_text(password + "\n")
        if user:
            shutil.chown(data_root, user)
            shutil.chown(password_file, user)
        initdb_args = ["-D", str(data_dir), "-U", ROLE, "-A", "scram-sha-256", "-E", "UTF8"]
        initdb_args += ["--locale=C", f"--pwfile={password_file}", "--no-sync"]
        self._pg(bin_dir, user, "initdb", *initdb_args)
        password_file.unlink()
        options = f"-p {port} -c listen_addresses=127.0.0.1 -k {data_root} -c fsync=off"
        self._pg(bin_dir, user, "pg_ctl", "-D", str(data_dir), "-o", options,
                 "-l", str(data_root / "server.log"), "-w", "-t", "60", "start")  # fmt: skip
        url = f"postgresql://{ROLE}:{password}@127.0.0.1:{port}/fiblab"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        state = {"bin_dir": str(bin_dir), "user": user, "data_root": str(data_root), "port": port}
        self.state_file.write_text(json.dumps(state))
        fd = os.open(self.env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as env:
            env.write(f"export {DATABASE_URL_ENV}='{url}'\n")
        return url

    def stop(self) -> bool:
        """Stop the cluster and delete its folder (and end its watcher); False if none
        was running."""
        try:
            state = self._state()
        except (OSError, ValueError):
            state = None
        if state is not None:
            with contextlib.suppress(OSError, ValueError, psutil.Error):
                self.thaw()  # a frozen cluster would not stop
            self._remove(Path(state["bin_dir"]), state["user"], Path(state["data_root"]))
        if self._watcher is not None:
            self._watcher.terminate()
            self._watcher.wait()
            self._watcher = None
        return state is not None

    def _remove(self, bin_dir: Path, user: str | None, data_root: Path) -> None:
        """Stop the cluster in ``data_root`` if one runs there; delete it and the state."""
        if (data_root / "data").exists():
            stop_args = ["-D", str(data_root / "data"), "-m", "immediate", "-w", "stop"]
            self._pg(bin_dir, user, "pg_ctl", *stop_args, check=False)
        shutil.rmtree(data_root, ignore_errors=True)
        self.state_file.unlink(missing_ok=True)
        self.env_file.unlink(missing_ok=True)

    def halt(self) -> None:
        """Stop the server but keep its data (to simulate an outage); :meth:`resume` restarts it."""
        state = self._state()
        data = str(Path(state["data_root"]) / "data")
        self._pg(
            Path(state["bin_dir"]), state["user"], "pg_ctl", "-D", data, "-m", "fast", "-w", "stop"
        )

    def resume(self) -> None:
        """Start a halted server again, on the same port with the same data."""
        state = self._state()
        data_root = Path(state["data_root"])
        options = f"-p {state['port']} -c listen_addresses=127.0.0.1 -k {data_root} -c fsync=off"
        log = str(data_root / "server.log")
        args = ["-D", str(data_root / "data"), "-o", options, "-l", log, "-w", "-t", "60", "start"]
        self._pg(Path(state["bin_dir"]), state["user"], "pg_ctl", *args)

    def freeze(self) -> None:
        """SIGSTOP the postmaster, then its children: the database hangs (open connections
        stay open, nothing answers, new ones wait) instead of going away; :meth:`thaw`.
        Each child runs in a process group of its own: the postmaster's group is not enough."""
        postmaster = self._postmaster()
        postmaster.send_signal(signal.SIGSTOP)  # first: it forks no child after this
        for child in postmaster.children():
            child.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT a frozen cluster's processes: it answers again where it stopped."""
        postmaster = self._postmaster()
        for process in [*postmaster.children(), postmaster]:
            process.send_signal(signal.SIGCONT)

    def cpu_seconds(self) -> float:
        """CPU seconds the running cluster's processes have used so far: the postmaster,
        its live children and the ones it has reaped (ended connections). A halt and
        resume starts the count again."""
        postmaster = self._postmaster()
        total = sum(postmaster.cpu_times()[:4])  # user, system, and of its ended children
        for child in postmaster.children():
            with contextlib.suppress(psutil.NoSuchProcess):
                total += sum(child.cpu_times()[:2])
        return total

    def _state(self) -> dict:
        """What :meth:`start` recorded of the running cluster (folders, port, user, binaries)."""
        return json.loads(self.state_file.read_text())

    def _postmaster(self) -> psutil.Process:
        state = self._state()
        pid_file = Path(state["data_root"]) / "data" / "postmaster.pid"
        return psutil.Process(int(pid_file.read_text().split()[0]))

    def url(self) -> str | None:
        """The running cluster's URL, read back from the env file, or None."""
        try:
            line = self.env_file.read_text().strip()
        except OSError:
            return None
        return line.split("=", 1)[1].strip("'")

    @staticmethod
    def _pg(
        bin_dir: Path, user: str | None, tool: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(bin_dir / tool), *args],
            user=user,
            cwd="/",
            capture_output=True,
            text=True,
            env={**os.environ, "LC_ALL": "C"},
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{tool} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )
        return result


@dataclass
class Frozen:
    """A cluster whose outages freeze it (halt: :meth:`LocalPostgres.freeze`) instead of
    stopping it (``LocalPostgres`` itself): a hung database or a network partition rather
    than a crashed or restarted one. Both are ``fiblab.chaos.Haltable``."""

    cluster: LocalPostgres

    def halt(self) -> None:
        self.cluster.freeze()

    def resume(self) -> None:
        self.cluster.thaw()


def watch_owner(state_dir: Path, owner_pid: int) -> None:
    """The watcher's job: wait until our parent ``owner_pid`` (the cluster's owner) exits,
    then stop and remove the cluster in ``state_dir`` (nothing if the owner removed it
    already). An owner gone before we looked is seen too: we are no longer its child."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt meant for the owner
    owner_fd = parent_exit_fd(owner_pid)
    if owner_fd is not None:
        select.select([owner_fd], [], [])  # readable once the owner has exited
    else:  # no pidfd (not Linux): we are re-parented when the owner exits
        while os.getppid() == owner_pid:
            time.sleep(WATCH_INTERVAL_SEC)
    LocalPostgres(state_dir).stop()


@dataclass
class NotebookPostgres:
    """The PostgreSQL a notebook uses: ``url`` (None when there is none), where it comes
    from (``source``), and ``cluster`` when the notebook owns it (only then may it halt it)."""

    url: str | None
    source: str
    cluster: LocalPostgres | None = None
    start_seconds: float = 0.0

    def close(self) -> None:
        """Stop and remove the notebook's own cluster (nothing for a configured one)."""
        if self.cluster is not None:
            self.cluster.stop()


# The clusters postgres_for_notebook started in this process, by state folder.
_notebook_clusters: dict[Path, NotebookPostgres] = {}


def postgres_for_notebook(state_dir: Path) -> NotebookPostgres:
    """``FIBLAB_DATABASE_URL``'s PostgreSQL if set; else a throwaway cluster in
    ``state_dir`` owned by this process (removed when it exits, however; called again —
    "Run All" twice — while it runs, the same one); else none, with :data:`INSTALL_HINT`
    as the source."""
    configured = os.environ.get(DATABASE_URL_ENV, "").strip()
    if is_postgres(configured):
        return NotebookPostgres(configured, f"{DATABASE_URL_ENV} ({mask_url(configured)})")
    key = Path(state_dir).absolute()
    running = _notebook_clusters.get(key)
    if running is not None and running.cluster is not None and running.cluster.url():
        return running
    if find_bin_dir() is None:
        return NotebookPostgres(None, INSTALL_HINT)
    cluster = LocalPostgres(key)
    started = time.monotonic()
    url = cluster.start(remove_on_exit=True)
    source = f"a throwaway local PostgreSQL started for this notebook ({mask_url(url)})"
    _notebook_clusters[key] = NotebookPostgres(url, source, cluster, time.monotonic() - started)
    return _notebook_clusters[key]


def run_with_postgres(command: Sequence[str], install: bool, required: bool) -> int:
    """Run ``command`` with a fresh local cluster; the cluster stops however it ends."""
    cluster = LocalPostgres(STATE_DIR / f"run-{os.getpid()}")
    try:
        url = cluster.start(install=install, remove_on_exit=True)
    except PostgresUnavailable as error:
        banner = "=" * 72
        print(f"\n{banner}\nSKIPPING THE POSTGRESQL PASS: {error}\n{banner}\n", flush=True)
        return 1 if required else 0
    print(f"fiblab.localpg: PostgreSQL ready at {mask_url(url)}", flush=True)
    try:
        env = {**os.environ, DATABASE_URL_ENV: url, STATE_ENV: str(cluster.state_dir.absolute())}
        return run_child(command, env)
    finally:
        cluster.stop()
        print("fiblab.localpg: PostgreSQL stopped and removed", flush=True)


def run_child(command: Sequence[str], env: dict[str, str]) -> int:
    """Run ``command`` and return its exit code; it is killed if this function is left early.

    While it runs, SIGTERM is passed on to it, and SIGINT is ignored here, as ``system()``
    does: a terminal's Ctrl-C goes to the whole foreground process group, the child
    included, so passing it on would make the child see it twice.
    """
    child = subprocess.Popen(list(command), env=env)

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
        signal.SIGTERM: signal.signal(signal.SIGTERM, forward),
    }
    try:
        return child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if child.poll() is None:
            child.kill()
            child.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fiblab.localpg",
        description="Start and stop a throwaway local PostgreSQL for fiblab (127.0.0.1 only).",
    )
    sub = parser.add_subparsers(dest="action", required=True)
    start = sub.add_parser("start", help="start a cluster; writes scratch/postgres/env")
    start.add_argument("--install", action="store_true", help="apt-get install it if missing")
    sub.add_parser("stop", help="stop the cluster started by 'start' and delete it")
    sub.add_parser("status", help="say whether a cluster is running (password masked)")
    run = sub.add_parser("run", help="run a command with a fresh cluster, then remove it")
    run.add_argument("--install", action="store_true", help="apt-get install it if missing")
    run.add_argument("--required", action="store_true", help="fail (not skip) without PostgreSQL")
    run.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    check = sub.add_parser("check", help="say where PostgreSQL's binaries are, or how to get them")
    check.add_argument("--install", action="store_true", help="apt-get install them if missing")
    watch = sub.add_parser("watch", help="(internal) remove a cluster when its owner exits")
    watch.add_argument("state_dir", type=Path)
    watch.add_argument("--owner", type=int, required=True, help="the owner's pid (our parent)")
    args = parser.parse_args(argv)

    if args.action == "watch":
        watch_owner(args.state_dir, args.owner)
        return 0
    if args.action == "check":  # never fails: it informs (make lab, make handouts)
        bin_dir = find_bin_dir()
        if bin_dir is None and args.install and install_with_apt():
            bin_dir = find_bin_dir()
        hint = f"Notebook 09 shows PostgreSQL on a throwaway local cluster. {INSTALL_HINT}"
        print(f"PostgreSQL binaries: {bin_dir}" if bin_dir else hint)
        return 0
    cluster = LocalPostgres()
    if args.action == "start":
        try:
            url = cluster.start(install=args.install)
        except PostgresUnavailable as error:
            print(error, file=sys.stderr)
            return 1
        print(f"PostgreSQL running at {mask_url(url)}")
        print(f"To use it:  source {cluster.env_file}   (then e.g. make lab)")
        print("To stop it: python -m fiblab.localpg stop")
        return 0
    if args.action == "stop":
        print("stopped" if cluster.stop() else "no cluster was running")
        return 0
    if args.action == "status":
        url = cluster.url()
        print(f"running at {mask_url(url)}" if url else "not running")
        return 0
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("run needs a command after --")
    return run_with_postgres(command, install=args.install, required=args.required)


if __name__ == "__main__":
    sys.exit(main())
