"""The designs that do *not* survive a crash (and their fixes), as launchable server modules.

Each module defines its workflows at import time and, run as
``python -m fiblab.variants.<name> --executor-id ID …``, serves them with
:func:`fiblab.server.main` (same options as ``python -m fiblab.server``):

* ``memo_instance``     – a memoising calculator *instance* (``self.memo``) vs. state
  rebuilt in workflow code (notebook 07, section 1).
* ``plain_class``       – a plain class created inside the workflow; a step that crashes
  the process every time → crash loop (notebook 07, section 3).
* ``instance_argument`` – an object with credentials passed as a workflow argument vs.
  identifiers + a secret read inside a step (notebook 07, section 4).
* ``completion_order``  – steps called in the order they happen to finish vs. in a fixed
  order (notebook 08, part 1 and 3).
* ``workflow_in_step``  – a workflow started from inside a step vs. from workflow code
  (notebook 08, section 2).

Not a server but a program of three processes: ``blind_health`` – the original
``server2.py``'s health check, which says "healthy" while its worker is dead (notebook 06).

Workflow names are distinct across modules, so a notebook kernel may import them all (to
show their source) next to :mod:`fiblab.app`.
"""

from __future__ import annotations

import base64
import importlib
import os
import re
import sys
from pathlib import Path

from dbos import DBOS

from .. import config
from ..app import CrashMode, crash_process, record_execution, should_crash

VARIANT_MODULES: tuple[str, ...] = (
    "fiblab.variants.memo_instance",
    "fiblab.variants.plain_class",
    "fiblab.variants.instance_argument",
    "fiblab.variants.completion_order",
    "fiblab.variants.workflow_in_step",
)

RUNS_FILE = "workflow-runs.log"


def serve(module_name: str, argv: list[str] | None = None) -> int:
    """Import ``module_name`` (its workflows register), then run a fiblab server for it.

    The module's ``DESCRIPTION`` heads its ``--help``. Variant modules call this from an
    ``if __name__ == "__main__":`` block placed *before* their definitions: ``python -m``
    runs a module under the name ``__main__``, but clients pickle objects by the real
    module path and DBOS refuses a class registered twice, so the server must run the
    module imported under its real name, once.
    """
    from .. import server

    module = importlib.import_module(module_name)
    return server.main(argv, prog=f"python -m {module_name}", description=module.DESCRIPTION)


def main_guard(module_name: str) -> None:
    """Serve ``module_name`` and exit (see :func:`serve`)."""
    sys.exit(serve(module_name))


def note_step(
    step: int,
    crash_at: int | None = None,
    crash_every_time: bool = False,
    crash_mode: CrashMode = "kill",
) -> None:
    """Record that ``step`` of the current workflow really runs; crash at ``crash_at``.

    The crash is real (SIGKILL or a segfault, see :func:`fiblab.app.crash_process`) and
    happens once per workflow and step (a marker file survives it), or every time.
    """
    workflow_id = DBOS.workflow_id or "no-workflow"
    record_execution(workflow_id, step)
    if step == crash_at and should_crash(workflow_id, step, crash_every_time):
        crash_process(crash_mode)


def note_run(workflow_id: str, scratch: Path | None = None) -> int:
    """Record that the body of ``workflow_id`` starts (again); return how many times it
    started before (0 on the first run, 1 after the first recovery, …).

    A side channel outside DBOS, like the world a workflow talks to: it is not replayed.
    """
    path = (scratch or config.scratch_dir()) / RUNS_FILE
    with open(path, "a+") as runs:
        runs.seek(0)
        earlier = sum(1 for line in runs if line.split()[0] == workflow_id)
        runs.write(f"{workflow_id} {os.getpid()}\n")
    return earlier


def runs_started(workflow_id: str, scratch: Path | None = None) -> int:
    """How many times the body of ``workflow_id`` started so far (see :func:`note_run`)."""
    path = (scratch or config.scratch_dir()) / RUNS_FILE
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text().splitlines() if line.split()[0] == workflow_id)


def decode_stored(text: str) -> bytes:
    """What DBOS's default serializer stored: base64 text around pickle bytes."""
    return base64.b64decode(text)


def printable_strings(data: bytes, shortest: int = 4) -> list[str]:
    """The readable words in ``data``: runs of at least ``shortest`` letters, digits,
    ``_``, ``.`` or ``-`` (what a curious reader of the database would spot first)."""
    return [run.decode() for run in re.findall(rb"[A-Za-z0-9_.\-]{%d,}" % shortest, data)]
