"""Crashes on purpose: a step that kills its own process for real, at a chosen step.

:func:`crash_process` crashes this process (SIGKILL itself, or a segfault);
:func:`should_crash` decides, deterministically, whether a step crashes now: once per
workflow and step (a marker file in the scratch folder survives the crash), or every
time until the "fix is deployed" (:data:`BUG_FIXED_FILE`). :func:`note_step` is what a
variant's step calls: record that it runs (:mod:`fiblab.steplog`), then crash if told.
"""

from __future__ import annotations

import ctypes
import os
import signal
from typing import Literal

from dbos import DBOS

from . import config
from .steplog import record_execution

CrashMode = Literal["kill", "segfault"]
CRASH_MODES: tuple[str, ...] = ("kill", "segfault")

#: A step told to crash on every execution stops crashing once a file of this name is in
#: the scratch folder: the notebooks' stand-in for deploying a fix of the bug.
BUG_FIXED_FILE = "bug-fixed"


def crash_process(mode: CrashMode) -> None:
    """Crash this process for real: SIGKILL itself, or read address 0 (a segfault)."""
    print(f"fiblab: crashing on purpose ({mode}) pid={os.getpid()}", flush=True)
    if mode == "segfault":
        ctypes.string_at(0)
    os.kill(os.getpid(), signal.SIGKILL)


def should_crash(workflow_id: str, step: int, every_time: bool) -> bool:
    """Whether the step should crash now: every time (until :data:`BUG_FIXED_FILE`
    appears), or once per workflow and step (a marker file in the scratch folder
    remembers it across the crash)."""
    if every_time:
        return not (config.scratch_dir() / BUG_FIXED_FILE).exists()
    marker = config.scratch_dir() / "crash-markers" / f"{workflow_id}-{step}"
    marker.parent.mkdir(parents=True, exist_ok=True)
    try:
        marker.touch(exist_ok=False)  # once only: the marker survives the crash
    except FileExistsError:
        return False
    return True


def note_step(
    step: int,
    crash_at: int | None = None,
    crash_every_time: bool = False,
    crash_mode: CrashMode = "kill",
) -> None:
    """Record that ``step`` of the current workflow really runs; crash at ``crash_at``.

    The crash is real (SIGKILL or a segfault, see :func:`crash_process`) and happens
    once per workflow and step (a marker file survives it), or every time.
    """
    workflow_id = DBOS.workflow_id or "no-workflow"
    record_execution(workflow_id, step)
    if step == crash_at and should_crash(workflow_id, step, crash_every_time):
        crash_process(crash_mode)
