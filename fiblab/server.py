"""One fiblab DBOS server process: ``python -m fiblab.server --executor-id ID …``.

It launches DBOS with the pinned application name and version, registers the queue,
prints a ready line, and serves workflows until it is told to stop:

* SIGINT or SIGTERM: graceful. Stop taking work, let the running workflow finish
  (at most ``--grace`` seconds), exit 0. A second signal while stopping is ignored.
* SIGKILL: not graceful, by definition. The running workflow stays PENDING until a
  server with the same executor id starts again and recovers it.
* The process that started it is gone (a notebook kernel killed or restarted): the
  server notices within a fraction of a second and stops the same way, with no grace.

With ``--health-port PORT`` (0: a free port) it also serves ``GET /health`` from a
thread of its own (see :mod:`fiblab.health_endpoint`), and logs the port before its ready line.
That thread shares the interpreter lock with the workflow steps; a separate health
process (``python -m fiblab.health``) does not.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from . import cli, config, lifecycle
from .protocol import SERVER_READY_PREFIX as READY_PREFIX
from .protocol import WORKER_HEALTH_PREFIX

if TYPE_CHECKING:
    from .health_endpoint import OwnProcess


DESCRIPTION = "Run one fiblab DBOS server: it takes fibonacci_workflow jobs from a queue."


def build_parser(
    prog: str = "python -m fiblab.server", description: str = DESCRIPTION
) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    cli.add_database_url(parser)
    cli.add_executor_id(parser)
    parser.add_argument(
        "--queue", default=config.QUEUE_NAME, help="queue to serve (default: %(default)s)"
    )
    parser.add_argument(
        "--worker-concurrency",
        type=cli.concurrency,
        default=1,
        help="workflows one server runs at once; stored with the queue in the database, so the "
        "server started last sets it for every server on the queue; 'none' for no limit "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--global-concurrency",
        type=cli.concurrency,
        default=None,
        help="workflows all servers on the queue run at once, together; stored with the queue "
        "like --worker-concurrency, which must not exceed it; 'none' for no limit (default: none)",
    )
    parser.add_argument(
        "--prefetch",
        type=cli.non_negative_int,
        default=0,
        help="take this many workflows beyond --worker-concurrency, to start the next "
        "fibonacci_workflow the moment one ends instead of at the next poll (default: 0)",
    )
    parser.add_argument(
        "--polling-interval",
        type=cli.positive_float,
        default=config.QUEUE_POLLING_INTERVAL_SEC,
        help="queue polling interval in seconds (default: %(default)s; DBOS's own: 1.0)",
    )
    parser.add_argument(
        "--grace",
        type=cli.non_negative_int,
        default=10,
        help="on SIGINT/SIGTERM, seconds to let running workflows finish (default: %(default)s)",
    )
    parser.add_argument(
        "--database-wait",
        type=cli.positive_float,
        default=config.DATABASE_WAIT_SEC,
        help="seconds to keep trying to reach the database and create DBOS's tables "
        "before giving up (default: %(default)g)",
    )
    cli.add_scratch_dir(parser, "crash markers and step logs")
    parser.add_argument(
        "--health-port",
        type=cli.port,
        default=None,
        help="also serve GET /health on 127.0.0.1:PORT from inside this process "
        "(0: a free port, logged before the ready line); default: no endpoint",
    )
    cli.add_no_parent_watch(parser)
    parser.add_argument(
        "--log-level", default="WARNING", help="DBOS log level (default: %(default)s)"
    )
    return parser


PROGRAM = "fiblab-server"
#: One line on stdout, flushed, prefixed with this server's pid.
log = cli.logger(PROGRAM)


def show_workflow_log() -> None:
    """Print the workflows' own log lines (which workflow starts and finishes) the way
    :func:`log` prints, so a server's terminal tells which work it did."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(f"{cli.log_prefix(PROGRAM)} %(message)s"))
    workflow_log = logging.getLogger(config.WORKFLOW_LOGGER)
    workflow_log.addHandler(handler)
    workflow_log.setLevel(logging.INFO)


#: How long a stop may wait on the database before exiting anyway, seconds.
SHUTDOWN_DB_TIMEOUT_SEC = 3.0


def main(
    argv: Sequence[str] | None = None,
    *,
    prog: str = "python -m fiblab.server",
    description: str = DESCRIPTION,
) -> int:
    """Run a server. Variant modules (``fiblab.variants.…``) define their own workflows at
    import time, then call this with their own ``prog`` and ``description``."""
    args = build_parser(prog, description).parse_args(argv)
    problem = cli.server_args_problem(args.database_url, args.executor_id)
    if problem:
        return cli.refuse(problem)
    at_once = (args.worker_concurrency or 1) + args.prefetch
    if args.global_concurrency is not None and at_once > args.global_concurrency:
        return cli.refuse(
            f"--global-concurrency {args.global_concurrency} is below the {at_once} workflows "
            "this server takes at once (--worker-concurrency plus --prefetch)"
        )
    if args.scratch_dir:
        os.makedirs(args.scratch_dir, exist_ok=True)
        config.use_scratch_dir(args.scratch_dir)

    stop = lifecycle.StopRequest(log)
    stop.install_signal_handlers()
    show_workflow_log()
    parent_pid = os.getppid()
    log(
        f"starting executor_id={args.executor_id} ppid={parent_pid} "
        f"database={config.mask_url(args.database_url)}"
    )
    sqlite_file = config.sqlite_path(args.database_url)
    lifecycle.start_watcher(
        stop,
        None if args.no_parent_watch else parent_pid,
        sqlite_file,
        on_database_gone=lambda: log(
            f"error: the SQLite database {sqlite_file} was deleted or replaced; restart this "
            "server (same executor id) once the database is back"
        ),
        database_gone_exit_code=cli.EXIT_DATABASE_GONE,
    )
    try:
        health = _start_health_endpoint(args.health_port, args.executor_id)
    except OSError as error:
        return cli.refuse(f"cannot serve health on port {args.health_port}: {error}")

    from . import app, failing_workflows  # noqa: F401 (importing registers their workflows)
    from .database import DatabaseNotReady

    taken = args.worker_concurrency
    if args.prefetch and taken is not None:
        app.set_cpu_slots(taken)  # compute `taken` at once; the prefetched ones wait
        taken += args.prefetch
    # Launch DBOS (the database gets --database-wait seconds to answer), then say ready.
    try:
        app.launch(
            args.database_url,
            args.executor_id,
            queue=args.queue,
            worker_concurrency=taken,
            polling_interval_sec=args.polling_interval,
            log_level=args.log_level,
            database_wait=args.database_wait,
            global_concurrency=args.global_concurrency,
        )
    except DatabaseNotReady as error:  # not usable within --database-wait
        log(f"error: {error}")
        return cli.EXIT_NO_DATABASE
    log(
        f"{READY_PREFIX} executor_id={args.executor_id} pid={os.getpid()} ppid={parent_pid} "
        f"queue={args.queue} worker_concurrency={args.worker_concurrency} prefetch={args.prefetch} "
        f"polling_interval={args.polling_interval}"
    )
    if health is not None:
        health.phase = "ready"
    stop.wait()
    if health is not None:
        health.phase = "stopping"
    grace = args.grace if stop.graceful else 0
    log(f"stopping: {stop.reason}; letting running workflows finish for up to {grace} s")
    code = stop.exit_code if shut_down(args.executor_id, grace) else cli.EXIT_UNCLEAN
    log("stopped" if code == 0 else f"stopped (exit code {code})")
    sys.stdout.flush()
    sys.stderr.flush()
    # Worker threads of an unfinished workflow must not keep the process alive.
    os._exit(code)


def shut_down(executor_id: str, grace: int) -> bool:
    """``DBOS.destroy``, bounded in time even when the database does not answer.

    DBOS retries database calls while the database is unreachable, so each call runs on
    a helper thread we stop waiting for. Returns False if DBOS did not finish in time.
    """
    from dbos import DBOS

    running = _call_with_timeout(_has_running_work, SHUTDOWN_DB_TIMEOUT_SEC, executor_id)
    if running is None:
        log("warning: the database does not answer; not waiting for running workflows")
    done = _call_with_timeout(
        DBOS.destroy,
        (grace if running else 0) + SHUTDOWN_DB_TIMEOUT_SEC + 2,
        workflow_completion_timeout_sec=grace if running else 0,
    )
    if done is None:
        log("warning: DBOS did not shut down in time (database unreachable?); exiting anyway")
        return False
    return True


def _call_with_timeout(function: Callable[..., object], timeout: float, *args, **kwargs):
    """``function(*args, **kwargs)`` on a daemon thread; its result, True for None, or None
    if it did not return within ``timeout`` seconds (or raised)."""
    result: list[object] = []

    def run() -> None:
        try:
            value = function(*args, **kwargs)
            result.append(True if value is None else value)
        except Exception as error:  # reported, and treated like no answer
            log(f"warning: {getattr(function, '__name__', function)} failed: {error}")

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout)
    return result[0] if result else None


def _start_health_endpoint(port: int | None, executor_id: str) -> OwnProcess | None:
    """Serve /health from a thread of this process (if asked to); returns what it reports,
    whose ``phase`` the caller moves on (starting → ready → stopping)."""
    if port is None:
        return None
    from .health_endpoint import HealthServer, OwnProcess

    report = OwnProcess(executor_id)
    server = HealthServer(report, served_by="worker-process", port=port).start()
    log(f"{WORKER_HEALTH_PREFIX} port={server.port} url={server.url}")
    return report


def _has_running_work(executor_id: str) -> bool:
    from dbos import DBOS

    return bool(DBOS.list_workflows(status="PENDING", executor_id=executor_id, limit=1))


if __name__ == "__main__":
    sys.exit(main())
