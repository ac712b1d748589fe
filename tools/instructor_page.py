"""handouts/instructor.html: what an instructor needs beside the notebooks.

Generated from the notebooks and the time model (``tools/workshop.py``): the agenda of
both tracks, what each check and each exercise check teaches (every check cell follows a
markdown paragraph starting ``**Check:**``), and the conditions each handout ran under.
Written here, for this series: where learners get stuck, what a laptop needs, and what
to say when a timing figure looks odd. ``tools/handouts.py`` writes the page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import check_wheels
import nbformat
import workshop
from editions import CHECK_TAG, SOLUTION_TAG, has_tag
from nbconvert.filters import markdown2html

CHECK_PARAGRAPH = "**Check:**"


def supported_pythons() -> str:
    """The Pythons fiblab supports, from pyproject.toml ([tool.fiblab] pythons): "3.11 to 3.15"."""
    pythons = check_wheels.pythons()
    return f"{pythons[0]} to {pythons[-1]}" if len(pythons) > 1 else pythons[0]


class Page(Protocol):
    """What the page reads from one handout (``tools/handouts.py``'s ``Handout``)."""

    stem: str
    source: nbformat.NotebookNode
    conditions: dict
    error: str | None

    @property
    def entry(self): ...  # build_notebooks.Entry: title, estimate


@dataclass(frozen=True)
class Check:
    section: str  # the "## " heading it sits under ("" before the first)
    text: str  # the markdown paragraph, "**Check:** …"

    @property
    def deeper(self) -> bool:
        return self.section.startswith(workshop.DEEPER)


@dataclass(frozen=True)
class Exercise:
    section: str
    task: str  # the markdown cell before the solution cell
    check: str | None  # the source of the exercise-check cell after it, if any


def markdown_paragraphs(source: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n[ \t]*\n", source) if p.strip()]


def checks_and_exercises(nb: nbformat.NotebookNode) -> tuple[list[Check], list[Exercise]]:
    """The notebook's ``**Check:**`` paragraphs and its exercises, in order."""
    checks, exercises, section = [], [], ""
    cells = [c for c in nb.cells if c.get("id") not in workshop.NAV_IDS]
    for index, cell in enumerate(cells):
        if cell.cell_type == "markdown":
            for paragraph in markdown_paragraphs(cell.source):
                heading = re.search(r"^## (.+)$", paragraph, re.M)
                if heading:
                    section = heading.group(1).strip()
                if paragraph.startswith(CHECK_PARAGRAPH):
                    checks.append(Check(section, paragraph))
        elif has_tag(cell, SOLUTION_TAG):
            told = [c.source for c in cells[:index] if c.cell_type == "markdown"]
            task = re.sub(r"^#+ .*\n?", "", told[-1] if told else "", flags=re.M).strip()
            check = next((c.source for c in cells[index + 1 :] if has_tag(c, CHECK_TAG)), None)
            exercises.append(Exercise(section, task, check))
    return checks, exercises


def md(text: str) -> str:
    return markdown2html(text).strip()


def inline(text: str) -> str:
    """A heading's text as HTML: escaped, `code` as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))


def agenda_html(pages: Sequence[Page]) -> str:
    times = [(p.entry.title, p.entry.estimate) for p in pages]
    half, day = workshop.tracks(times)
    parts = []
    for track in (half, day):
        rows = "".join(
            f'<tr class="{"pause" if s.pause else ""}"><td>{s.clock}</td>'
            f"<td>{html.escape(s.what)}{'' if s.pause else f' ({s.minutes} min)'}</td></tr>"
            for s in track.slots
        )
        parts.append(
            f"<div><h3>{track.name.capitalize()}: {track.minutes} minutes of notebooks</h3>"
            f'<table class="agenda">{rows}</table></div>'
        )
    over = (
        f'<p class="warn">The core track takes {half.minutes} minutes by the model: more than '
        f"the {workshop.HALF_DAY_LIMIT} a half day allows.</p>"
        if half.minutes > workshop.HALF_DAY_LIMIT
        else ""
    )
    skipped = "".join(
        f"<li>{html.escape(p.entry.title)}: "
        + "; ".join(inline(s) for s in p.entry.estimate.deeper_sections)
        + "</li>"
        for p in pages
        if p.entry.estimate.deeper_sections
    )
    skipped = (
        f"<p>The half-day track skips these going-deeper sections:</p><ul>{skipped}</ul>"
        if skipped
        else "<p>No notebook has a going-deeper section yet: both tracks are the same.</p>"
    )
    return (
        over
        + '<div class="tracks">'
        + "".join(parts)
        + "</div>"
        + skipped
        + f'<p class="meta">The time model: {html.escape(str(workshop.RATES))}. These are the '
        "stated reading rates, <strong>not yet calibrated by a timed read</strong>. To "
        "calibrate, time one colleague new to the series through one notebook (top to "
        "bottom, running every cell, doing the exercise), then run <code>python "
        "tools/workshop.py --calibrate 01=32</code> (01 took 32 minutes): it scales every rate "
        "by the same factor and prints the new estimates and the rates to adopt.</p>"
    )


def notebook_html(page: Page) -> str:
    checks, exercises = checks_and_exercises(page.source)
    estimate = page.entry.estimate
    items = "".join(
        f"<li>{md(c.text[len(CHECK_PARAGRAPH) :].strip())}"
        f'<span class="where">§ {inline(c.section or "opening")}'
        f"{' · going deeper' if c.deeper else ''}</span></li>"
        for c in checks
    )
    parts = [
        f'<section class="notebook" id="{page.stem}">',
        f'<h3><a href="instructor/{page.stem}.html">{html.escape(page.entry.title)}</a></h3>',
        f'<p class="meta">{estimate.sentence}.</p>',
        f"<p>{len(checks)} checks:</p><ol>{items}</ol>" if checks else "<p>No checks.</p>",
    ]
    for exercise in exercises:
        check = (
            f"<p>Its check (the cell tagged <code>{CHECK_TAG}</code>; in the student "
            "edition it fails with <code>ExerciseIncomplete</code> until the learner's "
            f"solution has run):</p><pre>{html.escape(exercise.check)}</pre>"
            if exercise.check
            else f'<p class="warn">No cell tagged <code>{CHECK_TAG}</code> after this '
            "exercise: a learner who skips it is not told.</p>"
        )
        parts.append(
            f'<div class="exercise"><p><strong>Exercise</strong> '
            f"(§ {inline(exercise.section)}):</p>{md(exercise.task)}{check}</div>"
        )
    parts.append("</section>")
    return "\n".join(parts)


def conditions_rows(pages: Sequence[Page]) -> str:
    rows = []
    for p in pages:
        c = p.conditions
        if not c:
            rows.append(f"<tr><td>{p.stem}</td><td colspan=5>not recorded</td></tr>")
            continue
        load = max(c["load_before"], c["load_after"])
        busy = ' class="warn"' if load >= c["cores"] else ""
        rows.append(
            f"<tr><td>{p.stem}</td><td>{html.escape(c['date'])}</td><td>{c['cores']}</td>"
            f"<td{busy}>{c['load_before']:.2f} → {c['load_after']:.2f}</td>"
            f"<td>{html.escape(c['alongside'])}; {html.escape(c['run'])}</td>"
            f"<td>{c['executed_seconds']:.0f} s</td></tr>"
        )
    return "\n".join(rows)


STUCK = """
<ul>
<li><strong>The exercises.</strong> The student edition has one cell labelled
<em>your solution</em> holding <code># Your code here</code>, then a cell labelled
<em>check: run it after your solution</em>. Run as it is, the check fails with
<code>ExerciseIncomplete</code> and a sentence saying what to write: that is expected,
not a bug. A learner who skips an exercise can run on: later cells use the reference
and print <em>You skipped the exercise: using the reference …</em>. 03's exercise (write
<code>my_server.py</code>, the original <code>server.py</code> on DBOS 3.4) is the longest;
the slips we expect are a cell that does not start with
<code>%%writefile {lab.scratch}/my_server.py</code>, a random or missing executor id, no
pinned <code>application_version</code>, and a signal handler that does not exit.</li>
<li><strong>The application version (05).</strong> A kernel that launches DBOS with its own
workflow code gets a hashed application version and becomes the <em>latest</em>; from then on
requests without a version stay <code>ENQUEUED</code>, because the servers run
<code>fiblab-1</code>. 05 shows it on purpose and gets out with one client call
(<code>set_latest_application_version</code>). A learner who experiments with their own
<code>DBOS.launch()</code> on a notebook's database walks into the same trap: send them to
05's section <em>The application-version trap</em>, or have them re-run their notebook from
the top (each starts with a fresh database).</li>
<li><strong>Re-running cells.</strong> Each notebook starts from a clean slate (its own scratch
folder and database); Run All twice in one kernel is tested, and going back to an earlier
cell after the end is meant to work (no later cell rebinds a name an earlier one reads).
What fails is running cells out of order in the middle: a check
before its demonstration, a cell whose servers the last cell has stopped. The remedy is
always the same: <em>Kernel → Restart Kernel and Run All Cells</em>, or run the section from
its first cell.</li>
<li><strong>A server left from a killed kernel.</strong> Every server watches the kernel that
started it and stops when that kernel dies; the notebook's first cell also stops any
server an earlier kernel of the same notebook left (it reads the pid files in
<code>notebooks/scratch/NN_name/</code>). A hung kernel is not dead: restart it from the
Kernel menu and its servers stop. Servers a learner started by hand in a terminal (README,
<em>In three terminals</em>) use <code>scratch/demo.sqlite</code>, not a notebook's database,
so they take no notebook's work; they stop with Ctrl-C.</li>
<li><strong>Slow laptops.</strong> The first <code>make lab</code> creates a virtual environment
(a minute or two, and it needs the network: have learners run it before the day). A cell
waits with a timeout, never a fixed sleep, so a slow machine takes longer but gets the
same answer (the whole series runs in about 95 s on two CI cores: benchmarks/README.md).
06 (probe latency while the worker computes) and 09 (1, 2 and 4 servers against a
process pool) measure the machine itself: their figures differ from laptop to laptop,
and the words beside them are computed from the learner's own run.</li>
<li><strong>Long notebooks.</strong> The longest by the model are {longest}. On the half-day
track, skip the sections headed <em>Going deeper:</em>; they still run when a learner presses
Run All, and nothing later needs them.</li>
</ul>
"""

LAPTOP = """
<ul>
<li><strong>Linux, macOS, or WSL2 on Windows</strong> (Linux on x86_64 or aarch64; macOS 11 or
newer, Apple silicon or Intel). Native Windows does not work: the servers rely on POSIX
signals (SIGINT, SIGTERM, SIGKILL, a real segfault) and process groups.</li>
<li><strong>Python {pythons}</strong> (README, <em>Quickstart</em>) and <code>make</code>.</li>
<li><strong>About 1 GB of disk</strong> for the virtual environment (<code>.venv</code>:
DBOS, JupyterLab, matplotlib, their dependencies), plus a little for scratch databases.</li>
<li><strong>Two or more cores</strong> recommended: the notebooks run servers beside the
kernel, and 02, 06 and 09 show what several cores do (02 says what one core cannot
show).</li>
<li>Network access for the first <code>make lab</code> only (pip); no database server to
install: the database is an embedded SQLite file.</li>
</ul>
"""

ODD_FIGURES = """
<p>The sentence beside a timing figure is computed from the run it describes, never
written in advance: if the figure looks odd, the words say what was measured, and that is
true for that run. A loaded laptop &mdash; other programs, a video call, a browser with many
tabs, a virus scan, battery saving &mdash; competes with the notebook's servers for the
CPUs, and the measurements slow down or scatter. Say so, close what can be closed, and
re-run the cell (or its section). The notebooks' timing checks have margins measured with
every core kept busy by a CPU hog (benchmarks/README.md, <em>Notebook timing checks</em>),
so a check that still fails on a quiet machine is worth a bug report; a figure that only
looks different is not. Each instructor handout states the load it ran under (below).</p>
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>fiblab · instructor's notes</title>
<style>
body {{ font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328;
  max-width: 1100px; margin: 24px auto; padding: 0 16px; }}
h1 {{ font-size: 26px; margin-bottom: 4px; }}
h2 {{ border-bottom: 1px solid #d0d7de; padding-bottom: 4px; margin-top: 32px; }}
.meta, .where {{ color: #57606a; font-size: 13px; }}
.where {{ display: block; }}
.warn {{ color: #9a6700; font-weight: 600; }}
table {{ border-collapse: collapse; }}
th, td {{ text-align: left; vertical-align: top; padding: 4px 10px;
  border-bottom: 1px solid #d0d7de; }}
tr.pause td {{ color: #57606a; font-style: italic; }}
.tracks {{ display: flex; gap: 32px; flex-wrap: wrap; }}
code, pre {{ background: #f6f8fa; border-radius: 3px; font-size: 90%; }}
pre {{ padding: 8px; overflow-x: auto; }}
.exercise {{ border-left: 4px solid #8250df; padding-left: 12px; margin: 12px 0; }}
li {{ margin-bottom: 4px; }}
li p {{ margin: 0; }}
</style>
</head>
<body>
<p><a href="index.html">← All handouts</a></p>
<h1>Instructor's notes</h1>
<p class="meta">Built {date} with dbos {dbos}, from the notebooks of these handouts
({count} notebooks).</p>
<p>Contents: <a href="#agenda">the agenda</a> · <a href="#checks">what each check
teaches</a> · <a href="#stuck">where learners get stuck</a> · <a href="#laptop">a
learner's laptop</a> · <a href="#odd">when a timing figure looks odd</a> ·
<a href="#conditions">how these handouts ran</a></p>
<h2 id="agenda">The agenda</h2>
{agenda}
<h2 id="checks">What each check teaches</h2>
<p>Every demonstration is followed by a check cell that fails if what it showed is false
(what a notebook only states is marked as read in DBOS's source); here is each check's
claim, as the notebook states it, and each exercise with the check that tells a learner
what is missing.</p>
{notebooks}
<h2 id="stuck">Where learners get stuck</h2>
{stuck}
<h2 id="laptop">What a learner's laptop needs</h2>
{laptop}
<h2 id="odd">When a timing figure looks odd on a loaded laptop</h2>
{odd}
<h2 id="conditions">How these handouts ran</h2>
<p>The conditions each instructor page's notebook ran under (1-minute load average before
and after; a load at or above the number of cores means every core was busy).</p>
<table>
<tr><th>notebook</th><th>date</th><th>cores</th><th>load</th><th>alongside</th>
<th>took</th></tr>
{conditions}
</table>
</body>
</html>
"""


def longest(pages: Sequence[Page], count: int = 2) -> str:
    """The ``count`` longest notebooks by the model, e.g. "05 (45 min) and 03 (40 min)"."""
    ranked = sorted(pages, key=lambda p: -p.entry.estimate.total)[:count]
    named = [f"{p.stem[:2]} ({p.entry.estimate.total} min)" for p in ranked]
    return " and ".join(named)


def instructor_page(pages: Sequence[Page], date: str, dbos: str) -> str:
    return PAGE.format(
        date=html.escape(date),
        dbos=html.escape(dbos),
        count=len(pages),
        agenda=agenda_html(pages),
        notebooks="\n".join(notebook_html(p) for p in pages),
        stuck=STUCK.replace("{longest}", longest(pages)),
        laptop=LAPTOP.replace("{pythons}", supported_pythons()),
        odd=ODD_FIGURES,
        conditions=conditions_rows(pages),
    )
