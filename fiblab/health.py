"""The health process: ``python -m fiblab.health --worker-pid-file FILE``.

The original experiment's ``server2.py`` split health checks from computation: one
process runs the DBOS workflows (the *worker*), another answers ``GET /health``. This
program is that second process: a :class:`fiblab.health_endpoint.HealthServer` on
127.0.0.1 that answers with what a :class:`fiblab.worker_watch.WorkerWatch` sees of the
worker. It prints a ready line naming its port, and exits on SIGTERM/SIGINT and when the
process that started it is gone, like a fiblab server.

Its notebook-side handle is :class:`fiblab.spawn.HealthProcess`; :func:`fiblab.probe.probe`
asks it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import cli, lifecycle
from .health_endpoint import CLIENT_TIMEOUT_SEC, MAX_CONNECTIONS, HealthServer
from .protocol import HEALTH_PATH, HOST
from .protocol import HEALTH_READY_PREFIX as READY_PREFIX
from .worker_watch import WorkerWatch


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fiblab.health",
        description=f"Serve GET {HEALTH_PATH} on {HOST} for a fiblab worker process.",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--worker-pid", type=cli.pid, help="pid of the worker to watch")
    which.add_argument(
        "--worker-pid-file",
        help="file holding the worker's pid (JSON {pid, create_time} or a number); "
        "re-read on every probe, so a restarted worker is followed",
    )
    parser.add_argument(
        "--worker-log",
        help="the worker's log: it is ready once a fiblab server ready line names its pid "
        "(without it, a live worker counts as ready)",
    )
    parser.add_argument(
        "--port", type=cli.port, default=0, help=f"port on {HOST}; 0 (default): a free port"
    )
    parser.add_argument(
        "--max-connections",
        type=cli.positive_int,
        default=MAX_CONNECTIONS,
        help="requests served at once; more are answered 503 (default: %(default)s)",
    )
    parser.add_argument(
        "--client-timeout",
        type=cli.positive_float,
        default=CLIENT_TIMEOUT_SEC,
        help="seconds before a silent client is dropped (default: %(default)s)",
    )
    cli.add_no_parent_watch(parser)
    return parser


log = cli.logger("fiblab-health")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    watch = WorkerWatch(args.worker_pid, args.worker_pid_file, args.worker_log)
    try:
        server = HealthServer(
            watch,
            served_by="health-process",
            port=args.port,
            max_connections=args.max_connections,
            client_timeout=args.client_timeout,
        )
    except (OSError, ValueError) as error:
        return cli.refuse(f"cannot serve on {HOST}:{args.port}: {error}")

    stop = lifecycle.StopRequest(log)
    stop.install_signal_handlers()
    parent_pid = os.getppid()
    lifecycle.start_watcher(stop, None if args.no_parent_watch else parent_pid)

    server.start()
    target = args.worker_pid_file or f"pid {args.worker_pid}"
    log(
        f"{READY_PREFIX} port={server.port} pid={os.getpid()} ppid={parent_pid} "
        f"url={server.url} worker={target}"
    )
    stop.wait()
    log(f"stopping: {stop.reason}")
    server.close()
    log("stopped")
    return cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
