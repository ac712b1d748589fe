"""tools/workshop.py: the time model, the two tracks, and the Time lines the build fills in."""

from __future__ import annotations

import importlib.util
import sys

import nbformat
import pytest

from .conftest import REPO

pytestmark = pytest.mark.unit  # no process, no database

sys.path.insert(0, str(REPO / "tools"))
SPEC = importlib.util.spec_from_file_location("workshop", REPO / "tools/workshop.py")
workshop = sys.modules["workshop"] = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(workshop)
import build_notebooks  # noqa: E402 (imports the workshop module registered above)

# 150 words of prose, 31 code lines (comments and blanks do not count), one exercise
# whose 5 solution lines do not count, 5 code cells: about 1 + 1 + 10 + 1 = 13 minutes,
# of which the going-deeper section holds 63 words, 29 lines and 2 cells.
SOURCE = """\
# %% [markdown]
# # 99 · A notebook to time
#
# **You will be able to:** count.
#
# **Time:** about 5 minutes, hand-written
# and on two lines.
#
# {intro}

# %%
{core_code}

# %% [markdown]
# ## The exercise
#
# {task}

# %% tags=["solution"] jupyter={{"source_hidden": true}}
{solution}

# %% tags=["exercise-check"]
check = 1

# %% [markdown]
# ## Going deeper: how the counting works
#
# {deeper_words} See [the index](00_index.ipynb#a-long-anchor-that-is-not-read).

# %%
# a comment, not read as code

{deeper_code}

# %%
x = 2
"""


def words(n: int) -> str:
    return " ".join(["word"] * n)


def lines(n: int) -> str:
    return "\n".join(f"x{i} = {i}" for i in range(n))


def timed_source() -> str:
    # The opening cell's counted words: "99 · A notebook to time" (5: "·" has no letter),
    # "**You will be able to:** count." (6). Headings count: "The exercise" (2),
    # "Going deeper: how the counting works" (6), "See [the index]" (3).
    return SOURCE.format(
        intro=words(150 - 11 - 2 - 20 - 6 - 3 - 54),
        task=words(20),
        solution=lines(5),
        core_code=lines(1),
        deeper_words=words(54),
        deeper_code=lines(28),
    )


def test_the_model_counts_what_a_learner_reads_runs_and_writes() -> None:
    nb = build_notebooks.parse(timed_source(), "99_timed.py")
    parts = workshop.sections(nb)
    assert [s.heading for s in parts] == [
        "",
        "The exercise",
        "Going deeper: how the counting works",
    ]
    assert sum(s.words for s in parts) == 150  # the Time line's words not counted
    assert parts[2].words == 63
    assert [s.code_lines for s in parts] == [1, 1, 29]  # the solution's 5 lines left out
    assert [s.exercises for s in parts] == [0, 1, 0]
    assert [s.code_cells for s in parts] == [1, 2, 2]
    assert [s.deeper for s in parts] == [False, False, True]
    minutes = sum(s.minutes() for s in parts)
    assert minutes == pytest.approx(150 / 150 + 31 / 30 + 10 + 5 * 12 / 60)
    time = workshop.estimate("99_timed", nb)
    deeper = parts[2].minutes()
    assert (time.core, time.deeper) == (round(minutes - deeper), round(deeper))
    assert time.deeper_sections == ("how the counting works",)


def test_the_build_fills_the_time_line_whatever_the_source_says() -> None:
    for written in (
        "**Time:** about 5 minutes, hand-written\n# and on two lines.",
        "**Time:** (computed by tools/build_notebooks.py)",
    ):
        source = timed_source().replace(
            "**Time:** about 5 minutes, hand-written\n# and on two lines.", written
        )
        nb = build_notebooks.prepare("99_timed", source)
        opening = nb.cells[0].source
        time = workshop.estimate("99_timed", nb)
        assert f"**Time:** about {time.total} minutes: {time.core} on the core track, " in opening
        assert "hand-written" not in opening and "computed by" not in opening
        assert "\n\n" + "word" in opening  # the paragraph after it is kept
        # Filling it in changes no estimate (its own words do not count).
        assert workshop.estimate("99_timed", nb) == time


def test_a_notebook_without_a_time_line_is_refused() -> None:
    source = timed_source().replace("**Time:**", "Time:")
    with pytest.raises(ValueError, match=r"99_timed: the opening cell has no \*\*Time:\*\* line"):
        build_notebooks.prepare("99_timed", source)


def test_the_sentence_says_core_and_going_deeper() -> None:
    assert workshop.NotebookTime("01", 20, 15).sentence == (
        "about 35 minutes: 20 on the core track, 15 going deeper"
    )
    assert workshop.NotebookTime("01", 20, 0).sentence == "about 20 minutes, all on the core track"


def test_the_agenda_breaks_between_notebooks_and_lunches_near_the_middle() -> None:
    items = [("a", 40), ("b", 30), ("c", 50), ("d", 20), ("e", 60)]
    slots = workshop.agenda(items, block=75, pause=15)
    assert [s.what for s in slots] == ["a", "b", "break", "c", "d", "break", "e"]
    assert [s.start for s in slots] == [0, 40, 70, 85, 135, 155, 170]
    assert slots[0].clock == "09:00–09:40" and slots[-1].clock == "11:50–12:50"
    day = workshop.agenda(items, block=90, pause=15, lunch=60)
    # Lunch after 120 of 200 minutes (the boundary nearest 100), a break before 90 are up.
    assert [s.what for s in day] == ["a", "b", "break", "c", "lunch", "d", "e"]


def test_the_tracks_add_up_core_and_everything() -> None:
    times = [
        ("A", workshop.NotebookTime("01_a", 30, 10)),
        ("B", workshop.NotebookTime("02_b", 40, 0)),
    ]
    half, day = workshop.tracks(times)
    assert (half.minutes, day.minutes) == (70, 80)
    assert [s.what for s in half.slots] == ["A — core sections", "B"]
    text = workshop.tracks_markdown(times)
    assert "**Half-day core track: 70 minutes**" in text and "over the" not in text
    assert "**One-day track: 80 minutes**" in text
    assert "not yet calibrated by a timed read" in text


def test_calibration_scales_every_rate_by_the_timed_reads() -> None:
    times = [
        ("A", workshop.NotebookTime("01_a", 20, 5)),
        ("B", workshop.NotebookTime("02_b", 40, 0)),
    ]
    factor, lines = workshop.calibration(times, {"01": 50})
    assert factor == 2.0 and lines == ["01_a: read in 50 min; the model says 25"]
    scaled = workshop.RATES.scaled(factor)
    section = workshop.Section("x", words=150, code_lines=30, code_cells=5, exercises=1)
    assert section.minutes(scaled) == pytest.approx(2 * section.minutes())
    with pytest.raises(SystemExit, match="no notebook numbered 07"):
        workshop.calibration(times, {"07": 10})


def test_the_command_prints_the_estimates_and_calibrates(capsys) -> None:
    assert workshop.main(["--calibrate", "01=40"]) == 0
    out = capsys.readouterr().out
    assert "not calibrated by a timed read" in out and "half-day core track" in out
    assert "01_step_workflow: read in 40 min" in out and "RATES = Rates(" in out


def test_the_half_day_core_track_fits_in_three_hours() -> None:
    """The issue's bound, by the model, on the notebooks' sources."""
    times = workshop.source_times()
    half, _day = workshop.tracks(times)
    assert half.minutes <= workshop.HALF_DAY_LIMIT, (
        f"the half-day core track takes {half.minutes} minutes by the model "
        f"(limit {workshop.HALF_DAY_LIMIT}); core minutes per notebook: "
        + ", ".join(f"{t.stem[:2]} {t.core}" for _, t in times)
        + ". Move sections a learner can skip under '## Going deeper: …' headings."
    )


def test_the_index_shows_minutes_and_both_tracks() -> None:
    index = build_notebooks.notebooks()[REPO / "notebooks" / "00_index.ipynb"]
    table, tracks = index.cells[0].source, index.cells[1].source
    assert "| core | going deeper | total |" in table
    for _title, time in workshop.source_times():
        assert f"]({time.stem}.ipynb) |" in table
        assert f"| {time.core} | {time.deeper} | {time.total} |" in table
    assert "Half-day core track:" in tracks and "One-day track:" in tracks
    assert nbformat.validate(index) is None
