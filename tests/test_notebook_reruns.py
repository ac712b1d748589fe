"""Every notebook, executed as a learner runs it: the notebook tier.

SQLite pass: each notebook twice in ONE kernel (01 and 03 side by side: two notebooks at
the same time must not collide on ports, databases or scratch folders):

1. the **student edition** (``tools/editions.py``'s ``student_edition``, the very function
   that writes the handed-out notebooks: every ``solution`` cell emptied to
   ``# Your code here``), top to bottom, going on past errors, as a learner who skips
   every exercise. The only cells that may fail are the ``exercise-check`` cells, each
   with ``ExerciseIncomplete``; and every exercise check must fail there (a check that
   passes on the placeholder checks nothing). The failure names the notebook and cells.
2. the **instructor edition** (solutions in), in the same kernel: every cell passes. This
   is "Run All" pressed again, and the learner who pastes the solution and runs on.

Run 2's executed copy is kept in ``tests/artifacts/executed/`` for the handouts test,
which builds from it instead of executing the notebook again, with the conditions it
ran under (cores, load before and after, what ran beside it: ``tools/handouts.py``
shows them on the page).

PostgreSQL pass (``FIBLAB_DATABASE_URL`` set): each notebook once, through nbmake
(the Makefile runs ``pytest --nbmake notebooks``; ``notebooks/conftest.py`` fails a
notebook whose outputs show the database password). The per-notebook tests here skip
when nbmake runs the notebooks in the same session; otherwise they run each notebook
once (instructor edition) and check the password themselves.
"""

from __future__ import annotations

import concurrent.futures
import copy
import importlib.util
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from fiblab import config

from .conftest import EXECUTED, REPO, sqlite_pass_only, strays

sys.path.insert(0, str(REPO / "tools"))
from editions import skipped_exercise_problems, student_edition  # noqa: E402
from handouts import observed  # noqa: E402

pytestmark = [pytest.mark.notebook, pytest.mark.timeout(1200)]

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SIDE_BY_SIDE = ("01_step_workflow", "03_servers")
# The longest first (benchmarks/README.md, section 5), so that two pytest-xdist workers
# finish at about the same time instead of one waiting for the other's last notebook.
LONGEST_FIRST = (
    "09_scaling_out",
    "08_async_variants",
    "02_queues",
    "06_health_split",
    "05_crash_and_recovery",
    "07_class_based_variants",
    "04_client_handles",
)
ALONE = sorted(
    (p for p in NOTEBOOKS if p.stem not in SIDE_BY_SIDE),
    key=lambda p: LONGEST_FIRST.index(p.stem) if p.stem in LONGEST_FIRST else len(LONGEST_FIRST),
)
DATABASE_URL = os.environ.get(config.DATABASE_URL_ENV)
SECOND_RUN = "the second Run All in its kernel, after the student edition (every exercise skipped)"


def alongside(partner: str | None = None) -> str:
    """What ran at the same time as a notebook, as its handout page says it."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    suite = (
        f"while the test suite ran up to {workers} tests at a time (pytest-xdist workers)"
        if workers > 1
        else "while the test suite ran one test at a time"
    )
    return f"side by side with {partner}, {suite}" if partner else suite


def client_for(nb: nbformat.NotebookNode, cwd: Path) -> NotebookClient:
    return NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )


def run_both_editions(
    path: Path, beside: str | None = None
) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode, str | None]:
    """Run the student edition (errors allowed), then the instructor edition, in one kernel.

    Returns both executed notebooks and, if a cell of the instructor run failed, why.
    The instructor run, with the conditions it ran under, is written to ``EXECUTED`` when
    the notebook is a real one of the series on the SQLite default.
    """
    nb = nbformat.read(path, as_version=4)
    student, instructor = student_edition(nb), copy.deepcopy(nb)
    client = client_for(student, path.parent)
    client.allow_errors = True  # a learner goes on past a failing cell
    failed = None
    with client.setup_kernel():
        client.execute(cleanup_kc=False)
        client.nb, client.allow_errors = instructor, False  # raising cells: raises-exception
        with observed(alongside(beside), SECOND_RUN) as conditions:
            try:
                client.execute(cleanup_kc=False)
            except CellExecutionError as error:
                failed = str(error)
    if path.parent == REPO / "notebooks" and not DATABASE_URL and failed is None:
        kept = copy.deepcopy(instructor)
        kept.metadata["fiblab"] = {
            "executed_seconds": conditions["executed_seconds"],
            "database": "sqlite default",
            "conditions": conditions,
        }
        EXECUTED.mkdir(parents=True, exist_ok=True)
        nbformat.write(kept, EXECUTED / path.name)
    return student, instructor, failed


def check_both_editions(path: Path, beside: str | None = None) -> None:
    """Fail naming the notebook and its cells if either run went wrong."""
    (EXECUTED / path.name).unlink(missing_ok=True)  # never leave a copy from an earlier session
    student, _instructor, failed = run_both_editions(path, beside)
    problems = skipped_exercise_problems(student)
    report = []
    if problems:
        report.append(
            f"{path.stem}, student edition run top to bottom with every exercise skipped:\n  "
            + "\n  ".join(problems)
        )
    if failed:
        report.append(f"{path.stem}, instructor edition (solutions in, run again):\n{failed}")
    if report:
        pytest.fail("\n\n".join(report), pytrace=False)


def run_once(path: Path) -> nbformat.NotebookNode:
    """The instructor edition, once (the PostgreSQL pass without nbmake)."""
    nb = nbformat.read(path, as_version=4)
    client_for(nb, path.parent).execute()
    return nb


def check_no_password(nb: nbformat.NotebookNode, name: str) -> None:
    """03 prints server logs and the lab, 09 its PostgreSQL part: no password anywhere."""
    password = urlsplit(DATABASE_URL or "").password
    if password:
        assert password not in nbformat.writes(nb), f"{name} shows the database password"


@pytest.fixture
def how(request: pytest.FixtureRequest) -> str:
    """ "editions" on the SQLite default; "once" on PostgreSQL; skip when nbmake runs them."""
    if not DATABASE_URL:
        return "editions"
    if any(getattr(item, "nbmake", False) for item in request.session.items):
        pytest.skip("nbmake runs each notebook once in this PostgreSQL pass")
    return "once"


def test_two_notebooks_side_by_side(how: str) -> None:
    """01 and 03 at the same time: each still passes."""
    pair = [REPO / "notebooks" / f"{stem}.ipynb" for stem in SIDE_BY_SIDE]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        if how == "once":
            futures = {path.stem: pool.submit(run_once, path) for path in pair}
        else:
            partners = {pair[0]: pair[1].stem, pair[1]: pair[0].stem}
            futures = {p.stem: pool.submit(check_both_editions, p, partners[p]) for p in pair}
    if how == "once":
        for name, future in futures.items():
            check_no_password(future.result(), name)
    else:  # both notebooks' verdicts, not only the first one's
        errors = [f.exception() for f in futures.values() if f.exception() is not None]
        if errors:
            said = [e if isinstance(e, pytest.fail.Exception) else repr(e) for e in errors]
            pytest.fail("\n\n".join(map(str, said)), pytrace=False)
    assert strays(wait=10) == []


@pytest.mark.parametrize("path", ALONE, ids=[p.stem for p in ALONE])
def test_run_all(path: Path, how: str) -> None:
    if how == "once":
        check_no_password(run_once(path), path.stem)
    else:
        check_both_editions(path)
    assert strays(wait=10) == []


def test_the_postgres_pass_has_a_password_to_look_for() -> None:
    """Without one, the password checks (here and in notebooks/conftest.py) check nothing."""
    if not DATABASE_URL:
        pytest.skip("SQLite pass: no database password")
    assert urlsplit(DATABASE_URL).password


# --- the student-edition run itself, on a notebook small enough to read ----------------

TASK = "**Exercise:** define `answer`, the number the check looks for."
SOLUTION = "answer = 6 * 7"
CHECK = """\
from fiblab.exercises import ExerciseIncomplete, require
require(globals(), "answer", task="define answer")
if answer != 42:
    raise ExerciseIncomplete("answer should be 42")"""
LATER = """\
from fiblab.exercises import mine_or_reference
print(mine_or_reference(globals(), "answer", 42, "answer") + 1)"""


def printed(cell: nbformat.NotebookNode) -> str:
    """What a cell printed (one print may arrive as several stream outputs)."""
    return "".join(o.text for o in cell.outputs if o.output_type == "stream")


def synthetic(folder: Path, later: str = LATER, check: str = CHECK) -> Path:
    """A notebook with one exercise as the convention has it, and cells around it."""
    new = nbformat.v4
    cells = [
        new.new_markdown_cell(TASK),
        new.new_code_cell(SOLUTION, metadata={"tags": ["solution"]}),
        new.new_code_cell(check, metadata={"tags": ["exercise-check"]}),
        new.new_code_cell(later),
        new.new_code_cell(
            "raise ValueError('on purpose')", metadata={"tags": ["raises-exception"]}
        ),
    ]
    for number, cell in enumerate(cells):
        cell.id = f"cell-{number:02d}"
    path = folder / "99_synthetic.ipynb"
    nbformat.write(new.new_notebook(cells=cells), path)
    return path


@sqlite_pass_only
def test_a_skipped_exercise_fails_only_its_check_and_the_solution_passes(tmp_path: Path) -> None:
    student, instructor, failed = run_both_editions(synthetic(tmp_path))
    assert skipped_exercise_problems(student) == [] and failed is None
    check = student.cells[2].outputs[0]
    assert (check.ename, check.evalue) == (
        "ExerciseIncomplete",
        "answer not defined yet: define answer in the exercise cell above, run it, then run "
        "this check again.",
    )
    reference = "You skipped the exercise: using the reference answer.\n43\n"
    assert printed(student.cells[3]) == reference
    assert [o.output_type for o in instructor.cells[2].outputs] == []
    assert printed(instructor.cells[3]) == "43\n"
    assert not (EXECUTED / "99_synthetic.ipynb").exists()  # not a notebook of the series


@sqlite_pass_only
def test_a_cascade_and_a_check_that_cannot_fail_are_named(tmp_path: Path) -> None:
    path = synthetic(tmp_path, later="print(answer + 1)", check="pass")
    with pytest.raises(pytest.fail.Exception) as failure:
        check_both_editions(path)
    lines = str(failure.value).splitlines()
    assert (
        lines[0] == "99_synthetic, student edition run top to bottom with every exercise skipped:"
    )
    assert lines[1].startswith("  cell 3 (cell-02, 'pass'), tagged exercise-check, passed with")
    assert lines[2].startswith("  cell 4 (cell-03, 'print(answer + 1)'): NameError: name ")
    assert len(lines) == 3  # the instructor edition passed


@sqlite_pass_only
def test_nbmake_fails_a_notebook_that_shows_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """notebooks/conftest.py's hook around an nbmake run, driven by hand (the password is
    made up; no database is opened; the PostgreSQL pass shows a notebook without it passes)."""
    from nbmake import pytest_items

    spec = importlib.util.spec_from_file_location("notebook_hooks", REPO / "notebooks/conftest.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    monkeypatch.setenv(config.DATABASE_URL_ENV, "postgresql://fiblab:s3cret-pw@127.0.0.1:1/x")
    cells = [
        "print('nothing to see')",
        f"import os; print(os.environ[{config.DATABASE_URL_ENV!r}])",
    ]
    path = tmp_path / "shows.ipynb"
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), path
    )
    item = SimpleNamespace(nbmake=True, name=path.name)
    call = hooks.pytest_runtest_call(item)  # a generator: pytest's wrapper protocol
    next(call)  # the hook is in place: nbmake's runtest would run now
    pytest_items.NotebookRun(path, 60).execute()
    with pytest.raises(pytest_items.NotebookFailedException) as failure:
        call.send(None)
    assert failure.value.args[0].error.summary == (
        "shows.ipynb shows the database password (cells [2], counted from 1)"
    )
