"""Notebook 06: the original ``server2.py``'s health check, and what it misses.

``python -m fiblab.variants.blind_health --executor-id ID`` is shaped like
``server2.py``: a parent that starts two children, a health process and a worker (here a
``python -m fiblab.server``), and then waits for the health process alone. The health
process answers ``GET /health`` with 200 and ``{"status": "healthy"}`` without looking at
anything. So when the worker dies, nothing notices: the parent never waits for it (it
stays a zombie) and the health process goes on saying "healthy". (The original also
bound the fixed port 8080; this one takes a free port and prints it.)

With ``--parent-loop`` the parent behaves like ``server3.py``'s instead: it watches both
children, and when either dies it terminates the other and exits 1 — nothing restarts
the worker; the whole service goes down with it. (The original looked once a second;
this one every 0.2 s.)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from types import FrameType

from fiblab import cli, config
from fiblab.processes import ManagedProcess
from fiblab.protocol import HEALTH_PATH, HOST, SERVER_READY_PREFIX, port_in_log

PROGRAM = "python -m fiblab.variants.blind_health"
READY_PREFIX = "blind-health ready"
log = cli.logger("blind-health")


class AlwaysHealthy(BaseHTTPRequestHandler):
    """``server2.py``'s handler in spirit: 200 and "healthy", whatever the worker does."""

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        if self.path != HEALTH_PATH:
            self.send_error(404)
            return
        body = json.dumps({"status": "healthy", "pid": os.getpid()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:  # quiet, like a probe target should be
        pass


def exit_with_parent(parent: int) -> None:
    """Wait until ``parent`` is no longer this process's parent, then end at once."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)


def serve_health(port_out: Connection) -> None:
    """The health child: a free port on 127.0.0.1, sent to the parent; ends with it."""
    server = HTTPServer((HOST, 0), AlwaysHealthy)
    port_out.send(server.server_address[1])
    threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()
    server.serve_forever()


def handle(name: str, database_url: str, scratch: Path, *args: str) -> ManagedProcess:
    """A notebook's handle on this program (not started yet); ready once its worker is."""
    return ManagedProcess(
        name, "fiblab.variants.blind_health", ["--executor-id", f"{name}-worker", *args],
        scratch, ready_marker=SERVER_READY_PREFIX, env={config.DATABASE_URL_ENV: database_url},
    )  # fmt: skip


def port_and_worker(process: ManagedProcess) -> tuple[int, int]:
    """The health port and the worker's pid that a started ``process`` printed."""
    found = [port_in_log(process.logs(), READY_PREFIX, key) for key in ("port", "worker_pid")]
    if None in found:
        raise RuntimeError(f"{process.name} printed no ready line:\n{process.tail()}")
    return found[0], found[1]  # type: ignore[return-value]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="The original server2.py's shape: a health process that always says "
        "healthy, a fiblab worker, and a parent that waits for the health process only "
        "(with --parent-loop, server3.py's: the parent exits 1 when either child dies).",
    )
    cli.add_database_url(parser)
    cli.add_executor_id(parser)
    cli.add_scratch_dir(parser, "the worker's crash markers and step logs")
    parser.add_argument(
        "--parent-loop",
        action="store_true",
        help="like server3.py: when either child dies, terminate the other and exit 1",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    problem = cli.server_args_problem(args.database_url, args.executor_id)
    if problem:
        return cli.refuse(problem)
    receive, send = multiprocessing.Pipe(duplex=False)
    health = multiprocessing.get_context("fork").Process(target=serve_health, args=(send,))
    health.start()
    port = receive.recv()
    worker_args = ["--executor-id", args.executor_id]
    if args.scratch_dir:
        worker_args += ["--scratch-dir", args.scratch_dir]
    worker = subprocess.Popen(
        [sys.executable, "-m", "fiblab.server", *worker_args],
        env={**os.environ, config.DATABASE_URL_ENV: args.database_url},
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        log(f"stopping: {signal.Signals(signum).name}")
        worker.terminate()
        health.terminate()
        health.join()
        worker.wait()  # the only place this program ever waits for its worker
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()
    log(f"{READY_PREFIX} port={port} health_pid={health.pid} worker_pid={worker.pid}")
    if args.parent_loop:  # server3.py: watch both, and give up when either dies
        while health.is_alive() and worker.poll() is None:
            time.sleep(0.2)
        log("a child process has ended: stopping the other and exiting 1")
        worker.terminate()
        health.terminate()
        health.join()
        worker.wait()
        return 1
    health.join()  # like server2.py: wait for the health process, never for the worker
    return 0


if __name__ == "__main__":
    sys.exit(main())
