"""One fiblab DBOS server process: ``python -m fiblab.server --executor-id ID …``.

It launches DBOS with the pinned application name and version, registers the queue,
prints a ready line, and serves workflows until it is told to stop:

* SIGINT or SIGTERM: graceful. Stop taking work, let the running workflow finish
  (at most ``--grace`` seconds), exit 0. A second signal while stopping is ignored.
* SIGKILL: not graceful, by definition. The running workflow stays PENDING until a
  server with the same executor id starts again and recovers it.
* The process that started it is gone (a notebook kernel killed or restarted): the
  server notices within ``WATCH_INTERVAL_SEC`` and stops the same way, with no grace.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from . import config

READY_PREFIX = "fiblab-server ready"
WATCH_INTERVAL_SEC = 0.2


DESCRIPTION = "Run one fiblab DBOS server: it takes fibonacci_workflow jobs from a queue."


def build_parser(
    prog: str = "python -m fiblab.server", description: str = DESCRIPTION
) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(config.DATABASE_URL_ENV),
        help=f"system database URL (sqlite:///file or postgresql://…); "
        f"default: ${config.DATABASE_URL_ENV}",
    )
    parser.add_argument(
        "--executor-id",
        required=True,
        help="this server's executor id; restart with the same id to recover its workflows",
    )
    parser.add_argument(
        "--queue", default=config.QUEUE_NAME, help="queue to serve (default: %(default)s)"
    )
    parser.add_argument(
        "--worker-concurrency",
        type=_concurrency,
        default=1,
        help="workflows this server runs at once; 'none' for no limit (default: %(default)s)",
    )
    parser.add_argument(
        "--polling-interval",
        type=_positive_float,
        default=config.QUEUE_POLLING_INTERVAL_SEC,
        help="queue polling interval in seconds (default: %(default)s; DBOS's own: 1.0)",
    )
    parser.add_argument(
        "--grace",
        type=_non_negative_int,
        default=10,
        help="on SIGINT/SIGTERM, seconds to let running workflows finish (default: %(default)s)",
    )
    parser.add_argument(
        "--scratch-dir",
        default=os.environ.get(config.SCRATCH_ENV),
        help=f"folder for crash markers and step logs (default: ${config.SCRATCH_ENV}, ./scratch)",
    )
    parser.add_argument(
        "--no-parent-watch",
        action="store_true",
        help="keep running when the process that started this one exits",
    )
    parser.add_argument(
        "--log-level", default="WARNING", help="DBOS log level (default: %(default)s)"
    )
    return parser


def _concurrency(text: str) -> int | None:
    if text.lower() == "none":
        return None
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1 or 'none', got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def log(message: str) -> None:
    """One line on stdout, flushed, prefixed with this server's pid."""
    print(f"[fiblab-server pid={os.getpid()}] {message}", flush=True)


class StopRequest:
    """Remembers the first reason to stop; later signals are logged and ignored."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reason = ""
        self.graceful = True
        self._lock = threading.Lock()

    def request(self, reason: str, graceful: bool = True) -> None:
        with self._lock:
            if self.event.is_set():
                log(f"{reason} while already stopping ({self.reason}): ignored")
                return
            self.reason, self.graceful = reason, graceful
            self.event.set()

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.request(signal.Signals(signum).name)


def watch_parent(parent_pid: int, stop: StopRequest) -> None:
    """Request a stop as soon as ``parent_pid`` is no longer this process's parent."""
    while not stop.event.wait(WATCH_INTERVAL_SEC):
        if os.getppid() != parent_pid:
            stop.request(f"parent pid {parent_pid} is gone", graceful=False)
            return


def main(
    argv: Sequence[str] | None = None,
    *,
    prog: str = "python -m fiblab.server",
    description: str = DESCRIPTION,
) -> int:
    """Run a server. Variant modules (``fiblab.variants.…``) define their own workflows at
    import time, then call this with their own ``prog`` and ``description``."""
    args = build_parser(prog, description).parse_args(argv)
    if not args.database_url:
        print(
            f"error: no database: pass --database-url or set {config.DATABASE_URL_ENV}",
            file=sys.stderr,
        )
        return 2
    try:
        config.check_name(args.executor_id, "executor id")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.scratch_dir:
        os.makedirs(args.scratch_dir, exist_ok=True)
        os.environ[config.SCRATCH_ENV] = os.path.abspath(args.scratch_dir)

    stop = StopRequest()
    signal.signal(signal.SIGINT, stop.on_signal)
    signal.signal(signal.SIGTERM, stop.on_signal)
    parent_pid = os.getppid()
    log(
        f"starting executor_id={args.executor_id} ppid={parent_pid} "
        f"database={config.mask_url(args.database_url)}"
    )
    if not args.no_parent_watch:
        threading.Thread(target=watch_parent, args=(parent_pid, stop), daemon=True).start()

    from dbos import DBOS

    from . import app

    app.launch(
        args.database_url,
        args.executor_id,
        queue=args.queue,
        worker_concurrency=args.worker_concurrency,
        polling_interval_sec=args.polling_interval,
        log_level=args.log_level,
    )
    log(
        f"{READY_PREFIX} executor_id={args.executor_id} pid={os.getpid()} ppid={parent_pid} "
        f"queue={args.queue} worker_concurrency={args.worker_concurrency} "
        f"polling_interval={args.polling_interval}"
    )
    stop.event.wait()
    grace = args.grace if stop.graceful else 0
    log(f"stopping: {stop.reason}; letting running workflows finish for up to {grace} s")
    DBOS.destroy(
        workflow_completion_timeout_sec=grace if _has_running_work(args.executor_id) else 0
    )
    log("stopped")
    sys.stdout.flush()
    sys.stderr.flush()
    # Worker threads of an unfinished workflow must not keep the process alive.
    os._exit(0)


def _has_running_work(executor_id: str) -> bool:
    from dbos import DBOS

    try:
        return bool(DBOS.list_workflows(status="PENDING", executor_id=executor_id, limit=1))
    except Exception:  # the database may be gone; stopping must not fail on it
        return False


if __name__ == "__main__":
    sys.exit(main())
