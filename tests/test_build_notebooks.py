"""tools/build_notebooks.py: jupytext sources in, notebooks out, no JupyterLab edit lost."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from .conftest import REPO

pytestmark = pytest.mark.unit  # no process, no database

SPEC = importlib.util.spec_from_file_location("build_notebooks", REPO / "tools/build_notebooks.py")
build = sys.modules["build_notebooks"] = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(build)

REAL_SOURCES = sorted((REPO / "notebooks" / "src").glob("[0-9][0-9]_*.py"))


@pytest.fixture
def series(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of two sources in a folder of their own, built once: its notebooks folder."""
    (tmp_path / "src").mkdir()
    for source in REAL_SOURCES[:2]:
        shutil.copy(source, tmp_path / "src")
    monkeypatch.setattr(build, "NOTEBOOKS", tmp_path)
    monkeypatch.setattr(build, "SOURCES", tmp_path / "src")
    assert build.main([]) == 0
    assert build.main(["--check"]) == 0
    return tmp_path


def edit_cell(path: Path, text: str | None = None) -> None:
    """Change the first code cell as JupyterLab saves it: run, with outputs and UI state."""
    nb = nbformat.read(path, as_version=4)
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.source = code.source if text is None else text
    code.execution_count = 1
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    code.metadata["scrolled"] = True
    nb.metadata["language_info"]["version"] = "3.11.2"
    nbformat.write(nb, path)


def first(series: Path, suffix: str) -> Path:
    return next(p for p in sorted(series.glob(f"**/01_*{suffix}")))


@pytest.mark.parametrize("source", REAL_SOURCES, ids=lambda p: p.stem[:2])
def test_a_notebook_converts_back_to_exactly_its_source(source: Path) -> None:
    text = source.read_text()
    nb = build.parse(text, source.name)
    assert build.to_source(nb) == text, (
        f"{source.name} is not written the way --from-ipynb writes it back: after "
        f"`make notebooks`, `build_notebooks.py --from-ipynb {source.stem[:2]} --force` rewrites it"
    )
    solutions = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    assert all(c.metadata["jupyter"] == {"source_hidden": True} for c in solutions)


def test_the_built_notebooks_keep_tags_hidden_solutions_ids_and_kernel() -> None:
    built = build.notebooks()
    nb = built[REPO / "notebooks" / f"{REAL_SOURCES[0].stem}.ipynb"]
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert [c.id for c in nb.cells[1:-1]] == [f"cell-{i:02d}" for i in range(len(nb.cells) - 2)]
    assert (nb.cells[0].id, nb.cells[-1].id) == ("nav-top", "nav-bottom")
    every = [c for notebook in built.values() for c in notebook.cells]
    assert any(c.metadata.get("tags") == ["exercise-check"] for c in every)
    assert any(c.metadata.get("tags") == ["solution"] for c in every)
    assert all(c.get("outputs", []) == [] for c in every)


@pytest.mark.parametrize(
    "header", ["# %% solution", "# %% tags=raises-exception", '# %% tags=["solution"]']
)
def test_a_header_the_notebook_would_not_carry_is_refused(header: str) -> None:
    with pytest.raises(ValueError, match=r"cell 1 .*source_hidden"):
        build.parse(f"{header}\nx = 1\n", "NN_test.py")


def test_an_old_style_header_stops_the_build(series: Path, capsys: pytest.CaptureFixture) -> None:
    source = first(series, ".py")
    source.write_text(source.read_text() + "\n# %% solution\nanswer = 42\n")
    before = first(series, ".ipynb").read_bytes()
    assert build.main([]) == 2
    assert f"error: {source.name}, cell" in capsys.readouterr().err
    assert first(series, ".ipynb").read_bytes() == before


def test_check_fails_when_a_source_changed(series: Path, capsys: pytest.CaptureFixture) -> None:
    source = first(series, ".py")
    source.write_text(source.read_text().replace("# %%\n", "# %%\n# new line\n", 1))
    before = first(series, ".ipynb").read_bytes()
    assert build.main(["--check"]) == 1
    assert capsys.readouterr().out == f"stale: {series.name}/{first(series, '.ipynb').name}\n"
    assert first(series, ".ipynb").read_bytes() == before
    assert build.main([]) == 0
    assert "# new line" in first(series, ".ipynb").read_text()


def test_outputs_and_ui_state_are_not_edits(series: Path) -> None:
    notebook = first(series, ".ipynb")
    edit_cell(notebook)  # the same text, but run and saved
    assert build.main(["--check"]) == 1
    assert build.main([]) == 0
    assert all(c.get("outputs", []) == [] for c in nbformat.read(notebook, as_version=4).cells)


def test_an_edited_notebook_is_not_overwritten(series: Path, capsys: pytest.CaptureFixture) -> None:
    notebook, source = first(series, ".ipynb"), first(series, ".py")
    edit_cell(notebook, "# an edit made in JupyterLab")
    source.write_text(source.read_text() + "\n# %%\nanother = 1\n")
    edited = notebook.read_bytes()
    assert build.main([]) == 1
    assert notebook.read_bytes() == edited
    message = capsys.readouterr().err
    refusal = f"not overwriting {series.name}/{notebook.name}: it was edited"
    assert refusal in message
    assert f"--from-ipynb {notebook.stem[:2]}" in message and "--force" in message
    assert build.main(["--check"]) == 1
    assert refusal in capsys.readouterr().err  # and --check says why

    # Both sides changed: carrying the edit back would lose the source's change.
    with pytest.raises(SystemExit, match=r"(?s)changed too.*\+# an edit made in JupyterLab"):
        build.main(["--from-ipynb", "01"])
    assert "another = 1" in source.read_text()

    assert build.main(["--force"]) == 0
    assert "an edit made in JupyterLab" not in notebook.read_text()
    assert "another = 1" in notebook.read_text()


def test_from_ipynb_carries_the_edit_into_the_source(series: Path) -> None:
    notebook, source = first(series, ".ipynb"), first(series, ".py")
    edit_cell(notebook, "# an edit made in JupyterLab")
    assert build.main([]) == 1
    assert build.main(["--from-ipynb", notebook.stem[:2]]) == 0
    assert "\n# an edit made in JupyterLab\n" in source.read_text()
    assert "nav-top" not in source.read_text() and "Index" not in source.read_text()
    assert build.main(["--check"]) == 0
    cells = nbformat.read(notebook, as_version=4).cells
    assert "# an edit made in JupyterLab" in [c.source for c in cells]
    assert cells[0].id == "nav-top" and all(c.get("outputs", []) == [] for c in cells)


# --- 00_index's map of the original experiment -------------------------------------------

#: The original's files (its exp9 folder and screenshot), written down here: CI has only
#: this repository, not the original.
ORIGINAL_FILES = {
    "server.py",
    "server2.py",
    "server3.py",
    "client.py",
    *(f"ex{i}.py" for i in range(1, 6)),
    "exp9-screenshot.png",
}


def sections(stem: str) -> dict[str, str]:
    """A notebook source's headings, each with its text (cells of any kind) up to the next
    heading of the same or a higher level."""
    nb = build.parse((REPO / "notebooks" / "src" / f"{stem}.py").read_text(), f"{stem}.py")
    found: dict[str, str] = {}
    open_: list[tuple[int, str]] = []  # (level, heading) of the sections still open
    for cell in nb.cells:
        for line in cell.source.splitlines():
            heading = re.match(r"^(#{1,6}) (.+)$", line) if cell.cell_type == "markdown" else None
            if heading:
                level = len(heading.group(1))
                open_ = [(lv, h) for lv, h in open_ if lv < level] + [(level, heading.group(2))]
                found.setdefault(heading.group(2).strip(), "")
            for _level, name in open_:
                found[name.strip()] += line + "\n"
    return found


def test_the_map_names_every_file_of_the_original_once() -> None:
    named = [row.original for row in build.ORIGINAL_MAP]
    assert sorted(named) == sorted(ORIGINAL_FILES)


@pytest.mark.parametrize("row", build.ORIGINAL_MAP, ids=lambda row: row.original)
def test_the_map_points_at_sections_that_exist(row) -> None:
    assert row.sections and row.flaw
    for stem, heading in row.sections:
        assert (REPO / "notebooks" / f"{stem}.ipynb").is_file(), f"no notebook {stem}.ipynb"
        assert heading in sections(stem), (
            f"{row.original}: notebooks/src/{stem}.py has no heading {heading!r}; "
            f"its headings: {list(sections(stem))}"
        )
    stem, heading = row.sections[0]
    assert row.mention in sections(stem)[heading], (
        f"{stem} § {heading!r} is named first for {row.original} but does not mention it"
    )


def test_the_index_shows_the_map_as_a_table() -> None:
    index = build.notebooks()[REPO / "notebooks" / "00_index.ipynb"]
    table = index.cells[-1].source.splitlines()
    for row in build.ORIGINAL_MAP:
        line = next(line for line in table if line.startswith(f"| `{row.original}` |"))
        assert line.count("|") == 4, f"a '|' inside a cell breaks the table: {line}"
        for stem, heading in row.sections:
            assert f"]({stem}.ipynb)" in line and f"§ {heading}" in line
        assert line.endswith(f"| {row.flaw} |")
