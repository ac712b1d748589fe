"""The workshop's time model: how long a learner takes over each notebook, and the two tracks.

A notebook's time is what a learner reads, reads as code, writes and runs, at fixed rates
(``RATES``)::

    prose (markdown) words / 150 a minute
    + code lines / 30 a minute      non-blank, non-comment lines; solution cells left out
    + 10 minutes per exercise       one per cell tagged ``solution``
    + 12 s per code cell            running it and looking at its output

These are the stated reading rates, NOT yet calibrated by a timed read of a notebook.
To calibrate: time one real read of one notebook (a colleague new to it, top to bottom,
running every cell and doing the exercise), then ``python tools/workshop.py --calibrate
01=32`` (01 took 32 minutes): every rate is scaled by the same factor, and the new
estimates and tracks are printed with the rates to write into ``RATES``.

Sections are the ``## `` headings. A section whose heading starts with ``Going deeper: ``
runs to the next ``## `` heading and is not on the half-day core track; everything else
(the opening cell included) is core. The half-day track is every notebook's core sections
(≤ 180 minutes by this model: tests/test_build_notebooks.py checks it); the one-day track
is everything. tools/build_notebooks.py fills each notebook's ``**Time:**`` line and
00_index's tracks from here; tools/handouts.py's instructor page shows the agenda.

Usage: ``python tools/workshop.py [--calibrate NN=MINUTES …]``.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat
from editions import SOLUTION_TAG

SOURCES = Path(__file__).resolve().parent.parent / "notebooks" / "src"
DEEPER = "Going deeper: "
HALF_DAY_LIMIT = 180  # minutes of notebooks on the half-day core track, breaks not counted
NAV_IDS = ("nav-top", "nav-bottom")  # the build's navigation cells: nothing to read
# The **Time:** paragraph is what this model writes: its own words do not count.
TIME_LINE = re.compile(r"\*\*Time:\*\*.*?(?=\n[ \t]*\n|\Z)", re.S)
SECTION_HEADING = re.compile(r"^## (.+)$")
DAY_START = 9 * 60  # the agendas' clock starts at 09:00


@dataclass(frozen=True)
class Rates:
    """How fast a learner goes (see the module's docstring)."""

    words_per_minute: float = 150.0
    code_lines_per_minute: float = 30.0
    minutes_per_exercise: float = 10.0
    seconds_per_code_cell: float = 12.0

    def scaled(self, factor: float) -> Rates:
        """The rates under which every estimate takes ``factor`` times as long."""
        return Rates(
            self.words_per_minute / factor,
            self.code_lines_per_minute / factor,
            self.minutes_per_exercise * factor,
            self.seconds_per_code_cell * factor,
        )

    def __str__(self) -> str:
        return (
            f"prose {self.words_per_minute:.0f} words/min, code "
            f"{self.code_lines_per_minute:.0f} lines/min, {self.minutes_per_exercise:g} min "
            f"per exercise, {self.seconds_per_code_cell:g} s per code cell"
        )


#: The stated reading rates (the issue's plain model): not yet calibrated by a timed read.
RATES = Rates()


@dataclass
class Section:
    """What one ``## `` section asks of a learner."""

    heading: str  # "" for the opening, before the first "## " heading
    words: int = 0
    code_lines: int = 0
    code_cells: int = 0
    exercises: int = 0

    @property
    def deeper(self) -> bool:
        return self.heading.startswith(DEEPER)

    def minutes(self, rates: Rates = RATES) -> float:
        return (
            self.words / rates.words_per_minute
            + self.code_lines / rates.code_lines_per_minute
            + self.exercises * rates.minutes_per_exercise
            + self.code_cells * rates.seconds_per_code_cell / 60
        )


def count_words(markdown: str) -> int:
    """Words a learner reads: tokens with a letter or digit; link targets and the
    ``**Time:**`` paragraph left out."""
    text = TIME_LINE.sub("", markdown)
    text = re.sub(r"\]\([^)\s]*\)", "]", text)
    return sum(1 for token in text.split() if re.search(r"\w", token))


def count_code_lines(code: str) -> int:
    """Non-blank lines that are not comments."""
    return sum(1 for line in code.splitlines() if line.strip() and not line.strip().startswith("#"))


def sections(nb: nbformat.NotebookNode) -> list[Section]:
    """The notebook's sections in order, the opening (heading "") first."""
    found = [Section("")]
    for cell in nb.cells:
        if cell.get("id") in NAV_IDS:
            continue
        if cell.cell_type == "markdown":
            part: list[str] = []
            for line in cell.source.splitlines():
                heading = SECTION_HEADING.match(line)
                if heading:
                    found[-1].words += count_words("\n".join(part))
                    found.append(Section(heading.group(1).strip()))
                    part = []
                part.append(line)
            found[-1].words += count_words("\n".join(part))
        elif cell.cell_type == "code":
            found[-1].code_cells += 1
            if SOLUTION_TAG in cell.metadata.get("tags", []):
                found[-1].exercises += 1
            else:
                found[-1].code_lines += count_code_lines(cell.source)
    return found


@dataclass(frozen=True)
class NotebookTime:
    """One notebook's estimate, in whole minutes."""

    stem: str
    core: int
    deeper: int
    deeper_sections: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return self.core + self.deeper

    @property
    def sentence(self) -> str:
        """What the notebook's ``**Time:**`` line says."""
        if not self.deeper:
            return f"about {self.total} minutes, all on the core track"
        return (
            f"about {self.total} minutes: {self.core} on the core track, {self.deeper} going deeper"
        )


def estimate(stem: str, nb: nbformat.NotebookNode, rates: Rates = RATES) -> NotebookTime:
    parts = sections(nb)
    core = sum(s.minutes(rates) for s in parts if not s.deeper)
    deeper = sum(s.minutes(rates) for s in parts if s.deeper)
    named = tuple(s.heading[len(DEEPER) :] for s in parts if s.deeper)
    return NotebookTime(stem, round(core), round(deeper), named)


def fill_time_line(nb: nbformat.NotebookNode, time: NotebookTime) -> None:
    """Write the estimate into the opening cell's ``**Time:**`` paragraph, whatever it said.

    Raises ValueError if the opening cell has no ``**Time:**`` paragraph.
    """
    opening = next(c for c in nb.cells if c.get("id") not in NAV_IDS)
    if not TIME_LINE.search(opening.source):
        raise ValueError(
            f"{time.stem}: the opening cell has no **Time:** line; write "
            "`**Time:** (computed by tools/build_notebooks.py)` in it"
        )
    opening.source = TIME_LINE.sub(lambda _m: f"**Time:** {time.sentence}.", opening.source, 1)


# --- the two tracks and their agendas --------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One line of an agenda: a notebook (or its core sections), or a break."""

    start: int  # minutes after the start of the day
    minutes: int
    what: str
    pause: bool = False

    @property
    def clock(self) -> str:
        def hhmm(minutes: int) -> str:
            return f"{(DAY_START + minutes) // 60:02d}:{(DAY_START + minutes) % 60:02d}"

        return f"{hhmm(self.start)}–{hhmm(self.start + self.minutes)}"


@dataclass(frozen=True)
class Track:
    name: str
    minutes: int  # of notebooks, breaks not counted
    slots: tuple[Slot, ...]


def agenda(
    items: list[tuple[str, int]], block: int, pause: int, lunch: int = 0
) -> tuple[Slot, ...]:
    """Notebooks in order with a ``pause``-minute break whenever the next one would make a
    stretch longer than ``block`` minutes, and (``lunch`` > 0, more than two blocks of
    content) a lunch break at the boundary between notebooks closest to half the content."""
    total = sum(minutes for _, minutes in items)
    done, lunch_at = 0, None
    if lunch and len(items) > 1 and total > 2 * block:
        boundaries = []
        for index, (_, minutes) in enumerate(items[:-1]):
            done += minutes
            boundaries.append((abs(done - total / 2), index + 1))
        lunch_at = min(boundaries)[1]
    slots: list[Slot] = []
    clock = stretch = 0
    for index, (what, minutes) in enumerate(items):
        if index == lunch_at:
            slots.append(Slot(clock, lunch, "lunch", pause=True))
            clock, stretch = clock + lunch, 0
        elif stretch and stretch + minutes > block:
            slots.append(Slot(clock, pause, "break", pause=True))
            clock, stretch = clock + pause, 0
        slots.append(Slot(clock, minutes, what))
        clock, stretch = clock + minutes, stretch + minutes
    return tuple(slots)


def tracks(times: list[tuple[str, NotebookTime]]) -> tuple[Track, Track]:
    """The half-day core track and the one-day track, from (title, estimate) per notebook."""
    core = [
        (f"{title} — core sections" if t.deeper else title, t.core) for title, t in times if t.core
    ]
    whole = [(title, t.total) for title, t in times]
    return (
        Track("half-day core track", sum(m for _, m in core), agenda(core, 75, 15)),
        Track("one-day track", sum(m for _, m in whole), agenda(whole, 90, 15, lunch=60)),
    )


def track_markdown(track: Track) -> str:
    """An agenda as a markdown table."""
    rows = ["| time | |", "| --- | --- |"]
    for slot in track.slots:
        what = f"*{slot.what}*" if slot.pause else f"{slot.what} ({slot.minutes} min)"
        rows.append(f"| {slot.clock} | {what} |")
    return "\n".join(rows)


def tracks_markdown(times: list[tuple[str, NotebookTime]], rates: Rates = RATES) -> str:
    """00_index's section on the two tracks: totals and a suggested agenda for each."""
    half, day = tracks(times)
    over = (
        f" — **over the {HALF_DAY_LIMIT} minutes a half day allows**"
        if half.minutes > HALF_DAY_LIMIT
        else ""
    )
    return "\n".join(
        [
            "## Two tracks: a half day and a day",
            "",
            f"**Half-day core track: {half.minutes} minutes** of notebooks{over}. Work "
            "through every notebook but skip its sections whose heading starts with "
            "*Going deeper:* (they still run when you press Run All: nothing later needs "
            "you to read them).",
            "",
            f"**One-day track: {day.minutes} minutes** of notebooks: everything, "
            "the going-deeper sections included.",
            "",
            f"Times come from a model, not a stopwatch: {rates}. These are the "
            "stated reading rates, not yet calibrated by a "
            "timed read; `python tools/workshop.py --calibrate 01=32` rescales them from "
            "one (README, *The notebooks*). Suggested agendas, breaks included:",
            "",
            f"**{half.name.capitalize()}** (from 09:00; shift as you need)",
            "",
            track_markdown(half),
            "",
            f"**{day.name.capitalize()}**",
            "",
            track_markdown(day),
        ]
    )


# --- the command ------------------------------------------------------------------------


def source_times(rates: Rates = RATES) -> list[tuple[str, NotebookTime]]:
    """(title, estimate) for every notebook source in notebooks/src."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from build_notebooks import describe, parse  # noqa: PLC0415 (it imports this module)

    found = []
    for path in sorted(SOURCES.glob("[0-9][0-9]_*.py")):
        nb = parse(path.read_text(), path.name)
        found.append((describe(path.stem, nb).title, estimate(path.stem, nb, rates)))
    return found


def calibration(
    times: list[tuple[str, NotebookTime]], reads: dict[str, float]
) -> tuple[float, list[str]]:
    """The factor that makes the model agree with timed reads (``{"01": 32}``: notebook 01
    took 32 minutes), and one line per read."""
    by_number = {t.stem[:2]: t for _, t in times}
    unknown = [number for number in reads if number not in by_number]
    if unknown:
        raise SystemExit(f"--calibrate: no notebook numbered {', '.join(unknown)}")
    modelled = sum(by_number[n].total for n in reads)
    factor = sum(reads.values()) / modelled
    lines = [
        f"{by_number[n].stem}: read in {minutes:g} min; the model says {by_number[n].total}"
        for n, minutes in reads.items()
    ]
    return factor, lines


def table(times: list[tuple[str, NotebookTime]]) -> str:
    half, day = tracks(times)
    lines = [f"{'notebook':<28} {'core':>5} {'deeper':>7} {'total':>6}"]
    lines += [f"{t.stem:<28} {t.core:>5} {t.deeper:>7} {t.total:>6}" for _, t in times]
    lines.append(f"{'half-day core track':<28} {half.minutes:>5}   (limit {HALF_DAY_LIMIT})")
    lines.append(f"{'one-day track':<28} {day.minutes:>20}")
    return "\n".join(lines)


def parse_read(text: str) -> tuple[str, float]:
    number, _, minutes = text.partition("=")
    try:
        return number.strip()[:2], float(minutes)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write NN=MINUTES, e.g. 01=32") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--calibrate",
        metavar="NN=MINUTES",
        type=parse_read,
        action="append",
        default=[],
        help="a timed read: notebook NN took MINUTES, top to bottom (repeatable)",
    )
    args = parser.parse_args(argv)
    times = source_times()
    print(f"rates: {RATES} (the stated reading rates, not calibrated by a timed read)")
    print(table(times))
    if args.calibrate:
        factor, lines = calibration(times, dict(args.calibrate))
        rates = RATES.scaled(factor)
        print("\n" + "\n".join(lines))
        print(f"every estimate × {factor:.2f}; calibrated rates: {rates}")
        print(table(source_times(rates)))
        print(
            "to adopt them: RATES = "
            + repr(replace(rates, **{k: round(v, 1) for k, v in vars(rates).items()}))
            + " in tools/workshop.py, then make notebooks"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
