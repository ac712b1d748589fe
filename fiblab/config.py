"""Where fiblab keeps its state: the system database URL, scratch folders, pinned names.

The embedded default is a SQLite file inside a scratch folder of the caller's own
(one per notebook). Setting ``FIBLAB_DATABASE_URL=postgresql://…`` switches every
fiblab process to PostgreSQL. Passwords are never shown: use :func:`mask_url`.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

#: One DBOS application name for every fiblab process: DBOS dequeues and recovers
#: only workflows owned by its own application (or by none).
APP_NAME = "fiblab"

#: Pinned application version. DBOS's default is a hash of the workflow source, which
#: a notebook kernel that defines a workflow changes; recovery and dequeuing follow it.
APP_VERSION = "fiblab-1"

#: The queue and workflow names the original experiment's clients know.
QUEUE_NAME = "my_queue"
WORKFLOW_NAME = "fibonacci_workflow"

#: Queue polling interval of a fiblab server, seconds. DBOS's default (1.0 s) makes
#: every round trip cost about a second; 0.1 s costs a few % of a core when idle.
QUEUE_POLLING_INTERVAL_SEC = 0.1

#: How often a result handle checks the database, seconds (DBOS's default: 1.0 s).
RESULT_POLLING_INTERVAL_SEC = 0.01

#: How often DBOS's notification thread wakes on SQLite, seconds (DBOS's default: 1.0 s).
#: ``DBOS.destroy`` waits for that thread, so the default adds up to a second to every
#: stop; a wake-up with nothing to check costs no database query.
NOTIFICATION_POLLING_INTERVAL_SEC = 0.1

#: How often DBOS sends the PostgreSQL notifications it batches (events and streams;
#: fiblab's readers of a progress stream poll anyway), seconds. DBOS's default, 0.01 s,
#: wakes a thread 100 times a second in every process for nothing here.
NOTIFICATION_COALESCE_SEC = 0.1

#: How long a server keeps trying to reach its database and create DBOS's tables before
#: it gives up, seconds (a busy SQLite file or a PostgreSQL that is still starting).
DATABASE_WAIT_SEC = 30.0

#: The DBOS stream key ``fibonacci_steps_workflow(…, progress=True)`` writes its progress to:
#: the Fibonacci index reached after every few steps and the last one, in order
#: (``fiblab.app.progress_positions``), then the stream is closed.
PROGRESS_STREAM = "progress"

#: Logger of the workflows' "started"/"finished" lines; a server prints it, a kernel not.
WORKFLOW_LOGGER = "fiblab.workflows"

DATABASE_URL_ENV = "FIBLAB_DATABASE_URL"
SCRATCH_ENV = "FIBLAB_SCRATCH_DIR"
SCRATCH_ROOT_ENV = "FIBLAB_SCRATCH_ROOT"
SQLITE_FILENAME = "fiblab.sqlite"

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$")

# This process's own scratch folder (see use_scratch_dir); None: FIBLAB_SCRATCH_DIR.
_process_scratch: Path | None = None


def check_name(name: str, what: str = "name") -> str:
    """Return ``name`` if it is a safe identifier for files and databases, else raise."""
    if not isinstance(name, str) or not _NAME_PATTERN.match(name):
        raise ValueError(
            f"{what} {name!r} is not allowed: use 1-63 letters, digits, '_', '.' or '-', "
            "starting with a letter, digit or '_'"
        )
    return name


def use_scratch_dir(path: Path | str | None) -> None:
    """Make ``path`` this process's scratch folder: where the steps that run in this
    process write their side files (step log, crash markers). ``None`` undoes it.

    A setting of this process only: unlike ``FIBLAB_SCRATCH_DIR`` it reaches no child
    process, and a notebook kernel changes it only by launching DBOS in it
    (``Lab.launch_dbos``), so a second Lab in the same kernel does not redirect it.
    """
    global _process_scratch
    _process_scratch = None if path is None else Path(path).resolve()


def scratch_dir(name: str | None = None, root: Path | str | None = None) -> Path:
    """The scratch folder for ``name`` (created on demand).

    With no name, this process's folder: the one :func:`use_scratch_dir` set, else the
    one ``FIBLAB_SCRATCH_DIR`` names (what a server was started with), else ``./scratch``.
    With a name, ``<root>/scratch/<name>`` if ``root`` is given, else
    ``$FIBLAB_SCRATCH_ROOT/<name>`` (the test suite sets it, so tests never touch a
    learner's notebook folders), else ``./scratch/<name>``.
    """
    if name is None:
        path = _process_scratch or Path(os.environ.get(SCRATCH_ENV) or Path.cwd() / "scratch")
    elif root is not None:
        path = Path(root) / "scratch" / check_name(name, "scratch name")
    else:
        base = os.environ.get(SCRATCH_ROOT_ENV) or Path.cwd() / "scratch"
        path = Path(base) / check_name(name, "scratch name")
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def is_postgres(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database."""
    return urlsplit(url).scheme.split("+")[0] in ("postgresql", "postgres")


def database_url(
    name: str, scratch: Path | None = None, sqlite: bool = False, server: str | None = None
) -> str:
    """The system database URL for the notebook or test called ``name``.

    ``server`` (a PostgreSQL URL) given, or else ``FIBLAB_DATABASE_URL`` set (and
    ``sqlite`` not asked for): that PostgreSQL server, with a database of this name's own
    (``<dbname>_<name>``), so notebooks stay independent. Otherwise a SQLite file in the
    scratch folder.
    """
    check_name(name)
    base = "" if sqlite else (server or os.environ.get(DATABASE_URL_ENV, "")).strip()
    if base:
        if not is_postgres(base):
            if base.startswith("sqlite:///"):
                return base
            raise ValueError(
                f"{DATABASE_URL_ENV}={mask_url(base)} is not a postgresql:// or sqlite:/// URL"
            )
        parts = urlsplit(base)
        dbname = parts.path.lstrip("/") or "fiblab"
        suffix = re.sub(r"[^a-z0-9_]", "_", name.lower())
        full = f"{dbname}_{suffix}"
        if len(full) > 63:  # PostgreSQL truncates longer names: keep them distinct
            digest = hashlib.sha1(full.encode()).hexdigest()[:8]
            full = f"{full[:54]}_{digest}"
        return urlunsplit(parts._replace(path=f"/{full}"))
    folder = scratch if scratch is not None else scratch_dir(name)
    return f"sqlite:///{Path(folder) / SQLITE_FILENAME}"


def sqlite_path(url: str) -> Path | None:
    """The file behind a ``sqlite:///`` URL, or None for other databases."""
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///") :])
    return None


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (safe to print or log)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
