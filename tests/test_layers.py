"""The README's module table says what pyproject.toml's import-linter contracts enforce.

``lint-imports`` (in ``make test`` and ``make test-fast``) checks the imports against the
contracts; this checks that the README's table names every module once, in the same
group as the contracts put it.
"""

from __future__ import annotations

import re
import tomllib

import pytest

from .conftest import REPO

pytestmark = pytest.mark.unit

GROUPS = {
    "the notebook side": "notebook",
    "the programs": "programs",
    "shared by both sides": "shared",
}


def contracts() -> dict[str, dict]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def contract_groups() -> dict[str, set[str]]:
    """Module name → group, as the contracts state it."""
    by_id = contracts()
    notebook = {m.removeprefix("fiblab.") for m in by_id["notebook-side-apart"]["source_modules"]}
    programs = {m.removeprefix("fiblab.") for m in by_id["programs-apart"]["source_modules"]}
    upper, lower = (
        set(re.split(r"\s*[:|]\s*", layer.strip())) for layer in by_id["layers"]["layers"]
    )
    assert upper == notebook | programs and not notebook & programs, "layers and groups disagree"
    return {"notebook": notebook, "programs": programs, "shared": lower}


def readme_groups() -> dict[str, set[str]]:
    """Module name → group, as the README's table of ``The fiblab package`` lists it."""
    text = (REPO / "README.md").read_text()
    section = text.split("## The fiblab package", 1)[1].split("\n### ", 1)[0]
    groups: dict[str, set[str]] = {}
    current = None
    for match in re.finditer(r"^\| (\*\*(.+?)\*\*|`([\w/]+?)(?:\.py)?/?`) \|", section, re.M):
        if match[2]:
            current = GROUPS[match[2]]
            groups[current] = set()
        else:
            assert current is not None, f"{match[3]} is listed before any group"
            groups[current].add(match[3].rstrip("/"))
    return groups


def test_the_readme_table_groups_the_modules_as_the_contracts_do() -> None:
    assert readme_groups() == contract_groups()


def test_every_module_of_the_package_is_in_the_readme_table() -> None:
    on_disk = {p.stem for p in (REPO / "fiblab").glob("*.py") if p.stem != "__init__"}
    on_disk |= {p.name for p in (REPO / "fiblab").iterdir() if (p / "__init__.py").exists()}
    assert on_disk == set().union(*readme_groups().values())
