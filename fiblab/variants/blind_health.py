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
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from multiprocessing.connection import Connection

from fiblab import cli, config, lifecycle
from fiblab.protocol import BLIND_HEALTH_READY_PREFIX as READY_PREFIX
from fiblab.protocol import HEALTH_PATH, HOST

PROGRAM = "python -m fiblab.variants.blind_health"
#: How often the parent looks at its children (server3.py looked once a second), seconds.
PARENT_LOOP_SEC = 0.2
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

    stop = lifecycle.StopRequest(log)  # SIGTERM/SIGINT: noted in the handler, acted on here
    stop.install_signal_handlers()
    threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()
    log(f"{READY_PREFIX} port={port} health_pid={health.pid} worker_pid={worker.pid}")
    code = cli.EXIT_OK
    while not stop.wait(PARENT_LOOP_SEC):
        if args.parent_loop:  # server3.py: watch both, and give up when either dies
            if not health.is_alive() or worker.poll() is not None:
                log("a child process has ended: stopping the other and exiting 1")
                code = cli.EXIT_FAILED
                break
        elif not health.is_alive():  # server2.py: wait for the health process only, never
            return cli.EXIT_OK  # for the worker (a dead worker stays a zombie)
    if stop.event.is_set():
        log(f"stopping: {stop.reason}")
    worker.terminate()
    health.terminate()
    health.join()
    worker.wait()  # the only place this program ever waits for its worker
    return code


if __name__ == "__main__":
    sys.exit(main())
