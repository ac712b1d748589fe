"""pyproject.toml and environment.yml must pin the same packages at the same versions."""

from __future__ import annotations

import re
from importlib.metadata import requires
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

try:
    import tomllib
except ImportError:  # Python 3.10: read the installed package's metadata instead
    tomllib = None

REPO = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^\s*-\s*([A-Za-z0-9_.\-]+)\s*==?\s*([0-9][^\s#]*)")


def pyproject_pins() -> dict[str, str]:
    if tomllib is not None:
        project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
        specs = project["dependencies"] + [
            s for extra in project["optional-dependencies"].values() for s in extra
        ]
    else:
        specs = [r.split(";")[0] for r in requires("fiblab") or []]
    pins = {}
    for spec in specs:
        name, version = spec.split("==")
        pins[name.strip().lower()] = version.strip()
    return pins


def environment_pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "environment.yml").read_text().splitlines():
        match = PIN.match(line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_every_pyproject_pin_is_exact() -> None:
    pins = pyproject_pins()
    assert "dbos" in pins, pins
    assert all(re.fullmatch(r"[0-9][0-9.]*", v) for v in pins.values()), pins


def test_environment_yml_matches_pyproject() -> None:
    env = environment_pins()
    env.pop("python", None)
    env.pop("pip", None)
    assert env == pyproject_pins()
