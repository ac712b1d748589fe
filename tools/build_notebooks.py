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

Usage: ``python tools/build_notebooks.py`` (write) or ``--check`` (exit 1 if stale).
"""

from __future__ import annotations

import sys
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


def build(check: bool = False) -> list[Path]:
    """Write (or, with ``check``, compare) every notebook; returns the stale ones."""
    stale = []
    for src in sorted((NOTEBOOKS / "src").glob("[0-9][0-9]_*.py")):
        target = NOTEBOOKS / f"{src.stem}.ipynb"
        text = nbformat.writes(parse(src.read_text())) + "\n"
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
