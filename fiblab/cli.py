"""What the command lines of fiblab's programs share: options, argument types, a logger.

``python -m fiblab.server`` (and the variant servers, which run its ``main``),
``python -m fiblab.health`` and ``python -m fiblab.supervisor`` take the same common
options, spelled and checked the same way, and each prints ``[program pid=N] message``
lines through one :func:`logger`. Every program's exit codes are in one table below;
bad arguments exit with :data:`EXIT_BAD_ARGUMENTS` (argparse's own code).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from . import config

# --- exit codes: one table for every fiblab program ---------------------------------------
# A value may mean different things in different programs (3: request timed out, or a
# server's database file deleted); each program documents its own in its --help.

EXIT_OK = 0
#: request: some workflow failed; supervisor: gave up on a worker that kept crashing;
#: blind_health --parent-loop: a child died.
EXIT_FAILED = 1
#: Bad arguments (every program), as argparse uses it; nothing was done.
EXIT_BAD_ARGUMENTS = 2
#: request: not every result arrived within --timeout (what was enqueued stays queued).
EXIT_TIMEOUT = 3
#: server: its SQLite database file was deleted or replaced.
EXIT_DATABASE_GONE = 3
#: server: DBOS could not shut down cleanly in time (e.g. the database is down).
EXIT_UNCLEAN = 4
#: server: the database could not be reached or prepared within --database-wait.
EXIT_NO_DATABASE = 5

Log = Callable[[str], None]


def log_prefix(program: str) -> str:
    """``[program pid=N]``: how every line of a fiblab program starts."""
    return f"[{program} pid={os.getpid()}]"


def logger(program: str) -> Log:
    """A function that prints one flushed line on stdout, prefixed with ``program`` and
    this process's pid (read at each call)."""

    def log(message: str) -> None:
        print(f"{log_prefix(program)} {message}", flush=True)

    return log


def refuse(problem: str) -> int:
    """Print ``error: problem`` on stderr; return :data:`EXIT_BAD_ARGUMENTS`."""
    print(f"error: {problem}", file=sys.stderr)
    return EXIT_BAD_ARGUMENTS


# --- common options ------------------------------------------------------------------------


def add_database_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default=os.environ.get(config.DATABASE_URL_ENV),
        help=f"system database URL (sqlite:///file or postgresql://…); "
        f"default: ${config.DATABASE_URL_ENV}",
    )


def add_executor_id(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--executor-id",
        required=True,
        help="the server's executor id; restart with the same id to recover its workflows",
    )


def add_scratch_dir(parser: argparse.ArgumentParser, holds: str) -> None:
    parser.add_argument(
        "--scratch-dir",
        default=os.environ.get(config.SCRATCH_ENV),
        help=f"folder for {holds} (default: ${config.SCRATCH_ENV}, ./scratch)",
    )


def add_no_parent_watch(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-parent-watch",
        action="store_true",
        help="keep running when the process that started this one exits",
    )


def server_args_problem(database_url: str | None, executor_id: str) -> str | None:
    """What is wrong with a server's database URL or executor id, or None. Creates the
    folder of a SQLite database that does not exist yet (a fresh path just works)."""
    if not database_url:
        return f"no database: pass --database-url or set {config.DATABASE_URL_ENV}"
    try:
        config.check_name(executor_id, "executor id")
    except ValueError as error:
        return str(error)
    return make_sqlite_folder(database_url)


def make_sqlite_folder(database_url: str) -> str | None:
    """Create the folder a ``sqlite:///`` database goes in (SQLite creates the file, not
    its folder); what went wrong, naming the folder, or None."""
    sqlite_file = config.sqlite_path(database_url)
    if sqlite_file is None:
        return None
    try:
        sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return f"cannot create the folder {sqlite_file.parent} for the SQLite database: {error}"
    return None


# --- argument types ------------------------------------------------------------------------


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0..65535 (0: a free port), got {text}")
    return value


def pid(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a process id >= 1, got {text}")
    return value


def concurrency(text: str) -> int | None:
    """A worker concurrency: an int >= 1, or ``none`` for no limit."""
    if text.lower() == "none":
        return None
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1 or 'none', got {text}")
    return value
