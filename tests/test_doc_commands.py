"""Every command and code block the README and the notebooks' prose show, run as written.

Fenced ``bash`` and ``python`` blocks run in document order, in a fresh folder of their
own (nothing in it but a ``.venv`` link to this interpreter's environment), the way a
person types them. An HTML comment just above a block says how, when not plainly:

* ``<!-- doc-test: background -->`` – a program that runs until Ctrl-C (a server in its
  own terminal): started, waited on until it prints a ready line, and stopped at the end
  with a SIGINT to its process group, as a terminal's Ctrl-C does;
* ``<!-- doc-test: starts LOG -->`` – a block that starts a program in the background
  and returns: run, then waited on until the ready line appears in LOG (as a person
  would wait before typing the next command);
* ``<!-- doc-test: needs-postgres -->`` – run only where PostgreSQL's binaries exist (the
  PostgreSQL pass installs them);
* ``<!-- doc-test: not-run: why, naming the test that covers it -->``.
"""

from __future__ import annotations

import html
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
import pytest

from fiblab.fib import fib_iterative
from fiblab.localpg import find_bin_dir
from fiblab.waiting import wait_for

from .conftest import REPO, SCRATCH_ROOT, sqlite_pass_only

pytestmark = pytest.mark.integration

BLOCK = re.compile(
    r"(?:<!-- doc-test: (?P<how>[^\n]*?) -->\n)?^```(?P<lang>bash|python)\n(?P<body>.*?)^```",
    re.MULTILINE | re.DOTALL,
)
READY_LINE = re.compile(r"fiblab-\w+ ready")
RUN_TIMEOUT_SEC = 120


@dataclass
class Block:
    where: str  # "README.md:54", "notebooks/06_health_split.ipynb cell 40"
    lang: str
    body: str
    how: str  # "run", "background", "needs-postgres" or "not-run: …"


def blocks_in(text: str, where: str) -> list[Block]:
    found = []
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start("lang")) + 1
        how = (match["how"] or "run").strip()
        found.append(Block(f"{where}:{line}", match["lang"], match["body"], how))
    return found


def readme_blocks() -> list[Block]:
    return blocks_in((REPO / "README.md").read_text(), "README.md")


def notebook_blocks() -> list[Block]:
    """The terminal commands in the notebooks' text (``bash`` blocks). Python in a text cell
    is a quotation (the original experiment's code, say): the notebook's code cells run."""
    found = []
    for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type == "markdown":
                where = f"notebooks/{path.name} cell {index}"
                found += [b for b in blocks_in(cell.source, where) if b.lang == "bash"]
    return found


class Terminals:
    """The fresh folder the blocks run in, and the programs still running in it."""

    def __init__(self) -> None:
        self.folder = SCRATCH_ROOT / f"docs-{uuid.uuid4().hex[:12]}"
        self.folder.mkdir(parents=True)
        (self.folder / ".venv").symlink_to(Path(sys.prefix))
        self.background: list[tuple[subprocess.Popen[bytes], Path]] = []
        self.env = {k: v for k, v in os.environ.items() if k != "FIBLAB_DATABASE_URL"}

    def run(self, block: Block) -> str:
        """Run a block to its end; its output (it must exit 0)."""
        command = ["bash", "-c", block.body] if block.lang == "bash" else [sys.executable, "-c"]
        if block.lang == "python":
            command.append(block.body)
        result = subprocess.run(
            command,
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SEC,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{block.where} exited {result.returncode}:\n{output}"
        return output

    def start(self, block: Block) -> Path:
        """Start a block that runs until Ctrl-C, in a terminal-like process group of its
        own; wait for its ready line; its log file."""
        log = self.folder / f"terminal-{len(self.background) + 1}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                ["bash", "-c", block.body],
                cwd=self.folder,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.background.append((process, log))

        self.wait_ready(log, block, process)
        return log

    def wait_ready(
        self, log: Path, block: Block, process: subprocess.Popen[bytes] | None = None
    ) -> None:
        """Wait until ``log`` holds a fiblab ready line (failing if ``process`` exits)."""

        def ready() -> bool:
            text = log.read_text() if log.exists() else ""
            assert process is None or process.poll() is None, f"{block.where} exited:\n{text}"
            return bool(READY_LINE.search(text))

        wait_for(ready, 90, f"{block.where} to print its ready line in {log.name}")

    def ctrl_c_all(self) -> list[tuple[int | None, str]]:
        """SIGINT to every background group (a terminal's Ctrl-C); exit codes and logs."""
        for process, _log in self.background:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
        ended = []
        for process, log in self.background:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
            ended.append((process.returncode, log.read_text()))
        return ended

    def close(self) -> None:
        """End whatever the blocks left running: background programs, then a throwaway
        PostgreSQL a block started here (the notebooks leave stopping it to the reader)."""
        self.ctrl_c_all()
        for proc in self.still_running():  # started by our blocks: ours to end
            proc.kill()
        if (self.folder / "scratch" / "postgres").exists():
            subprocess.run(
                [sys.executable, "-m", "fiblab.localpg", "stop"],
                cwd=self.folder,
                capture_output=True,
                timeout=60,
            )

    def still_running(self) -> list[psutil.Process]:
        """Processes whose working folder is ours (what the blocks started)."""
        found = []
        for proc in psutil.process_iter():
            try:
                if Path(proc.cwd()) == self.folder and proc.pid != os.getpid():
                    found.append(proc)
            except psutil.Error:
                continue
        return found


@pytest.fixture
def terminals() -> Iterator[Terminals]:
    workspace = Terminals()
    try:
        yield workspace
    finally:
        workspace.close()


def test_every_block_is_run_or_says_what_covers_it() -> None:
    for block in readme_blocks() + notebook_blocks():
        if block.how.startswith("not-run:"):
            named = re.findall(r"(tests/\w+\.py|\.ci/run)", block.how)
            assert named, f"{block.where}: a not-run block must name the test that covers it"
            for path in named:
                assert (REPO / path).exists(), f"{block.where} names {path}, which is gone"
        else:
            kind = block.how.split()[0]
            assert kind in ("run", "background", "starts", "needs-postgres"), block.where
    assert len(readme_blocks()) >= 8


@sqlite_pass_only  # the README's commands name their SQLite files
def test_the_readme_three_terminals_and_every_other_block(terminals: Terminals) -> None:
    outputs: dict[str, str] = {}
    for block in readme_blocks():
        if block.how == "background":
            outputs[block.where] = str(terminals.start(block))
        elif block.how == "run":
            outputs[block.where] = terminals.run(block)
        elif block.how.startswith("starts "):
            outputs[block.where] = terminals.run(block)
            terminals.wait_ready(terminals.folder / block.how.split()[1], block)

    # Terminal 3: every result, first finished first, both servers having done work.
    request = next(out for where, out in outputs.items() if "=== Summary ===" in out)
    done = re.findall(r"^done: fib\((\d+)\) = (\d+) .*executor (server-\d)\]$", request, re.M)
    assert sorted(int(n) for n, _, _ in done) == [32, 32, 34, 34, 34], request
    assert all(int(value) == fib_iterative(int(n)) for n, value, _ in done), request
    assert {executor for *_, executor in done} == {"server-1", "server-2"}, request
    # The plain-DBOSClient block.
    assert any(out.startswith("(25, 75025, ") for out in outputs.values()), outputs

    # The background server started with --no-parent-watch stops on its SIGTERM.
    pid = int((terminals.folder / "scratch" / "server-3.pid").read_text())
    wait_for(lambda: not psutil.pid_exists(pid), 30, "server-3 to stop on SIGTERM")
    assert "stopping: SIGTERM" in (terminals.folder / "scratch" / "server-3.log").read_text()

    # Ctrl-C in terminals 1 and 2: each server stops cleanly, having named its workflows.
    ended = terminals.ctrl_c_all()
    assert len(ended) == 2
    for code, log in ended:
        assert code == 0, log
        assert "stopping: SIGINT" in log and "stopped" in log, log
        assert re.search(r"workflow \S+ finished: fib\(\d+\)", log), log
    assert not terminals.still_running()


@pytest.mark.skipif(find_bin_dir() is None, reason="PostgreSQL binaries not installed")
def test_the_readme_postgresql_blocks(terminals: Terminals) -> None:
    outputs = [terminals.run(b) for b in readme_blocks() if b.how == "needs-postgres"]
    assert len(outputs) == 2
    assert "running at postgresql://" in outputs[0] and ":***@" in outputs[0]
    assert "stopped" in outputs[1]


def test_the_notebooks_terminal_commands(terminals: Terminals) -> None:
    blocks = notebook_blocks()
    assert blocks, "the notebooks tell a person to type commands; none were found"
    for block in blocks:
        if block.how == "background":
            terminals.start(block)
        elif block.how == "run" or (block.how == "needs-postgres" and find_bin_dir()):
            terminals.run(block)
    for code, log in terminals.ctrl_c_all():
        assert code == 0, log
    assert not terminals.still_running()


def test_the_terminal_handout_page_shows_the_readme_commands() -> None:
    sys.path.insert(0, str(REPO / "tools"))
    from terminal_handout import terminal_page

    page = terminal_page()
    text = html.unescape(re.sub(r"<[^>]+>", "", page))  # without the highlighting's spans
    for block in readme_blocks():
        if block.how in ("background", "run") and block.lang == "bash":
            assert block.body.strip() in text, f"{block.where} is missing from the page"
    assert "doc-test" not in page and "<h1" in page


INLINE = re.compile(r"`((?:make|python|\.venv/bin/python|dbos) [^`]+)`")


def inline_commands() -> list[tuple[str, str]]:
    """``(where, command)`` for each command written inline in the README or a notebook."""
    found = [("README.md", m[1]) for m in INLINE.finditer((REPO / "README.md").read_text())]
    for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                found += [(f"notebooks/{path.name}", m[1]) for m in INLINE.finditer(cell.source)]
    return found


@sqlite_pass_only  # reads --help texts and the Makefile: no database at all
def test_every_inline_command_names_a_real_target_program_and_options() -> None:
    """Commands mentioned in running text are not run, but they must not drift either:
    a ``make`` target exists; a program answers ``--help`` naming every option used."""
    targets = set(re.findall(r"^([\w-]+):", (REPO / "Makefile").read_text(), re.MULTILINE))
    commands = inline_commands()
    assert len(commands) >= 10
    programs: dict[str, tuple[str, ...]] = {}
    for where, command in commands:
        words = command.split()
        if words[0] == "make":
            named = [w for w in words[1:] if "=" not in w]  # VAR=value sets a make variable
            assert named and named[0] in targets, f"{where}: `{command}`: no Makefile target"
        elif words[0] == "dbos":
            subcommand = [w for w in words[1:3] if re.fullmatch(r"[a-z]+", w)]
            programs[command] = (str(Path(sys.executable).parent / "dbos"), *subcommand)
        elif words[1] == "-m":
            programs[command] = (sys.executable, "-m", words[2])
        else:
            programs[command] = (sys.executable, str(REPO / words[1]))

    def help_of(program: tuple[str, ...]) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*program, "--help"], capture_output=True, text=True, cwd=REPO, timeout=60
        )

    distinct = sorted(set(programs.values()))
    with ThreadPoolExecutor(max_workers=4) as pool:  # each --help is mostly an import
        helps = dict(zip(distinct, pool.map(help_of, distinct), strict=True))
    for where, command in commands:
        if command not in programs:
            continue
        result = helps[programs[command]]
        assert result.returncode == 0, f"{where}: `{command}`: {result.stderr}"
        for option in re.findall(r"(?<!\S)(--?[a-z][\w-]*)", command):
            assert option in result.stdout, f"{where}: `{command}`: {option} is not an option"
