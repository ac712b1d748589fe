"""Build notebooks/NN_*.ipynb from their diffable sources in notebooks/src/NN_*.py.

Source format ("percent" cells):

    # %% [markdown]
    # Markdown text, each line starting with "# ".
    # %%
    code
    # %% tags=raises-exception
    code that fails on purpose
    # %% solution
    code whose source JupyterLab hides (an exercise's solution)

Every notebook gets previous / index / next links at its top and bottom, and
``00_index.ipynb`` lists the series with each notebook's objectives and time estimate
(read from the opening cell: ``# NN · Title``, ``**You will be able to:** …``,
``**Time:** …``).

Usage: ``python tools/build_notebooks.py`` (write) or ``--check`` (exit 1 if stale).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
KERNEL = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def parse(source: str) -> nbformat.NotebookNode:
    """Turn one percent-format source into a notebook without outputs."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"}}
    chunks: list[tuple[str, list[str]]] = []
    for line in source.splitlines():
        if line.startswith("# %%"):
            chunks.append((line[4:].strip(), []))
        elif chunks:
            chunks[-1][1].append(line)
    for index, (header, lines) in enumerate(chunks):
        text = "\n".join(lines).strip("\n")
        cell_id = f"cell-{index:02d}"
        if header.startswith("[markdown]"):
            body = "\n".join(
                line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines
            )
            cell = nbformat.v4.new_markdown_cell(body.strip("\n"), id=cell_id)
        else:
            cell = nbformat.v4.new_code_cell(text, id=cell_id)
            tags = []
            for word in header.split():
                if word.startswith("tags="):
                    tags += word[5:].split(",")
                elif word == "solution":
                    tags.append("solution")
                    cell.metadata["jupyter"] = {"source_hidden": True}
            if tags:
                cell.metadata["tags"] = tags
        nb.cells.append(cell)
    return nb


@dataclass
class Entry:
    """What the index and the navigation need to know about one notebook."""

    stem: str
    title: str
    objectives: str
    time: str

    @property
    def link(self) -> str:
        return f"[{self.title}]({self.stem}.ipynb)"


def describe(stem: str, nb: nbformat.NotebookNode) -> Entry:
    """Title, objectives and time estimate from a notebook's opening markdown cell."""
    opening = nb.cells[0].source
    title = re.search(r"^# (.+)$", opening, re.M)
    goals = re.search(r"\*\*You will be able to:\*\*(.+?)(?:\n\n|$)", opening, re.S)
    time = re.search(r"\*\*Time:\*\*\s*(.+)", opening)
    return Entry(
        stem,
        title.group(1).strip() if title else stem,
        " ".join(goals.group(1).split()) if goals else "",
        time.group(1).strip().rstrip(".") if time else "",
    )


def navigation(entries: list[Entry], index: int) -> str:
    """One markdown line: previous · index · next."""
    parts = []
    if index > 0:
        parts.append(f"← {entries[index - 1].link}")
    parts.append("[Index](00_index.ipynb)")
    if index + 1 < len(entries):
        parts.append(f"{entries[index + 1].link} →")
    return " · ".join(parts)


def index_notebook(entries: list[Entry]) -> nbformat.NotebookNode:
    """00_index: the series in order, with objectives and time estimates."""
    lines = [
        "# fiblab · durable execution with DBOS, made visible",
        "",
        "Run the notebooks in order; each one starts from a clean slate of its own, so you can",
        "also jump straight to any of them.",
        "",
        "| notebook | you will be able to | time |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {e.link} | {e.objectives} | {e.time} |" for e in entries]
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"}}
    nb.cells.append(nbformat.v4.new_markdown_cell("\n".join(lines), id="index"))
    return nb


def notebooks() -> dict[Path, nbformat.NotebookNode]:
    """Every notebook to write, by path: the series with navigation, and the index."""
    sources = sorted((NOTEBOOKS / "src").glob("[0-9][0-9]_*.py"))
    parsed = [(src.stem, parse(src.read_text())) for src in sources]
    entries = [describe(stem, nb) for stem, nb in parsed]
    result = {NOTEBOOKS / "00_index.ipynb": index_notebook(entries)}
    for position, (stem, nb) in enumerate(parsed):
        nav = navigation(entries, position)
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(nav, id="nav-top"))
        nb.cells.append(nbformat.v4.new_markdown_cell(nav, id="nav-bottom"))
        result[NOTEBOOKS / f"{stem}.ipynb"] = nb
    return result


def build(check: bool = False) -> list[Path]:
    """Write (or, with ``check``, compare) every notebook; returns the stale ones."""
    stale = []
    for target, nb in notebooks().items():
        text = nbformat.writes(nb) + "\n"
        if not target.exists() or target.read_text() != text:
            stale.append(target)
            if not check:
                target.write_text(text)
    return stale


if __name__ == "__main__":
    checking = "--check" in sys.argv
    changed = build(check=checking)
    for path in changed:
        print(("stale: " if checking else "wrote: ") + str(path.relative_to(NOTEBOOKS.parent)))
    sys.exit(1 if checking and changed else 0)
