"""Build notebooks/NN_*.ipynb from their diffable sources in notebooks/src/NN_*.py.

The sources are jupytext "percent" scripts (https://jupytext.readthedocs.io):

    # %% [markdown]
    # Markdown text, each line starting with "# ".
    # %%
    code
    # %% tags=["raises-exception"]
    code that fails on purpose
    # %% tags=["solution"] jupyter={"source_hidden": true}
    an exercise's solution, its source hidden in JupyterLab

A cell keeps only its tags and ``jupyter.source_hidden``; cell ids are ``cell-NN`` by
position, so a rebuild changes nothing that the source did not. Every notebook gets
previous / index / next links at its top and bottom, and ``00_index.ipynb`` lists the
series with each notebook's objectives (read from the opening cell: ``# NN · Title``,
``**You will be able to:** …``) and time, shows the half-day and one-day tracks with an
agenda, then maps each file of the original experiment to the sections that retell it
(``ORIGINAL_MAP``).

Times come from the time model in ``tools/workshop.py``, computed from the sources: the
build writes each notebook's estimate into its opening cell's ``**Time:**`` paragraph,
replacing whatever the source says there (sources write
``**Time:** (computed by tools/build_notebooks.py)``).

Each built notebook records a fingerprint of its cells (``metadata.fiblab``). A notebook
whose cells no longer match it was edited since the build (in JupyterLab, say): the
build refuses to overwrite it and says how to carry the edit back into its source
(``--from-ipynb``) or to drop it (``--force``).

Usage: ``python tools/build_notebooks.py [--check] [--force] [--from-ipynb NN …]``.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workshop  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOURCES = NOTEBOOKS / "src"
KERNEL = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
FORMAT = "py:percent"
LAYOUT = "lines_to_next_cell"  # jupytext's own record of blank lines, not ours
COMMAND = ".venv/bin/python tools/build_notebooks.py"


def cell_metadata(cell: nbformat.NotebookNode) -> dict:
    """The cell metadata a source carries: tags, and whether the source is hidden."""
    metadata: dict = {}
    if cell.metadata.get("tags"):
        metadata["tags"] = list(cell.metadata["tags"])
    if cell.metadata.get("jupyter", {}).get("source_hidden"):
        metadata["jupyter"] = {"source_hidden": True}
    return metadata


def parse(source: str, name: str = "source") -> nbformat.NotebookNode:
    """Turn one percent-format source into a notebook without outputs.

    Raises ValueError for a cell header the notebook would not carry (a jupytext title,
    malformed or unknown metadata) and for a solution whose source is not hidden.
    """
    nb = jupytext.reads(source, fmt=FORMAT)
    nb.metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"}}
    for index, cell in enumerate(nb.cells):
        kept = cell_metadata(cell)
        extra = {k: v for k, v in cell.metadata.items() if k not in kept and k != LAYOUT}
        hidden = kept.get("jupyter", {}).get("source_hidden")
        if "solution" in kept.get("tags", []) and not hidden:
            extra["tags"] = ["solution", "(but no source_hidden)"]
        if extra:
            raise ValueError(
                f"{name}, cell {index + 1} ({cell.source[:40]!r}): header metadata {extra} "
                "is not what a notebook here carries; write e.g. "
                '`# %% tags=["raises-exception"]` or '
                '`# %% tags=["solution"] jupyter={"source_hidden": true}`'
            )
        cell.id = f"cell-{index:02d}"
        cell.metadata = kept
    return nb


def to_source(nb: nbformat.NotebookNode) -> str:
    """A notebook's cells (navigation left out) as a percent-format source."""
    body = nbformat.v4.new_notebook()
    body.metadata = {"jupytext": {"notebook_metadata_filter": "-all"}}  # no YAML header
    for cell in nb.cells:
        if cell.get("id") not in workshop.NAV_IDS:
            body.cells.append(copy.deepcopy(cell))
            body.cells[-1].metadata = cell_metadata(cell)
    return jupytext.writes(body, fmt=FORMAT)


def fingerprint(nb: nbformat.NotebookNode) -> str:
    """What the build recorded about a notebook's cells: outputs and UI state do not count."""
    return hashlib.sha256(to_source(nb).encode()).hexdigest()[:16]


@dataclass
class Entry:
    """What the index and the navigation need to know about one notebook."""

    stem: str
    title: str
    objectives: str
    estimate: workshop.NotebookTime

    @property
    def link(self) -> str:
        return f"[{self.title}]({self.stem}.ipynb)"

    @property
    def time(self) -> str:
        return self.estimate.sentence


def describe(stem: str, nb: nbformat.NotebookNode) -> Entry:
    """Title and objectives from a notebook's opening markdown cell, time from the model."""
    opening = next(c for c in nb.cells if c.get("id") not in workshop.NAV_IDS).source
    title = re.search(r"^# (.+)$", opening, re.M)
    goals = re.search(r"\*\*You will be able to:\*\*(.+?)(?:\n\n|$)", opening, re.S)
    return Entry(
        stem,
        title.group(1).strip() if title else stem,
        " ".join(goals.group(1).split()) if goals else "",
        workshop.estimate(stem, nb),
    )


def prepare(stem: str, source: str) -> nbformat.NotebookNode:
    """A source as the build writes it, navigation aside: parsed, its time filled in."""
    nb = parse(source, f"{stem}.py")
    workshop.fill_time_line(nb, workshop.estimate(stem, nb))
    return nb


def navigation(entries: list[Entry], index: int) -> str:
    """One markdown line: previous · index · next."""
    parts = []
    if index > 0:
        parts.append(f"← {entries[index - 1].link}")
    parts.append("[Index](00_index.ipynb)")
    if index + 1 < len(entries):
        parts.append(f"{entries[index + 1].link} →")
    return " · ".join(parts)


@dataclass(frozen=True)
class Retelling:
    """Where the series retells one file of the original experiment, and what that file
    got wrong on DBOS 3.x (one short line, only what those sections show)."""

    original: str  # a file of the original's exp9 folder, or its screenshot
    sections: tuple[tuple[str, str], ...]  # (notebook stem, a heading of it), main one first
    flaw: str

    @property
    def mention(self) -> str:
        """What the main section's notebook calls the original file."""
        return "screenshot" if self.original.endswith(".png") else self.original


#: The original experiment (dbos_experiments/exp9, DBOS 1.7), file by file, in 00_index.
ORIGINAL_MAP: tuple[Retelling, ...] = (
    Retelling(
        "server.py",
        (
            ("03_servers", "From DBOS 1.x to 3.4: the original's lines, today"),
            ("03_servers", "The killed workflow waits for its own executor id"),
            (
                "03_servers",
                "Going deeper: the original's shutdown, `DBOS.destroy()` with no timeout",
            ),
            (
                "03_servers",
                "Going deeper: exercise — write the original `server.py` for DBOS 3.4",
            ),
        ),
        "refused by 3.4 (`database_url`, `Queue(…)`); its random executor id is silently "
        "replaced by `local`, and what it meant — a new id per start — never recovers its "
        "own workflow; `DBOS.destroy()` with no timeout loses the running step's result",
    ),
    Retelling(
        "server2.py",
        (
            ("06_health_split", "The original's health check: healthy while the worker is dead"),
            ("06_health_split", "Three processes, three jobs"),
        ),
        "its health process (fixed port 8080) says healthy without looking at the worker; "
        "a killed worker stays a zombie nobody notices",
    ),
    Retelling(
        "server3.py",
        (
            ("06_health_split", "The original's health check: healthy while the worker is dead"),
            ("06_health_split", "Three processes, three jobs"),
            ("07_class_based_variants", "1 · A memoising calculator instance"),
        ),
        "its parent loop restarts nothing: when either child dies it terminates the other "
        "and exits 1; its calculator's `self.memo` is not recovered after a crash",
    ),
    Retelling(
        "client.py",
        (
            ("04_client_handles", "Setup: a client and one server"),
            ("05_crash_and_recovery", "The application-version trap"),
        ),
        "its requests carry no `app_version`: once a process with other workflow code has "
        "launched on the database, the servers leave them `ENQUEUED`",
    ),
    Retelling(
        "exp9-screenshot.png",
        (
            ("03_servers", "From DBOS 1.x to 3.4: the original's lines, today"),
            ("04_client_handles", "Two servers, one queue: the original screenshot"),
        ),
        "two servers with random executor ids; the second one's DBOS 1.7 admin server failed "
        "on a port already in use (3.4 has no admin server)",
    ),
    Retelling(
        "ex1.py",
        (("07_class_based_variants", "1 · A memoising calculator instance"),),
        "state kept in `self.memo` is not recovered: replayed steps never refill it, and the "
        "next step fails with `KeyError` on every retry",
    ),
    Retelling(
        "ex2.py",
        (
            (
                "07_class_based_variants",
                "Going deeper: 3 · A plain class created inside the workflow — and a "
                "program that enqueues at every start",
            ),
            (
                "05_crash_and_recovery",
                "A step that crashes every time: `MAX_RECOVERY_ATTEMPTS_EXCEEDED`",
            ),
            (
                "06_health_split",
                "Going deeper: when restarting cannot help, the supervisor gives up",
            ),
        ),
        'the enqueue under its `if __name__ == "__main__":` adds a new workflow at every '
        "start, so each restart of its crash loop adds one; a fixed workflow id stops that",
    ),
    Retelling(
        "ex3.py",
        (("07_class_based_variants", "Going deeper: 4 · An object passed as a workflow argument"),),
        "the object argument is pickled into the database, password in plain text, and the "
        "workflow runs on a frozen copy",
    ),
    Retelling(
        "ex4.py",
        (
            ("08_async_variants", "1 · Steps are matched by number"),
            ("08_async_variants", "Going deeper: Exercise — fix `ex4.py` yourself"),
        ),
        "steps started in completion order (`asyncio.as_completed`): after a crash the "
        "workflow ends `SUCCESS` with results duplicated and missing",
    ),
    Retelling(
        "ex5.py",
        (
            ("08_async_variants", "Going deeper: 2 · A workflow started inside a step"),
            (
                "08_async_variants",
                "`ex5.py`'s other slip: an async step called from a sync workflow",
            ),
        ),
        "a workflow started inside a step fails at once (a bare `AssertionError`); its sync "
        "workflow calls an async step without `await`",
    ),
)


def original_map() -> str:
    """00_index's map of the original: each file, the sections that retell it, its flaw."""
    lines = [
        "## The original experiment, file by file",
        "",
        "fiblab retells an experiment written for DBOS 1.7 (`dbos_experiments`, folder `exp9`):",
        "three servers, a client, five experiments and a screenshot. Where each is retold",
        "(notebook § section), and what it got wrong on DBOS 3.x:",
        "",
        "| the original | retold in | what it got wrong on DBOS 3.x |",
        "| --- | --- | --- |",
    ]
    for row in ORIGINAL_MAP:
        where = "<br>".join(
            f"[{stem[:2]}]({stem}.ipynb) § {heading}" for stem, heading in row.sections
        )
        lines.append(f"| `{row.original}` | {where} | {row.flaw} |")
    return "\n".join(lines)


def index_notebook(entries: list[Entry]) -> nbformat.NotebookNode:
    """00_index: the series in order, with objectives and minutes (core track, going
    deeper, total), the two tracks with an agenda, and the map of the original experiment."""
    lines = [
        "# fiblab · durable execution with DBOS, made visible",
        "",
        "Run the notebooks in order; each one starts from a clean slate of its own, so you can",
        "also jump straight to any of them. Minutes are the time model's (below): the core",
        "track's, those of the sections headed *Going deeper:*, and the total.",
        "",
        "| notebook | you will be able to | core | going deeper | total |",
        "| --- | --- | --- | --- | --- |",
    ]
    for e in entries:
        t = e.estimate
        lines.append(f"| {e.link} | {e.objectives} | {t.core} | {t.deeper} | {t.total} |")
    times = [(e.title, e.estimate) for e in entries]
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"}}
    nb.cells.append(nbformat.v4.new_markdown_cell("\n".join(lines), id="index"))
    nb.cells.append(nbformat.v4.new_markdown_cell(workshop.tracks_markdown(times), id="tracks"))
    nb.cells.append(nbformat.v4.new_markdown_cell(original_map(), id="original"))
    return nb


def notebooks() -> dict[Path, nbformat.NotebookNode]:
    """Every notebook to write, by path: the series with navigation, and the index."""
    sources = sorted(SOURCES.glob("[0-9][0-9]_*.py"))
    parsed = [(src.stem, prepare(src.stem, src.read_text())) for src in sources]
    entries = [describe(stem, nb) for stem, nb in parsed]
    result = {NOTEBOOKS / "00_index.ipynb": index_notebook(entries)}
    for position, (stem, nb) in enumerate(parsed):
        nav = navigation(entries, position)
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(nav, id="nav-top"))
        nb.cells.append(nbformat.v4.new_markdown_cell(nav, id="nav-bottom"))
        result[NOTEBOOKS / f"{stem}.ipynb"] = nb
    for nb in result.values():
        nb.metadata["fiblab"] = {"built_cells": fingerprint(nb)}
    return result


def edited(path: Path) -> bool:
    """True if the notebook's cells changed since the build wrote it (or it has no record)."""
    nb = nbformat.read(path, as_version=4)
    return nb.metadata.get("fiblab", {}).get("built_cells") != fingerprint(nb)


def refusal(path: Path) -> str:
    """Why a notebook is not overwritten, and the two ways on."""
    name = path.relative_to(NOTEBOOKS.parent)
    source = SOURCES / f"{path.stem}.py"
    if path.stem == "00_index":
        keep = "it is generated from the sources' opening cells: make the edit there"
    else:
        keep = (
            f"{COMMAND} --from-ipynb {path.stem[:2]}\n"
            f"      (writes it into {source.relative_to(NOTEBOOKS.parent)}, then rebuilds)"
        )
    return (
        f"not overwriting {name}: it was edited since it was built "
        f"(in JupyterLab?) and its source does not have the edit.\n"
        f"  keep the edit:    {keep}\n"
        f"  discard the edit: {COMMAND} --force"
    )


def build(check: bool = False, force: bool = False) -> tuple[list[Path], list[Path]]:
    """Write (or, with ``check``, compare) every notebook.

    Returns the stale notebooks and, among them, those edited by hand (not overwritten).
    """
    stale, refused = [], []
    for target, nb in notebooks().items():
        text = nbformat.writes(nb) + "\n"
        if target.exists() and target.read_text() == text:
            continue
        stale.append(target)
        # Overwrite only what loses no edit: an untouched notebook, or one whose cells
        # already are what the source builds (outputs and UI state are not edits).
        if target.exists() and not force:
            current = nbformat.read(target, as_version=4)
            if fingerprint(current) != nb.metadata["fiblab"]["built_cells"] and edited(target):
                refused.append(target)
                continue
        if not check:
            target.write_text(text)
    return stale, refused


def find_notebook(name: str) -> Path:
    """notebooks/NN_name.ipynb from ``NN``, ``NN_name`` or a path."""
    stem = Path(name).stem
    series = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    found = [p for p in series if stem in (p.stem, p.stem[:2])]
    if len(found) != 1 or found[0].stem == "00_index":
        raise SystemExit(f"--from-ipynb: no notebook of the series matches {name!r}")
    return found[0]


def from_ipynb(name: str, force: bool = False) -> Path:
    """Write a notebook's cells back into its source; refuse if the source changed too."""
    path = find_notebook(name)
    source = SOURCES / f"{path.stem}.py"
    nb = nbformat.read(path, as_version=4)
    text = to_source(nb)
    built_from = nb.metadata.get("fiblab", {}).get("built_cells")
    built_from_source = source.exists() and fingerprint(prepare(path.stem, source.read_text()))
    if source.exists() and not force and built_from_source != built_from:
        diff = difflib.unified_diff(
            source.read_text().splitlines(keepends=True),
            text.splitlines(keepends=True),
            str(source.relative_to(NOTEBOOKS.parent)),
            f"{path.relative_to(NOTEBOOKS.parent)} (as a source)",
        )
        raise SystemExit(
            f"{source.relative_to(NOTEBOOKS.parent)} changed too since {path.name} was built: "
            "merge by hand (the notebook's cells as a source, against it):\n"
            + "".join(diff)
            + f"\nor overwrite the source with the notebook: {COMMAND} --from-ipynb "
            f"{path.stem[:2]} --force"
        )
    source.write_text(text)
    return source


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a notebook is stale")
    parser.add_argument(
        "--force", action="store_true", help="overwrite even notebooks (or sources) edited by hand"
    )
    parser.add_argument(
        "--from-ipynb",
        metavar="NN",
        action="append",
        default=[],
        help="first write this notebook's cells back into its source (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        for name in args.from_ipynb:
            print(f"wrote: {from_ipynb(name, args.force).relative_to(NOTEBOOKS.parent)}")
        stale, refused = build(check=args.check, force=args.force)
    except ValueError as error:  # a source the build cannot read as written
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in stale:
        if path not in refused:
            name = path.relative_to(NOTEBOOKS.parent)
            print(f"stale: {name}" if args.check else f"wrote: {name}")
    for path in refused:
        print(refusal(path), file=sys.stderr)
    return 1 if refused or (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
