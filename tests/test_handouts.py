"""The workshop handouts, built by ``tools/handouts.py`` and looked at in a real headless Chromium.

The build runs as the documented command does, into a folder kept after the run so a
person can look at what the test saw (``tests/artifacts/`` is git-ignored):

    tests/artifacts/handouts/            the handouts this test built (both editions)
    tests/artifacts/handouts-index.png   a full-page screenshot of the index
    tests/artifacts/handouts-instructor.png   ... and of the instructor's notes
    tests/artifacts/handout-pages/       the first screen of every handout page

Chromium is Debian's ``chromium`` package (/usr/bin/chromium), installed beforehand by
``make install-browser`` (``.ci/run`` does). Without it the browser tests fail in CI
(``CI=true``) and are skipped with a loud message elsewhere; both say how to get it.
It is driven through the Chrome DevTools
protocol (tornado's websocket client, already a Jupyter dependency): no new package,
nothing downloaded at run time, no network needed.

By default every notebook in notebooks/ is built: the handouts are a deliverable, and a
rendering problem is specific to a notebook's outputs. The build takes the notebooks the
notebook tier executed earlier in this session (``tests/artifacts/executed/``, see
tests/test_notebook_reruns.py; the tiers run in that order) and executes only those it
finds no copy of: run alone, this test executes every notebook once (2-3 minutes for
01-09 on two busy cores; the browser checks add ~0.3 s a page).
``FIBLAB_HANDOUTS_ONLY=01,03`` builds and checks a subset instead (what a developer uses
while writing a notebook).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest

from fiblab import config
from fiblab.waiting import wait_for

from .conftest import EXECUTED, EXECUTED_SINCE, REPO, SCRATCH_ROOT
from .websocket_client import WebSocket

NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "tests" / "artifacts"
OUT = ARTIFACTS / "handouts"
INDEX_SCREENSHOT = ARTIFACTS / "handouts-index.png"
NOTES_SCREENSHOT = ARTIFACTS / "handouts-instructor.png"
PAGE_SCREENSHOTS = ARTIFACTS / "handout-pages"
CHROMIUM = "/usr/bin/chromium"
PLACEHOLDER = "# Your code here"
CHECK_TAG = "exercise-check"
CHECK_LABELS = {  # what the page shows on each exercise-check cell
    "instructor": "exercise check (fails with ExerciseIncomplete until a solution runs)",
    "student": "check: run it after your solution",
}
ONLY = os.environ.get("FIBLAB_HANDOUTS_ONLY", "").strip()

ALL_STEMS = [p.stem for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) if p.stem != "00_index"]
STEMS = [
    s
    for s in ALL_STEMS
    if not ONLY or any(w in (s, s[:2]) for w in ONLY.replace(" ", "").split(","))
]
PAGES = [(edition, stem) for stem in STEMS for edition in ("instructor", "student")]

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]


def say(pytest_config: pytest.Config, text: str) -> None:
    """Print past pytest's output capture (build times, sizes, the screenshot's path)."""
    reporter = pytest_config.pluginmanager.get_plugin("terminalreporter")
    capture = pytest_config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        sys.__stdout__.write(text + "\n")
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(text)


def source(stem: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)


def solution_lines(nb: nbformat.NotebookNode) -> list[str]:
    """Lines of solution cells that no other cell shows (the task's text may quote a line
    of the answer, e.g. a skeleton): they must not reach students."""
    other = "\n".join(
        cell.source for cell in nb.cells if "solution" not in cell.metadata.get("tags", [])
    )
    lines = []
    for cell in nb.cells:
        if "solution" in cell.metadata.get("tags", []):
            for line in cell.source.splitlines():
                text = line.strip()
                if len(text) >= 8 and not text.startswith("#") and text not in other:
                    lines.append(text)
    return lines


# --- the build ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(request: pytest.FixtureRequest) -> SimpleNamespace:
    """Run the handout command once for this module (the embedded SQLite default), on the
    notebooks this session already executed."""
    for stale in EXECUTED.glob("*.ipynb"):  # only what this run executed counts
        if stale.stat().st_mtime < EXECUTED_SINCE:
            stale.unlink()
    command = [sys.executable, str(REPO / "tools" / "handouts.py"), "--out", str(OUT)]
    command += ["--executed", str(EXECUTED)]
    if ONLY:
        command += ["--only", ONLY]
    # Scratch folders of their own, apart from the nbmake runs of the same notebooks.
    env = {**os.environ, config.SCRATCH_ROOT_ENV: str(SCRATCH_ROOT / "handouts")}
    result = subprocess.run(
        command, capture_output=True, text=True, cwd=REPO, timeout=1500, env=env
    )
    summary = [
        line
        for line in result.stdout.splitlines()
        if not line.endswith("executing …") and "reusing the executed copy" not in line
    ]
    reused = result.stdout.count(f"reusing the executed copy in {EXECUTED}")
    summary.insert(0, f"{reused} of {len(STEMS)} notebooks reused from {EXECUTED}")
    say(request.config, "\n[handouts] " + "\n[handouts] ".join(summary))
    assert result.returncode == 0, result.stdout + result.stderr
    if "FIBLAB_EXECUTED_SINCE" in os.environ and not ONLY:  # `make test`: nothing runs twice
        assert reused == len(STEMS), "\n".join(summary)
    return SimpleNamespace(out=OUT, stdout=result.stdout)


def test_the_command_writes_both_editions_and_an_index(built: SimpleNamespace) -> None:
    assert STEMS, "no notebook to build"
    for stem in STEMS:
        for name in ("instructor/{}.html", "instructor/{}.ipynb", "student/{}.ipynb"):
            assert (built.out / name.format(stem)).stat().st_size > 0
        assert (built.out / f"student/{stem}.html").stat().st_size > 0
    assert (built.out / "index.html").is_file()
    assert (built.out / "instructor.html").is_file()
    assert (built.out / "student" / "00_index.ipynb").is_file()
    assert re.search(r"built \d+ handouts in [\d.]+ s", built.stdout), built.stdout
    assert "sizes: instructor" in built.stdout


def test_instructor_edition_is_executed_with_solutions(built: SimpleNamespace) -> None:
    for stem in STEMS:
        original = source(stem)
        executed = nbformat.read(built.out / "instructor" / f"{stem}.ipynb", as_version=4)
        sources = [c.source for c in executed.cells]
        assert sources == [c.source for c in original.cells], f"{stem}: not the notebook's cells"
        code = [c for c in executed.cells if c.cell_type == "code"]
        assert code and all(c.execution_count is not None for c in code), f"{stem}: not run"
        for cell in code:
            errors = [o for o in cell.outputs if o.output_type == "error"]
            on_purpose = "raises-exception" in cell.metadata.get("tags", [])
            assert not errors or on_purpose, f"{stem} {cell.id}: {errors[0].ename}"


def test_student_edition_has_no_solutions_and_no_outputs(built: SimpleNamespace) -> None:
    solutions = 0
    for stem in STEMS:
        original = source(stem)
        path = built.out / "student" / f"{stem}.ipynb"
        student = nbformat.read(path, as_version=4)
        nbformat.validate(student)
        cells = [(c.id, c.cell_type) for c in student.cells]
        assert cells == [(c.id, c.cell_type) for c in original.cells], f"{stem}: other cells"

        for before, after in zip(original.cells, student.cells, strict=True):
            if after.cell_type == "code":
                assert after.outputs == [] and after.execution_count is None, f"{stem} {after.id}"
            if "solution" in before.metadata.get("tags", []):
                solutions += 1
                assert after.source == PLACEHOLDER, f"{stem} {after.id}: {after.source!r}"
                assert "solution" in after.metadata.get("tags", [])
                assert not after.metadata.get("jupyter", {}).get("source_hidden")
            else:  # every other cell exactly as the learner's notebook has it
                assert after.source == before.source, f"{stem} {after.id}"
                assert after.metadata == before.metadata, f"{stem} {after.id}"
        text = path.read_text()
        for line in solution_lines(original):
            assert json.dumps(line)[1:-1] not in text, f"{stem}: solution line {line!r} left"
        # The navigation works inside the handed-out folder (00_index.ipynb included).
        outside = {f"{s}.ipynb" for s in ALL_STEMS if s not in STEMS}
        for target in re.findall(r"\]\(([^)#\s]+\.ipynb)", text):
            assert target in outside or (path.parent / target).is_file(), f"{stem}: {target}"
    assert solutions >= 1, "no cell tagged 'solution' in the notebooks checked"


# --- the browser ----------------------------------------------------------------------


class Browser:
    """One headless Chromium page, driven through the DevTools protocol."""

    def __init__(self, url: str) -> None:
        self.socket = WebSocket(url, max_message_size=512 * 1024**2)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, timeout: float = 60, **params: object) -> dict:
        self.next_id += 1
        self.socket.send({"id": self.next_id, "method": method, "params": params})
        while True:
            message = self.socket.receive(timeout)
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            if "method" in message:
                self.events.append(message)

    def wait_event(self, method: str, timeout: float = 60) -> dict:
        while True:
            for event in self.events:
                if event["method"] == method:
                    self.events.remove(event)
                    return event
            self.events.append(self.socket.receive(timeout))

    def open(self, path: Path) -> None:
        """Load a file and wait for its load event (images and styles included)."""
        self.events.clear()
        self.call("Page.navigate", url=path.resolve().as_uri())
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str) -> object:
        result = self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, full_page: bool = False) -> bytes:
        params: dict = {"format": "png"}
        if full_page:
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            params["captureBeyondViewport"] = True
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"]}
            params["clip"]["scale"] = 1
        data = base64.b64decode(self.call("Page.captureScreenshot", **params)["data"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return data


def require_chromium(pytest_config: pytest.Config) -> None:
    """Fail in CI, skip loudly elsewhere, if there is no Chromium: and say how to get it."""
    if os.access(CHROMIUM, os.X_OK):
        return
    message = (
        f"NO BROWSER CHECK OF THE HANDOUTS: {CHROMIUM} is missing. Get it with "
        "`make install-browser` (as root; Debian's chromium package) or "
        "`sudo apt-get install chromium`."
    )
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message, pytrace=False)
    say(pytest_config, "\n" + "!" * 78 + f"\n{message}\n" + "!" * 78)
    pytest.skip(message)


def test_a_missing_browser_fails_in_ci_and_says_how(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    here, banners = sys.modules[__name__], []
    monkeypatch.setattr(here, "CHROMIUM", str(tmp_path / "chromium"))
    monkeypatch.setattr(here, "say", lambda _config, text: banners.append(text))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="missing. Get it with `make install-browser`"):
        require_chromium(request.config)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="make install-browser"):
        require_chromium(request.config)
    assert len(banners) == 1 and "make install-browser" in banners[0]


@pytest.fixture(scope="module")
def browser(request: pytest.FixtureRequest):
    """A headless Chromium with a fresh profile; stopped (by its pid) afterwards."""
    require_chromium(request.config)
    profile = tempfile.mkdtemp(prefix="fiblab-chromium-")
    command = [
        CHROMIUM, "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--no-default-browser-check", "--disable-dev-shm-usage", "--hide-scrollbars",
        f"--user-data-dir={profile}", "--remote-debugging-port=0",
        "--window-size=1280,900", "about:blank",
    ]  # fmt: skip
    if os.geteuid() == 0:
        command.insert(1, "--no-sandbox")  # Chromium refuses to run as root otherwise
    log = open(Path(profile) / "chromium.log", "wb")  # noqa: SIM115 (closed in finally)
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    browser = None
    try:
        active = Path(profile) / "DevToolsActivePort"

        def port() -> str | None:
            if process.poll() is not None:
                raise RuntimeError(
                    f"chromium exited: {(Path(profile) / 'chromium.log').read_text()}"
                )
            lines = active.read_text().split() if active.exists() else []
            return lines[0] if len(lines) == 2 else None

        number = wait_for(port, 60, "chromium's DevTools port")
        with urllib.request.urlopen(f"http://127.0.0.1:{number}/json/list", timeout=10) as reply:
            pages = [t for t in json.load(reply) if t["type"] == "page"]
        browser = Browser(pages[0]["webSocketDebuggerUrl"])
        browser.call("Page.enable")
        browser.call("Emulation.setDeviceMetricsOverride", width=1280, height=900,
                     deviceScaleFactor=1, mobile=False)  # fmt: skip
        yield browser
    finally:
        if browser is not None:
            browser.socket.close()
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)
        log.close()
        shutil.rmtree(profile, ignore_errors=True)


PROBE = r"""
(async () => {
  const images = [...document.images];
  await Promise.all(images.map(i => i.decode().catch(() => null)));
  const cells = [...document.querySelectorAll('.jp-Cell')];
  const hrefs = e => e ? [...e.querySelectorAll('a[href]')].map(a => a.getAttribute('href')) : [];
  const outputText = c => [...c.querySelectorAll('.jp-OutputArea-output')].map(o => o.innerText);
  return {
    text: document.body.innerText,
    height: document.documentElement.scrollHeight,
    cells: cells.length,
    visibleCells: cells.filter(c => c.getBoundingClientRect().height > 0).length,
    outputs: document.querySelectorAll('.jp-OutputArea-output').length,
    images: images.map(i => ({
      output: !!i.closest('.jp-OutputArea-output'), complete: i.complete,
      width: i.naturalWidth, height: i.naturalHeight, shown: i.getBoundingClientRect().width})),
    errors: [...document.querySelectorAll('.fiblab-error')].map(e => ({
      ename: e.dataset.ename, cell: e.closest('.jp-Cell')?.id,
      onPurpose: !!e.closest('.celltag_raises-exception'),
      visible: e.getBoundingClientRect().height > 0})),
    onPurpose: [...document.querySelectorAll('.jp-Cell.celltag_raises-exception')].map(c => ({
      cell: c.id, shown: !!c.querySelector('.fiblab-error')})),
    checkLabels: [...document.querySelectorAll('.jp-Cell.celltag_exercise-check')]
      .map(c => getComputedStyle(c, '::before').content),
    banner: document.querySelector('.fiblab-banner')?.innerText || '',
    tracebacks: cells.filter(c => !c.classList.contains('celltag_raises-exception'))
      .filter(c => outputText(c).some(t => t.includes('Traceback (most recent call last)')))
      .map(c => c.id),
    firstLinks: hrefs(cells[0]),
    lastLinks: hrefs(cells[cells.length - 1]),
    links: hrefs(document),
    cellLinks: cells.flatMap(hrefs),
    external: [...document.querySelectorAll('script[src], link[href], img[src], iframe[src]')]
      .map(e => e.getAttribute('src') || e.getAttribute('href'))
      .filter(u => /^([a-z]+:)?\/\//i.test(u) && !u.startsWith('file:')),
    fetched: performance.getEntriesByType('resource').map(r => r.name)
      .filter(n => !n.startsWith('data:') && !n.startsWith('file:')),
  };
})()
"""


def ink(png: bytes) -> float:
    """Share of pixels that differ from the page's most common colour (0 for a blank page)."""
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3]
    packed = (pixels * 255).astype(np.uint32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.uint32)
    _values, counts = np.unique(packed, return_counts=True)
    return 1.0 - counts.max() / packed.size


def image_outputs(nb: nbformat.NotebookNode) -> int:
    return sum(
        1
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.output_type in ("display_data", "execute_result")
        and ({"image/png", "image/jpeg"} & set(output.get("data", {})))
    )


def check_links(page: Path, links: list[str]) -> None:
    """Every local link resolves (only notebooks left out of a subset build may dangle)."""
    outside = {
        f"{stem}.{ext}" for stem in ALL_STEMS if stem not in STEMS for ext in ("html", "ipynb")
    }
    for href in links:
        target = href.split("#")[0]
        if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            continue
        if Path(target).name not in outside:
            assert (page.parent / target).exists(), f"{page.name}: broken link {href!r}"


def test_index_in_the_browser(built: SimpleNamespace, browser: Browser, request) -> None:
    index = built.out / "index.html"
    browser.open(index)
    rows = browser.evaluate(
        """[...document.querySelectorAll('#handouts tbody tr')].map(r => ({
             id: r.id, cells: [...r.cells].map(c => c.innerText.trim()),
             links: [...r.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))}))"""
    )
    assert [row["id"] for row in rows] == STEMS  # every notebook, in order
    for row in rows:
        title, objectives, duration = row["cells"][:3]
        assert title and len(objectives) > 20 and re.search(r"\d", duration), row
        assert f"instructor/{row['id']}.html" in row["links"]
        assert f"student/{row['id']}.ipynb" in row["links"]
    probe = browser.evaluate(PROBE)
    check_links(index, probe["links"])
    assert probe["external"] == [] and probe["fetched"] == []
    assert "instructor.html" in probe["links"]
    png = browser.screenshot(INDEX_SCREENSHOT, full_page=True)
    assert ink(png) > 0.01, "the index page looks blank"
    say(request.config, f"\n[handouts] index screenshot: {INDEX_SCREENSHOT}")


def check_paragraphs(stem: str) -> int:
    """How many markdown paragraphs of a notebook start with "**Check:**"."""
    return sum(
        paragraph.strip().startswith("**Check:**")
        for cell in source(stem).cells
        if cell.cell_type == "markdown"
        for paragraph in re.split(r"\n[ \t]*\n", cell.source)
    )


def test_instructor_notes_in_the_browser(built: SimpleNamespace, browser: Browser, request) -> None:
    notes = built.out / "instructor.html"
    browser.open(notes)
    page = browser.evaluate(
        """({
          sections: [...document.querySelectorAll('h2[id]')].map(h => h.id),
          agendas: document.querySelectorAll('table.agenda').length,
          notebooks: [...document.querySelectorAll('section.notebook')].map(s => ({
            id: s.id, checks: s.querySelectorAll('ol > li').length,
            exercises: s.querySelectorAll('.exercise').length})),
          conditions: [...document.querySelectorAll('#conditions ~ table tr')].length - 1,
        })"""
    )
    assert page["sections"] == ["agenda", "checks", "stuck", "laptop", "odd", "conditions"]
    assert page["agendas"] == 2  # the half-day core track and the one-day track
    assert [n["id"] for n in page["notebooks"]] == STEMS
    for notebook in page["notebooks"]:
        stem = notebook["id"]
        assert notebook["checks"] == check_paragraphs(stem), notebook
        solutions = sum("solution" in c.metadata.get("tags", []) for c in source(stem).cells)
        assert notebook["exercises"] == solutions, notebook
    assert page["conditions"] == len(STEMS)
    probe = browser.evaluate(PROBE)
    assert "WSL2" in probe["text"] and "not yet calibrated by a timed read" in probe["text"]
    check_links(notes, probe["links"])
    assert probe["external"] == [] and probe["fetched"] == []
    png = browser.screenshot(NOTES_SCREENSHOT, full_page=True)
    assert ink(png) > 0.01, "the instructor's notes look blank"
    say(request.config, f"\n[handouts] instructor's notes screenshot: {NOTES_SCREENSHOT}")


@pytest.mark.parametrize(("edition", "stem"), PAGES, ids=[f"{e}-{s}" for e, s in PAGES])
def test_handout_page_in_the_browser(
    built: SimpleNamespace, browser: Browser, edition: str, stem: str
) -> None:
    page = built.out / edition / f"{stem}.html"
    browser.open(page)
    probe = browser.evaluate(PROBE)
    png = browser.screenshot(PAGE_SCREENSHOTS / f"{edition}-{stem}.png")
    nb = nbformat.read(built.out / edition / f"{stem}.ipynb", as_version=4)

    # Not blank: every cell is there and visible, there is text, and pixels to see.
    assert probe["cells"] == len(nb.cells) == probe["visibleCells"], probe["cells"]
    assert len(probe["text"]) > 1000 and probe["height"] > 900
    assert ink(png) > 0.01, f"{page} looks blank"

    # Plots: each image output is an <img> that the browser decoded.
    assert all(i["complete"] and i["width"] > 0 and i["height"] > 0 for i in probe["images"]), (
        probe["images"]
    )
    plots = [i for i in probe["images"] if i["output"]]
    assert len(plots) == image_outputs(nb)
    assert all(i["shown"] > 100 for i in plots), plots

    # Errors only where a cell fails on purpose, and there visibly.
    assert all(e["onPurpose"] for e in probe["errors"]), probe["errors"]
    assert probe["tracebacks"] == [], f"traceback text in cells {probe['tracebacks']}"

    # Self-contained: nothing from the network.
    assert probe["external"] == [] and probe["fetched"] == []

    # Navigation at top and bottom: index, and previous / next where they exist.
    position = ALL_STEMS.index(stem)
    expected = {"../index.html"}
    if position > 0:
        expected.add(f"{ALL_STEMS[position - 1]}.html")
    if position + 1 < len(ALL_STEMS):
        expected.add(f"{ALL_STEMS[position + 1]}.html")
    assert set(probe["firstLinks"]) == expected == set(probe["lastLinks"])
    check_links(page, probe["links"])
    unconverted = [h for h in probe["cellLinks"] if h.split("#")[0].endswith(".ipynb")]
    assert unconverted == [], f"notebook links not pointed at the HTML handouts: {unconverted}"

    # Exercise checks are labelled, with what they mean in this edition.
    checks = sum(CHECK_TAG in c.metadata.get("tags", []) for c in nb.cells)
    assert probe["checkLabels"] == [f'"{CHECK_LABELS[edition]}"'] * checks

    secrets = solution_lines(source(stem))
    if edition == "instructor":
        # The conditions the notebook ran under: cores, load, what ran beside it, dbos.
        banner = probe["banner"]
        assert re.search(r"on \d+ cores, load [\d.]+ before and [\d.]+ after", banner), banner
        assert "dbos " in banner and ("at the same time" in banner or "test suite" in banner)
        assert all(e["shown"] for e in probe["onPurpose"]), probe["onPurpose"]
        assert all(e["visible"] for e in probe["errors"])
        missing = [line for line in secrets if line not in probe["text"]]
        assert missing == [], f"solutions not shown: {missing}"
    else:
        assert probe["outputs"] == 0 and probe["errors"] == [] and plots == []
        left = [line for line in secrets if line in probe["text"]]
        assert left == [], f"solution text in the student page: {left}"
        placeholders = sum(c.source == PLACEHOLDER for c in nb.cells)
        assert probe["text"].count(PLACEHOLDER) >= placeholders
