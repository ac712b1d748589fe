"""tools/find_python.sh and the Makefile: an unsupported python3 gives way, or stops early.

Stand-in interpreters (shell scripts that answer the version question) on a PATH of their
own, so the Pythons of this machine play no part.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import REPO, sqlite_pass_only

# Starts processes (sh, make), opens no database: the PostgreSQL pass would rerun it as is.
pytestmark = [pytest.mark.integration, sqlite_pass_only]

FIND_PYTHON = REPO / "tools" / "find_python.sh"


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A PATH with the tools make and the script need, and no Python at all."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "make", "id", "date", "cat", "echo"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    return bin_dir


def fake_python(bin_dir: Path, name: str, version: str) -> Path:
    """A stand-in ``name`` that reports ``version``, and logs any other use and fails."""
    path = bin_dir / name
    path.write_text(
        "#!/bin/sh\n"
        f'case "$2" in *version_info*) echo {version}; exit 0;; esac\n'
        f'echo "{name} $*" >> "{bin_dir}/used.log"\n'
        "exit 3\n"
    )
    path.chmod(0o755)
    return path


def run(args: list, bin_dir: Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": str(bin_dir)}
    env.pop("MAKEFLAGS", None)
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd, timeout=60)


def test_a_supported_python3_is_used(bin_dir: Path) -> None:
    fake_python(bin_dir, "python3", "3.13")
    fake_python(bin_dir, "python3.12", "3.12")
    proc = run(["sh", str(FIND_PYTHON)], bin_dir)
    assert (proc.returncode, proc.stdout) == (0, "python3\n"), proc.stderr


def test_a_too_old_python3_gives_way_to_a_supported_one(bin_dir: Path) -> None:
    fake_python(bin_dir, "python3", "3.10")
    fake_python(bin_dir, "python3.12", "3.12")
    fake_python(bin_dir, "python3.11", "3.11")
    proc = run(["sh", str(FIND_PYTHON)], bin_dir)
    assert (proc.returncode, proc.stdout) == (0, "python3.12\n"), proc.stderr
    assert "python3 is Python 3.10; using python3.12" in proc.stderr


def test_a_too_new_python3_gives_way_too(bin_dir: Path) -> None:
    fake_python(bin_dir, "python3", "3.16")
    fake_python(bin_dir, "python3.14", "3.14")
    proc = run(["sh", str(FIND_PYTHON), "python3"], bin_dir)
    assert (proc.returncode, proc.stdout) == (0, "python3.14\n"), proc.stderr


def test_make_builds_the_venv_with_the_python_it_found(bin_dir: Path, tmp_path: Path) -> None:
    fake_python(bin_dir, "python3", "3.10")
    fake_python(bin_dir, "python3.12", "3.12")  # logs `-m venv …`, then fails: enough here
    venv = tmp_path / "venv"
    proc = run(["make", "-C", str(REPO), f"VENV={venv}", f"{venv}/bin/.fiblab-installed"], bin_dir)
    assert proc.returncode != 0
    assert (bin_dir / "used.log").read_text() == f"python3.12 -m venv {venv}\n"


def test_without_a_supported_python_make_stops_before_the_venv(
    bin_dir: Path, tmp_path: Path
) -> None:
    fake_python(bin_dir, "python3", "3.10")
    fake_python(bin_dir, "python3.9", "3.9")
    venv = tmp_path / "venv"
    proc = run(["make", "-C", str(REPO), f"VENV={venv}", f"{venv}/bin/.fiblab-installed"], bin_dir)
    assert proc.returncode != 0
    assert "fiblab needs Python 3.11 to 3.15 (3.15 3.14 3.13 3.12 3.11)" in proc.stderr
    assert "python3 is Python 3.10" in proc.stderr
    assert "uv python install 3.12" in proc.stderr
    assert not venv.exists()
    assert not (bin_dir / "used.log").exists()  # no interpreter was asked to do anything
