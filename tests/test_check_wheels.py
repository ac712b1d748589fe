"""tools/check_wheels.py without the network: what it asks pip, and how it reads the answer.

The check itself talks to the package index: `make test` runs it as a step of its own
(`make check-wheels`), before pytest, once rather than once per pass.
"""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from .conftest import REPO

pytestmark = pytest.mark.unit

SPEC = importlib.util.spec_from_file_location("check_wheels", REPO / "tools/check_wheels.py")
cw = importlib.util.module_from_spec(SPEC)
sys.modules[SPEC.name] = cw  # its dataclasses look their module up there
SPEC.loader.exec_module(cw)

PLATFORM = {p.name: p for p in cw.PLATFORMS}

# What pip 26 prints when a pin has no wheel for the target (abridged).
NO_MATCH = (
    "ERROR: Could not find a version that satisfies the requirement matplotlib==3.10.9"
    " (from versions: none)\n"
    "ERROR: No matching distribution found for matplotlib==3.10.9\n"
)
# ... and when a dependency of a dependency has none (here on macOS 10.15, Python 3.15).
CONFLICT = (
    '    sqlalchemy[asyncio] 2.1.9 depends on greenlet>=1; extra == "asyncio"\n\n'
    "Additionally, some packages in these conflicts have no matching distributions"
    " available for your environment:\n"
    "    greenlet\n\n"
    "To fix this you could try to:\n"
    "ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/...\n"
)


def test_the_pins_are_the_dependencies_and_the_test_extras() -> None:
    pins = cw.pins()
    assert pins[0] == "dbos==3.4.0"
    assert any(p.startswith("matplotlib==") for p in pins)
    assert any(p.startswith("pytest==") for p in pins)
    assert all("==" in p for p in pins)


def test_four_platforms_and_their_tags() -> None:
    assert list(PLATFORM) == ["linux-x86_64", "linux-aarch64", "macos-arm64", "macos-x86_64"]
    linux = PLATFORM["linux-aarch64"].tags
    assert linux[0] == "manylinux_2_28_aarch64" and "manylinux_2_17_aarch64" in linux
    assert "manylinux2014_aarch64" in linux
    assert PLATFORM["macos-arm64"].tags == ("macosx_11_0_arm64",)


def test_pip_is_asked_for_wheels_only_with_the_targets_markers(tmp_path) -> None:
    cmd = cw.pip_command(
        "3.15", PLATFORM["macos-arm64"], ["matplotlib==3.11.2"], tmp_path / "r.json", tmp_path
    )
    args = cmd[4:]
    for flag in ("--dry-run", "--ignore-installed", "--only-binary=:all:"):
        assert flag in args
    assert args[args.index("--python-version") + 1] == "3.15"
    assert args[args.index("--platform") + 1] == "macosx_11_0_arm64"
    assert args[-1] == "matplotlib==3.11.2"
    target = json.loads(cmd[3])
    assert target["version"] == "315"
    assert target["markers"]["sys_platform"] == "darwin"
    assert target["markers"]["platform_machine"] == "arm64"
    assert target["markers"]["python_version"] == "3.15"


def test_the_package_without_a_wheel_is_named() -> None:
    assert cw.without_wheel(NO_MATCH) == ["matplotlib==3.10.9"]
    assert cw.without_wheel(CONFLICT) == ["greenlet"]
    assert cw.without_wheel("ERROR: some network trouble") == []


def result(python: str, platform: str, missing: list[str] | None = None) -> object:
    ok = missing is None
    return cw.Result(python, PLATFORM[platform], ok, missing or [], "", 1.0)


def test_the_table_and_the_failures_name_python_platform_and_package() -> None:
    results = [
        result("3.14", "linux-x86_64"),
        result("3.14", "macos-arm64"),
        result("3.15", "linux-x86_64"),
        result("3.15", "macos-arm64", ["matplotlib==3.10.9"]),
    ]
    platforms = [PLATFORM["linux-x86_64"], PLATFORM["macos-arm64"]]
    assert cw.table(results, ["3.14", "3.15"], platforms).splitlines() == [
        "Python  Linux x86_64  macOS arm64",
        "3.14    ok            ok",
        "3.15    ok            no wheel: matplotlib==3.10.9",
    ]
    assert cw.failures(results) == [
        "FAIL: Python 3.15 on macOS arm64 (macosx_11_0_arm64…): no wheel for matplotlib==3.10.9"
    ]
