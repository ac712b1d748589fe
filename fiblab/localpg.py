"""A throwaway local PostgreSQL for fiblab: ``python -m fiblab.localpg start|stop|status|run``.

It uses the PostgreSQL binaries already on the machine (Debian's ``postgresql`` package,
Homebrew's ``postgresql@15``, or anything with ``initdb`` and ``pg_ctl`` on the PATH),
creates a cluster in a temporary folder, listens on 127.0.0.1 only, on a free port, with
a random password, and stops and deletes it again. PostgreSQL refuses to run as root, so
as root the cluster runs as the ``postgres`` user (or ``nobody``).

* ``start`` writes ``export FIBLAB_DATABASE_URL=…`` to ``scratch/postgres/env`` (mode
  600, never printed) and prints the URL with the password masked.
* ``run -- CMD …`` starts a cluster, runs CMD with ``FIBLAB_DATABASE_URL`` set, and
  stops the cluster however CMD ends. With ``--install``, a missing PostgreSQL is
  installed with apt-get first when that is possible (root on Debian/Ubuntu).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .config import DATABASE_URL_ENV, mask_url

STATE_DIR = Path("scratch") / "postgres"
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

    def start(self, install: bool = False) -> str:
        """Create and start a cluster; returns its URL (contains the password: don't print)."""
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
            return self._create(bin_dir, user, data_root)
        except BaseException:  # initdb or pg_ctl failed, or an interrupt: leave nothing
            self._remove(bin_dir, user, data_root)
            raise

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
        """Stop the cluster and delete its folder; False if none was running."""
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return False
        self._remove(Path(state["bin_dir"]), state["user"], Path(state["data_root"]))
        return True

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
        state = json.loads(self.state_file.read_text())
        data = str(Path(state["data_root"]) / "data")
        self._pg(
            Path(state["bin_dir"]), state["user"], "pg_ctl", "-D", data, "-m", "fast", "-w", "stop"
        )

    def resume(self) -> None:
        """Start a halted server again, on the same port with the same data."""
        state = json.loads(self.state_file.read_text())
        data_root = Path(state["data_root"])
        options = f"-p {state['port']} -c listen_addresses=127.0.0.1 -k {data_root} -c fsync=off"
        log = str(data_root / "server.log")
        args = ["-D", str(data_root / "data"), "-o", options, "-l", log, "-w", "-t", "60", "start"]
        self._pg(Path(state["bin_dir"]), state["user"], "pg_ctl", *args)

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


def run_with_postgres(command: Sequence[str], install: bool, required: bool) -> int:
    """Run ``command`` with a fresh local cluster; the cluster stops however it ends."""
    cluster = LocalPostgres(STATE_DIR / f"run-{os.getpid()}")
    try:
        url = cluster.start(install=install)
    except PostgresUnavailable as error:
        banner = "=" * 72
        print(f"\n{banner}\nSKIPPING THE POSTGRESQL PASS: {error}\n{banner}\n", flush=True)
        return 1 if required else 0
    print(f"fiblab.localpg: PostgreSQL ready at {mask_url(url)}", flush=True)
    try:
        return run_child(command, {**os.environ, DATABASE_URL_ENV: url})
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
    args = parser.parse_args(argv)

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
