"""Side channels outside DBOS that count what really ran, in the scratch folder.

DBOS records a step once it completes; these files record every time a step, or a
workflow body, *starts* — also the runs a crash interrupted and a recovery repeated.
Processes append to them with one atomic write per line, so servers and a notebook
kernel can share them.

* ``step-executions.log`` (:func:`record_execution`, :func:`read_executions`): one
  line per step execution: workflow id, step, pid, time.
* ``workflow-runs.log`` (:func:`note_run`, :func:`runs_started`): one line each time a
  workflow body starts (the variants of notebook 08 use it).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from . import config

EXECUTIONS_FILE = "step-executions.log"
RUNS_FILE = "workflow-runs.log"


def record_execution(workflow_id: str, step: int, scratch: Path | None = None) -> None:
    """Append ``workflow_id step pid`` to the executions file (one atomic write)."""
    path = (scratch or config.scratch_dir()) / EXECUTIONS_FILE
    line = f"{workflow_id} {step} {os.getpid()} {time.time():.6f}\n".encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_executions(scratch: Path, workflow_id: str | None = None) -> list[dict]:
    """Every recorded step execution (optionally of one workflow), oldest first."""
    path = Path(scratch) / EXECUTIONS_FILE
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        wf, step, pid, at = line.split()
        if workflow_id is None or wf == workflow_id:
            rows.append({"workflow_id": wf, "step": int(step), "pid": int(pid), "at": float(at)})
    return rows


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
