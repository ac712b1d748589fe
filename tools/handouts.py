"""Build the workshop handouts: every notebook executed, in an instructor and a student edition.

Usage::

    python tools/handouts.py [--out handouts/] [--only 01,02] [--timeout 300] [--executed DIR]

What it writes (``--out``, default ``handouts/``)::

    index.html                 the series in order: objectives, time, links to both editions
    instructor.html            the instructor's notes: agenda of both tracks, what each check
                               teaches, where learners get stuck, laptops, odd timings,
                               the conditions each notebook ran under
    terminals.html             the original experiment by hand, in three terminals (README)
    instructor/NN_name.html    executed on the embedded SQLite default, solutions included
    instructor/NN_name.ipynb   the same executed notebook
    student/NN_name.ipynb      ready to hand out: solutions emptied, no outputs
    student/NN_name.html       the same, to read in a browser
    student/00_index.ipynb     the index notebook, so the navigation links work in JupyterLab

Every HTML page is self-contained (plots and CSS inline, no script or font from the
network), and its previous / index / next links point at the other HTML pages.

Each notebook runs in a fresh kernel whose working directory is ``notebooks/`` (so its
scratch folder is ``notebooks/scratch/NN_name``, or ``$FIBLAB_SCRATCH_ROOT/NN_name`` when
that is set, as the tests do), with ``FIBLAB_DATABASE_URL`` removed from the
environment: handouts always show the embedded SQLite default. A notebook that
fails still gets its (partial) handout, and the command exits with status 1.

Which cells are solutions comes from the ``solution`` cell tag (``tags=["solution"]`` in
the cell's header in notebooks/src), never from the text; the student edition is
``tools/editions.py``'s (the one tests/test_notebook_reruns.py runs). Cells tagged
``exercise-check`` are labelled in both editions. Each instructor page states the
conditions its notebook ran under (``observed``: cores, load before and after, what ran
at the same time — nothing else here: notebooks run one at a time — date, versions).
``--only`` builds a subset (numbers or names); links to notebooks outside it dangle.
``--executed DIR`` takes a notebook already executed on the SQLite default from
``DIR/NN_name.ipynb`` instead of running it again (the tests keep such copies in
``tests/artifacts/executed/``); a notebook without a matching copy there is executed.
"""

from __future__ import annotations

import argparse
import copy
import html
import os
import platform
import re
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import jinja2
import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from nbconvert.filters import markdown2html
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

from fiblab.machine import usable_cores

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workshop  # noqa: E402
from build_notebooks import NOTEBOOKS, Entry, describe, index_notebook, notebooks  # noqa: E402
from editions import failures, student_edition, without_live_widgets  # noqa: E402
from instructor_page import instructor_page  # noqa: E402
from terminal_handout import terminal_page  # noqa: E402

REPO = NOTEBOOKS.parent
DATABASE_URL_ENV = "FIBLAB_DATABASE_URL"
ALONE = "no other notebook of this build at the same time (tools/handouts.py runs one at a time)"

# The lab template, minus everything it would fetch from a CDN (require.js, MathJax,
# mermaid), plus a banner, labels for solution / failing-on-purpose cells, and a
# marker class on error outputs (the browser test looks for it).
TEMPLATE = r"""
{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_css -%}
<style type="text/css">
/* code shown by show_source() is HTML output: keep it monospaced, as in JupyterLab */
.jp-OutputArea-output.jp-RenderedHTMLCommon pre { font-family: var(--jp-code-font-family); }
main { max-width: 1100px; margin: 0 auto; }
.fiblab-banner { font: 14px/1.4 system-ui, sans-serif; margin: 12px 0 4px; padding: 8px 12px;
  border-radius: 6px; background: #eef3fb; border: 1px solid #c9d8f0; }
.fiblab-banner a { color: #0550ae; }
.fiblab-banner .links a { margin-right: 1.5em; }
.fiblab-banner .edition { font-weight: 600; margin-right: 1em; }
.celltag_solution, .celltag_raises-exception, .celltag_exercise-check { position: relative; }
.celltag_solution > .jp-Cell-inputWrapper { border-left: 4px solid #2e7d32; }
.celltag_raises-exception > .jp-Cell-inputWrapper { border-left: 4px solid #c62828; }
.celltag_exercise-check > .jp-Cell-inputWrapper { border-left: 4px solid #8250df; }
.celltag_solution::before, .celltag_raises-exception::before,
.celltag_exercise-check::before {
  font: 11px system-ui, sans-serif; color: #fff; padding: 1px 6px; border-radius: 3px;
  position: absolute; right: 4px; top: 2px; z-index: 1; }
.celltag_solution::before { content: "{{ resources.fiblab_solution_label }}";
  background: #2e7d32; }
.celltag_raises-exception::before { content: "fails on purpose"; background: #c62828; }
.celltag_exercise-check::before { content: "{{ resources.fiblab_check_label }}";
  background: #8250df; }
.fiblab-busy { color: #9a6700; }
@media print { .fiblab-banner { display: none; } }
</style>
{%- endblock html_head_css -%}
{%- block body_header -%}
{{ super() }}
<div class="fiblab-banner">{{ resources.fiblab_banner }}</div>
{%- endblock body_header -%}
{% block error -%}
<div class="fiblab-error" data-ename="{{ output.ename | escape_html }}">
{{ super() }}
</div>
{%- endblock error %}
"""

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# Relative links to notebooks (``02_queues.ipynb``, ``02_queues.ipynb#part``).
NOTEBOOK_LINK = re.compile(
    r'href="(?![A-Za-z][A-Za-z0-9+.-]*:|/|#)(?P<path>[^"#?]+)\.ipynb(?P<fragment>#[^"]*)?"'
)


@dataclass
class Handout:
    """One notebook's way through the build."""

    stem: str
    entry: Entry
    source: nbformat.NotebookNode
    seconds: float = 0.0
    error: str | None = None
    files: dict[str, Path] = field(default_factory=dict)
    conditions: dict = field(default_factory=dict)  # see ``observed``


@contextmanager
def observed(alongside: str, run: str) -> Iterator[dict]:
    """Record the conditions a notebook runs under while the block runs, for its page:
    the date, cores, the 1-minute load average before and after, what else ran at the same
    time (``alongside``), which run it was (``run``), dbos and Python versions, seconds."""
    record = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cores": usable_cores(),
        "load_before": round(os.getloadavg()[0], 2),
        "alongside": alongside,
        "run": run,
        "dbos": version("dbos"),
        "python": platform.python_version(),
    }
    started = time.perf_counter()
    try:
        yield record
    finally:
        record["load_after"] = round(os.getloadavg()[0], 2)
        record["executed_seconds"] = round(time.perf_counter() - started, 1)


def busy(conditions: dict) -> bool:
    """True if the load average reached the number of cores before or after the run."""
    load = max(conditions.get("load_before", 0), conditions.get("load_after", 0))
    return load >= conditions.get("cores", 1)


def conditions_html(conditions: dict) -> str:
    """The conditions a page's notebook ran under, in a sentence (and a warning if busy)."""
    if not conditions:
        return "the conditions it ran under were not recorded"
    c = conditions
    text = (
        f"ran {html.escape(c['date'])} on {c['cores']} cores, load {c['load_before']:.2f} "
        f"before and {c['load_after']:.2f} after (1-minute average), "
        f"{html.escape(c['alongside'])}; {html.escape(c['run'])}; "
        f"dbos {html.escape(c['dbos'])}, Python {html.escape(c['python'])}"
    )
    if busy(c):
        text += (
            '. <span class="fiblab-busy">The machine was busy (load at or above its cores): '
            "timings on this page may be slower and more scattered than on an idle machine; "
            "the words beside each figure are computed from this run.</span>"
        )
    return text


def select(only: str | None) -> list[Path]:
    """The series' notebooks, in order; ``only`` keeps those whose number or name is listed."""
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    paths = [p for p in paths if p.stem != "00_index"]
    if not only:
        return paths
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    chosen = [p for p in paths if any(p.stem == w or p.stem.split("_")[0] == w for w in wanted)]
    missing = [w for w in wanted if not any(p.stem == w or p.stem[:2] == w for p in chosen)]
    if missing:
        raise SystemExit(f"--only: no notebook matches {', '.join(missing)}")
    return chosen


def load(path: Path) -> Handout:
    nb = nbformat.read(path, as_version=4)
    body = copy.copy(nb)
    body.cells = [c for c in nb.cells if c.get("id") not in workshop.NAV_IDS]
    return Handout(path.stem, describe(path.stem, body), nb)


def warn_if_stale(handouts: list[Handout]) -> None:
    """Say so if a notebook differs from what its source in notebooks/src would build."""
    built = {path.stem: nb for path, nb in notebooks().items()}
    for handout in handouts:
        fresh = built.get(handout.stem)
        if fresh is not None and nbformat.writes(fresh) != nbformat.writes(handout.source):
            print(
                f"warning: notebooks/{handout.stem}.ipynb is out of date with "
                f"notebooks/src/{handout.stem}.py (run `make notebooks`); using the .ipynb"
            )


def execute(handout: Handout, timeout: int) -> nbformat.NotebookNode:
    """Run the notebook in a fresh kernel (cwd notebooks/, embedded SQLite); keep going on error."""
    nb = copy.deepcopy(handout.source)
    env = {k: v for k, v in os.environ.items() if k != DATABASE_URL_ENV}
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    with observed(ALONE, "in a fresh kernel") as record:
        try:
            client.execute(env=env)
        except Exception as error:  # CellExecutionError, a dead kernel, a timeout
            text = ANSI_ESCAPE.sub("", str(error)).strip()
            last_line = (text.splitlines() or [""])[-1]
            handout.error = f"{type(error).__name__}: {last_line}"
            handout.error = (failed_cell(nb) or handout.error)[:300]
    handout.conditions = record
    handout.seconds = record["executed_seconds"]
    return coalesced(nb)


def failed_cell(nb: nbformat.NotebookNode) -> str | None:
    """The first error output of a cell not tagged to fail, named as a person would look for it."""
    found = failures(nb)
    return str(found[0]) if found else None


def coalesced(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """As JupyterLab shows outputs: consecutive prints merged, a "\\r" progress line overwritten."""
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})
    return nb


def reuse(handout: Handout, folder: Path) -> nbformat.NotebookNode | None:
    """``folder``'s executed copy of the notebook, if it has the notebook's cells and ran on
    the SQLite default (as ``execute`` would); otherwise None, saying why."""
    path = folder / f"{handout.stem}.ipynb"
    if not path.is_file():
        print(f"{handout.stem}: no executed copy in {folder}")
        return None
    nb = nbformat.read(path, as_version=4)
    run = nb.metadata.pop("fiblab", {})
    cells = [(c.get("id"), c.source) for c in nb.cells]
    if cells != [(c.get("id"), c.source) for c in handout.source.cells]:
        print(f"{handout.stem}: {path} has other cells than the notebook")
        return None
    if run.get("database") != "sqlite default" or "executed_seconds" not in run:
        print(f"{handout.stem}: {path} does not say it ran on the SQLite default")
        return None
    handout.seconds = float(run["executed_seconds"])
    handout.conditions = run.get("conditions", {})
    error = failed_cell(nb)
    handout.error = error[:300] if error else None
    return coalesced(nb)


def relink(page: str, index_href: str, folder: str = "") -> str:
    """Point notebook links at the HTML handouts (the index notebook at ``index_href``),
    in ``folder`` (relative to the page)."""

    def replace(match: re.Match[str]) -> str:
        path, fragment = match["path"], match["fragment"] or ""
        if Path(path).name == "00_index":
            return f'href="{index_href}{fragment}"'
        return f'href="{folder}{path}.html{fragment}"'

    return NOTEBOOK_LINK.sub(replace, page)


def exporter() -> HTMLExporter:
    loader = jinja2.DictLoader({"fiblab_handout.html.j2": TEMPLATE})
    html_exporter = HTMLExporter(template_name="lab", embed_images=True, extra_loaders=[loader])
    html_exporter.template_file = "fiblab_handout.html.j2"
    return html_exporter


SOLUTION_LABELS = {
    "instructor": "solution (emptied in the student edition)",
    "student": "your solution",
}
CHECK_LABELS = {
    "instructor": "exercise check (fails with ExerciseIncomplete until a solution runs)",
    "student": "check: run it after your solution",
}


def to_html(
    html_exporter: HTMLExporter, nb: nbformat.NotebookNode, edition: str, handout: Handout
) -> str:
    """One self-contained page; links to other notebooks point at their HTML handouts."""
    resources = {
        "metadata": {"name": handout.entry.title, "path": str(NOTEBOOKS)},
        "fiblab_banner": banner(edition, handout),
        "fiblab_solution_label": SOLUTION_LABELS[edition],
        "fiblab_check_label": CHECK_LABELS[edition],
    }
    page, _ = html_exporter.from_notebook_node(without_live_widgets(nb), resources=resources)
    return relink(page, "../index.html")


def banner(edition: str, handout: Handout) -> str:
    other = "student" if edition == "instructor" else "instructor"
    if edition == "instructor":
        state = (
            f"solutions shown; executed in {handout.seconds:.0f} s on the embedded SQLite "
            f"default: {conditions_html(handout.conditions)}"
        )
        if handout.error:
            state += f" — <strong>FAILED: {html.escape(handout.error)}</strong>"
    else:
        state = (
            "solutions removed, not executed: open "
            f'<a href="{handout.stem}.ipynb">{handout.stem}.ipynb</a> in JupyterLab and run it'
        )
    return (
        f'<span class="edition">{edition.capitalize()} edition</span>{state}<br>'
        '<span class="links"><a href="../index.html">All handouts</a>'
        f'<a href="../{other}/{handout.stem}.html">{other.capitalize()} edition of this page</a>'
        "</span>"
    )


INDEX_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>fiblab handouts</title>
<style>
body {{ font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328;
  max-width: 1100px; margin: 24px auto; padding: 0 16px; }}
h1 {{ font-size: 26px; margin-bottom: 4px; }}
.meta {{ color: #57606a; font-size: 13px; }}
table {{ border-collapse: collapse; width: 100%; margin-top: 16px; }}
th, td {{ text-align: left; vertical-align: top; padding: 8px 10px;
  border-bottom: 1px solid #d0d7de; }}
th {{ background: #f6f8fa; }}
td p {{ margin: 0; }}
td.time, td.links {{ white-space: nowrap; }}
code {{ background: #f6f8fa; padding: 0 3px; border-radius: 3px; font-size: 90%; }}
.failed {{ color: #c62828; font-weight: 600; }}
</style>
</head>
<body>
<h1>fiblab · durable execution with DBOS, made visible</h1>
<p class="meta">Workshop handouts, built {date} in {seconds:.0f} s with dbos {dbos},
Python {python}; every notebook executed on the embedded SQLite default (each instructor
page states the conditions it ran under).</p>
<p>Run the notebooks in order; each starts from a clean slate of its own.
The <strong>instructor</strong> edition is executed and shows the solutions; the
<strong>student</strong> edition has the solutions emptied and no outputs: hand out the
<code>student/</code> folder's <code>.ipynb</code> files (they need the <code>fiblab</code>
package: <code>make lab</code> in the repository).</p>
<p><strong>Instructors:</strong> <a href="instructor.html">the instructor's notes</a> — the
agenda ({half} minutes of notebooks on the half-day core track, {day} on the one-day
track), what each check teaches, where learners get stuck, what a laptop needs.</p>
<p>No notebook needed: <a href="terminals.html">the original experiment by hand, in three
terminals</a> (two servers and a client).</p>
<table id="handouts">
<thead><tr><th>notebook</th><th>you will be able to</th><th>minutes</th>
<th>instructor</th><th>student</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""

INDEX_ROW = """<tr id="{stem}">
<td><a href="instructor/{stem}.html">{title}</a></td>
<td>{objectives}</td>
<td class="time">{total}<br><span class="meta">{core} core<br>{deeper} deeper</span></td>
<td class="links"><a href="instructor/{stem}.html">HTML</a> · \
<a href="instructor/{stem}.ipynb">executed .ipynb</a><br>{status}</td>
<td class="links"><a href="student/{stem}.ipynb">.ipynb</a> · \
<a href="student/{stem}.html">HTML</a></td>
</tr>"""


def index_page(handouts: list[Handout], seconds: float) -> str:
    rows = []
    for h in handouts:
        status = (
            f'<span class="failed">FAILED: {html.escape(h.error)}</span>'
            if h.error
            else f"ran in {h.seconds:.0f} s"
        )
        rows.append(
            INDEX_ROW.format(
                stem=h.stem,
                title=html.escape(h.entry.title),
                objectives=markdown2html(h.entry.objectives).strip(),
                total=h.entry.estimate.total,
                core=h.entry.estimate.core,
                deeper=h.entry.estimate.deeper,
                status=status,
            )
        )
    half, day = workshop.tracks([(h.entry.title, h.entry.estimate) for h in handouts])
    return INDEX_PAGE.format(
        half=half.minutes,
        day=day.minutes,
        date=time.strftime("%Y-%m-%d %H:%M"),
        seconds=seconds,
        dbos=version("dbos"),
        python=platform.python_version(),
        rows="\n".join(rows),
    )


def write(path: Path, text: str, handout: Handout | None = None) -> None:
    path.write_text(text, encoding="utf-8")
    if handout is not None:
        handout.files[f"{path.parent.name}/{path.name}"] = path


def size(nbytes: int) -> str:
    return f"{nbytes / 1024:.0f} KB" if nbytes < 1024 * 1024 else f"{nbytes / 1024**2:.1f} MB"


def build(
    out: Path, only: str | None = None, timeout: int = 300, executed: Path | None = None
) -> list[Handout]:
    """Build every selected handout into ``out``; returns them (``error`` set on failure).

    A notebook with a usable copy in ``executed`` (see ``reuse``) is not run again."""
    started = time.perf_counter()
    handouts = [load(path) for path in select(only)]
    if not handouts:
        raise SystemExit("no notebook found in notebooks/")
    warn_if_stale(handouts)
    instructor, student = out / "instructor", out / "student"
    for folder in (instructor, student):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    html_exporter = exporter()
    for handout in handouts:
        ran = reuse(handout, executed) if executed is not None else None
        if ran is not None:
            print(f"{handout.stem}: reusing the executed copy in {executed}", flush=True)
        else:
            print(f"{handout.stem}: executing …", flush=True)
            ran = execute(handout, timeout)
        write(instructor / f"{handout.stem}.ipynb", nbformat.writes(ran) + "\n", handout)
        page = to_html(html_exporter, ran, "instructor", handout)
        write(instructor / f"{handout.stem}.html", page, handout)
        handed_out = student_edition(handout.source)
        write(student / f"{handout.stem}.ipynb", nbformat.writes(handed_out) + "\n", handout)
        page = to_html(html_exporter, handed_out, "student", handout)
        write(student / f"{handout.stem}.html", page, handout)
        sizes = ", ".join(f"{name} {size(p.stat().st_size)}" for name, p in handout.files.items())
        outcome = f"FAILED ({handout.error})" if handout.error else "ok"
        print(
            f"{handout.stem}: {outcome}, executed in {handout.seconds:.1f} s; {sizes}", flush=True
        )
    index = index_notebook([h.entry for h in handouts])
    write(student / "00_index.ipynb", nbformat.writes(index) + "\n")
    seconds = time.perf_counter() - started
    write(out / "index.html", index_page(handouts, seconds))
    notes = instructor_page(handouts, time.strftime("%Y-%m-%d %H:%M"), version("dbos"))
    write(out / "instructor.html", relink(notes, "index.html", "instructor/"))
    write(out / "terminals.html", terminal_page())
    report(out, handouts, seconds)
    return handouts


def report(out: Path, handouts: list[Handout], seconds: float) -> None:
    def total(pattern: str) -> int:
        return sum(p.stat().st_size for p in out.glob(pattern) if p.is_file())

    executing = sum(h.seconds for h in handouts)
    print(
        f"built {len(handouts)} handouts in {seconds:.1f} s "
        f"({executing:.1f} s executing notebooks) into {out}"
    )
    print(
        f"sizes: instructor {size(total('instructor/*'))} "
        f"(HTML {size(total('instructor/*.html'))}), "
        f"student {size(total('student/*'))} (.ipynb {size(total('student/*.ipynb'))}), "
        f"index {size(total('index.html'))}; total {size(total('**/*'))}"
    )
    print(f"open {out / 'index.html'}")
    failed = [h for h in handouts if h.error]
    for h in failed:
        print(f"FAILED: {h.stem}: {h.error}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "handouts", help="output folder")
    parser.add_argument("--only", help="comma-separated notebook numbers or names (e.g. 01,02)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell (300)")
    parser.add_argument(
        "--executed",
        type=Path,
        help="folder of notebooks already executed on the SQLite default (NN_name.ipynb): "
        "used instead of running them again",
    )
    args = parser.parse_args(argv)
    executed = args.executed.resolve() if args.executed else None
    handouts = build(args.out.resolve(), args.only, args.timeout, executed)
    return 1 if any(h.error for h in handouts) else 0


if __name__ == "__main__":
    sys.exit(main())
