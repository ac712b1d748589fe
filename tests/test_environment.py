"""pyproject.toml and environment.yml pin the same packages at the same versions, and every
place that states the supported Pythons states the same range."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^\s*-\s*([A-Za-z0-9_.\-]+)\s*==?\s*([0-9][^\s#]*)")


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def pyproject_pins() -> dict[str, str]:
    project = pyproject()["project"]
    specs = project["dependencies"] + [
        s for extra in project["optional-dependencies"].values() for s in extra
    ]
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


def supported_pythons() -> list[str]:
    return pyproject()["tool"]["fiblab"]["pythons"]


def test_the_supported_pythons_are_consecutive() -> None:
    minors = [int(v.split(".")[1]) for v in supported_pythons()]
    assert all(v.startswith("3.") for v in supported_pythons())
    assert minors == list(range(minors[0], minors[-1] + 1)), supported_pythons()


def test_requires_python_and_ruff_start_at_the_oldest_supported() -> None:
    oldest = supported_pythons()[0]
    assert pyproject()["project"]["requires-python"] == f">={oldest}"
    assert pyproject()["tool"]["ruff"]["target-version"] == "py" + oldest.replace(".", "")


def test_environment_yml_states_the_same_range() -> None:
    oldest, newest = supported_pythons()[0], supported_pythons()[-1]
    beyond = f"3.{int(newest.split('.')[1]) + 1}"
    lines = (REPO / "environment.yml").read_text().splitlines()
    assert f"  - python>={oldest},<{beyond}" in lines


def test_find_python_accepts_the_same_range() -> None:
    script = (REPO / "tools" / "find_python.sh").read_text()
    pythons = supported_pythons()
    assert f'SUPPORTED="{" ".join(reversed(pythons))}"' in script
    assert f"OLDEST={pythons[0]}" in script and f"NEWEST={pythons[-1]}" in script


def test_the_readme_states_the_same_range() -> None:
    readme = (REPO / "README.md").read_text()
    assert f"Python {supported_pythons()[0]} to {supported_pythons()[-1]}" in readme
    assert "Python ≥" not in readme
