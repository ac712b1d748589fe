"""The series in JupyterLab, in a real headless Chromium, as a learner meets it.

The test starts JupyterLab's server (``JupyterServer`` of the session test: a free port,
a random token, ``notebooks/`` as its root), opens notebook 05 in Debian's Chromium
(``/usr/bin/chromium``, ``make install-browser``) driven by Playwright, which downloads
no browser of its own, and presses "Run > Run All Cells" in the menu. It checks what a
learner would see:

* the solution cell is collapsed: JupyterLab shows its input placeholder, not its code;
* the progress bar (tqdm's ipywidgets bar, fed by the workflow's DBOS stream through a
  SIGKILL and a restart) rendered, and its value changed while the notebook ran;
* every code cell ran (Run All stops at the first error) and none shows a traceback.

Notebook 05 itself is the one run: it holds the bar, and it runs in about 15 s. A
screenshot of the bar is kept in ``tests/artifacts/`` (git-ignored). The notebook is not
saved: the file on disk keeps no outputs.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import sync_playwright

from fiblab.waiting import WaitTimeout, wait_for

from .conftest import REPO
from .test_handouts import CHROMIUM, require_chromium
from .test_jupyterlab_session import NOTEBOOKS, JupyterServer, ours

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

NOTEBOOK = "05_crash_and_recovery.ipynb"
ARTIFACTS = REPO / "tests" / "artifacts"
SCREENSHOT = ARTIFACTS / "jupyterlab_05_progress.png"
CHROMIUM_ARGS = [
    "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--no-default-browser-check",
    "--disable-dev-shm-usage",
]  # fmt: skip
RUN_TIMEOUT = 120  # seconds for Run All (05 takes about 15)
# Every value the bars' progress elements take, recorded by the page itself as the
# widget updates them (a poll from the test could miss a bar that moves fast).
RECORD_PROGRESS = """() => {
  window.fiblabProgress = [];
  const record = () => {
    const values = [...document.querySelectorAll('.jp-OutputArea .widget-hprogress .progress-bar')]
      .map(bar => bar.style.width || bar.style.height);
    const last = window.fiblabProgress[window.fiblabProgress.length - 1];
    if (values.length && JSON.stringify(values) !== JSON.stringify(last)) {
      window.fiblabProgress.push(values);
    }
  };
  new MutationObserver(record).observe(document.body,
    {subtree: true, childList: true, attributes: true, attributeFilter: ['style']});
}"""


def lab_settings(jupyter: JupyterServer) -> None:
    """This server's JupyterLab user settings (in its own folder): every cell attached to
    the page (windowing attaches only the cells in view), and no news to ask about (the
    network is closed, and its pop-up would cover the screenshot), no autosave (the
    notebook on disk keeps no outputs)."""
    settings = jupyter.home / "config" / "lab" / "user-settings" / "@jupyterlab"
    for name, values in [
        ("notebook-extension/tracker", {"windowingMode": "none"}),
        ("apputils-extension/notification", {"fetchNews": "false"}),
        ("docmanager-extension/plugin", {"autosave": False}),
    ]:
        path = settings / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def solution_cells(path: Path) -> list[int]:
    """Indexes (among all cells) of the cells tagged solution."""
    cells = nbformat.read(path, as_version=4).cells
    return [i for i, cell in enumerate(cells) if "solution" in cell.metadata.get("tags", [])]


def widths(values: list[list[str]]) -> list[float]:
    """The first bar's width in percent, for every recorded change."""
    return [float(v[0].rstrip("%")) for v in values if v and v[0].endswith("%")]


def test_run_all_in_jupyterlab_shows_a_live_bar(request: pytest.FixtureRequest) -> None:
    require_chromium(request.config)
    started = time.monotonic()
    on_disk = (NOTEBOOKS / NOTEBOOK).read_bytes()
    jupyter = JupyterServer(NOTEBOOKS)
    try:
        lab_settings(jupyter)
        with sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS + (["--no-sandbox"] if os.geteuid() == 0 else []),
            )
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(
                    f"http://127.0.0.1:{jupyter.port}/lab/tree/{NOTEBOOK}?token={jupyter.token}"
                )
                notebook = page.locator(".jp-NotebookPanel:visible .jp-Notebook")
                notebook.locator(".jp-Cell").first.wait_for(timeout=60_000)
                page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(
                    timeout=60_000
                )
                cells = notebook.locator(".jp-Cell")
                expected = len(nbformat.read(NOTEBOOKS / NOTEBOOK, as_version=4).cells)
                wait_for(
                    lambda: cells.count() == expected, 60, f"JupyterLab to show {expected} cells"
                )

                # The solution cells are collapsed: a placeholder where the code would be.
                hidden = solution_cells(NOTEBOOKS / NOTEBOOK)
                assert hidden, f"{NOTEBOOK} has no solution cell to look at"
                for index in hidden:
                    cell = cells.nth(index)
                    assert cell.locator(".jp-InputPlaceholder").is_visible(), index
                    assert not cell.locator(".jp-InputArea-editor").is_visible(), index
                placeholders = notebook.locator(".jp-InputPlaceholder:visible").count()
                assert placeholders == len(hidden)

                # Run > Run All Cells, from the menu bar.
                page.evaluate(RECORD_PROGRESS)
                page.get_by_role("menuitem", name="Run", exact=True).click()
                page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
                # A collapsed cell's prompt is not redrawn: the prompts of the others tell
                # that Run All went through (the check cell after a solution needs its names).
                prompts = notebook.locator(
                    ".jp-CodeCell:not(:has(.jp-InputPlaceholder)) .jp-InputPrompt"
                )
                code_cells = prompts.count()
                assert code_cells == notebook.locator(".jp-CodeCell").count() - len(hidden)

                def prompt_texts() -> list[str]:
                    return [t.strip() for t in prompts.all_inner_texts()]

                def finished() -> bool:
                    texts = prompt_texts()
                    return all(re.fullmatch(r"\[\d+\]:", t) for t in texts)

                with contextlib.suppress(WaitTimeout):  # an error stops Run All: said below
                    wait_for(finished, RUN_TIMEOUT, "Run All to finish")
                texts = prompt_texts()
                not_run = [i for i, t in enumerate(texts) if not re.fullmatch(r"\[\d+\]:", t)]
                tracebacks = [
                    text[:400]
                    for text in notebook.locator(".jp-OutputArea-output").all_inner_texts()
                    if "Traceback (most recent call last)" in text
                ]
                assert tracebacks == [], tracebacks
                assert not_run == [], f"code cells not run (of {code_cells}): {not_run}"
                numbers = [int(t[1:-2]) for t in texts]
                assert numbers == sorted(numbers), "Run All ran the cells out of order"

                # The live bar: rendered, and it moved while the notebook ran.
                bars = notebook.locator(".jp-OutputArea .widget-hprogress")
                assert bars.count() >= 1, "no progress widget rendered"
                seen = widths(page.evaluate("window.fiblabProgress"))
                assert len(set(seen)) >= 3, f"the bar did not move while running: {seen}"
                assert seen[-1] == 100.0, f"the bar did not reach its end: {seen}"
                assert all(b >= a for a, b in zip(seen, seen[1:], strict=False)), seen
                bars.first.scroll_into_view_if_needed()
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOT))
            finally:
                browser.close()
    except Exception:
        print(f"\n--- Jupyter server log (last lines):\n{jupyter.tail()}")
        raise
    finally:
        jupyter.stop()
    with contextlib.suppress(WaitTimeout):
        wait_for(lambda: not ours(), 15, "this session's fiblab processes to end")
    assert ours() == []
    assert (NOTEBOOKS / NOTEBOOK).read_bytes() == on_disk, "JupyterLab saved the executed notebook"
    print(f"browser test: {time.monotonic() - started:.1f} s; bar widths seen {seen}; {SCREENSHOT}")
