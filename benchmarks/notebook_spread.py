"""Run one notebook many times and show the spread of the values its timing checks use.

    .venv/bin/python benchmarks/notebook_spread.py --notebook 09 --runs 10
    .venv/bin/python benchmarks/notebook_spread.py --notebook 06 --runs 10 --hog
    .venv/bin/python benchmarks/notebook_spread.py --notebook 02 --runs 3 --value 'r=a/b'
    .venv/bin/python benchmarks/notebook_spread.py --notebook 01 --runs 1 --from-source

Each run executes ``notebooks/NN_*.ipynb`` with nbclient in a fresh kernel (cwd
``notebooks/``, ``FIBLAB_DATABASE_URL`` removed, ``FIBLAB_SCRATCH_ROOT`` pointing at a
folder of its own), then runs one extra cell in the same kernel that prints the named
values as JSON. Values are Python expressions over the notebook's variables; a value the
notebook never reached is left out. After the last run: min / median / max per value,
the failure count and each run's time.

``--hog`` keeps every core busy while the notebook runs: one spinning process per core,
started before the first run and ended after the last. Each hog also ends by itself
after ``--hog-seconds`` or as soon as this tool is gone.

A margin for a check is then chosen from this spread (benchmarks/README.md, "Notebook
timing checks"). Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from fiblab.cpu_hog import start_hog, stop_hog

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
MARK = "NOTEBOOK_SPREAD_VALUES="

#: What each notebook's timing checks compare (name = expression in the notebook's namespace).
DEFAULT_VALUES = {
    "01": {
        "growth 20->28": "durations[ns.index(28)] / durations[ns.index(20)]",
        "growth per +2 (fit)": "growth",
        "workflow/call": "per_workflow / per_call",
    },
    "02": {
        "serial s": "serial_wall",
        "parallel s": "parallel_wall",
        "parallel/serial": "parallel_wall / serial_wall",
        "shared/alone (each)": "statistics.mean(shared_seconds) / statistics.mean(alone_seconds)",
        "shared wall/one job": "shared_wall / statistics.mean(alone_seconds)",
        "shared wall/sum alone": "shared_wall / sum(alone_seconds)",
        "shared span/one job": "shared_span / one_job",
        "CPUs used (3 at once)": "cpus_used",
        "handle 1.0 s": "latency['fast queue,\\ndefault handle']",
        "DBOS/fiblab latency": "latency['DBOS defaults'] / latency['fiblab defaults']",
        "fiblab latency s": "latency['fiblab defaults']",
        "two/serial": "two_wall / serial_wall",
    },
    "04": {
        "speed-up busy/wall": "busy / wall",
        "wall s": "wall",
        "busy s": "busy",
        "both at once": "timeline.max_concurrency(timeline.workflow_spans(step_rows))",
        "median gap ms": "1000 * median(gaps)",
        "gaps/idle": "sum(gaps) / idle",
        "first step - timeout clock s": "first_step_at - clock_started",
    },
    "05": {
        "recovery s": "recovery_seconds",
        "pause/expected min": "min(p / (0.05 * 2**i) for i, p in enumerate(gave_up_pauses))",
        "restarts": "restarts",
        "recovery_attempts": "looping_status.recovery_attempts",
        "recovery_attempts after resume": "fixed_status.recovery_attempts",
    },
    "06": {
        "inside/separate (busy)": "busy_inside / busy_separate",
        "busy/idle inside": "busy_inside / idle_inside",
        "busy inside ms": "busy_inside",
        "busy separate ms": "busy_separate",
        "idle inside ms": "idle_inside",
        "probes during step": "len(ms(busy, 'separate process', step))",
    },
    "08": {
        "async wall / sum of waits": "async_wall / sum(seconds for _n, seconds in jobs)",
        "async wall s": "async_wall",
    },
    "09": {
        "1 server x": "servers_x[1]",
        "2 servers x": "servers_x[2]",
        "4 servers x": "servers_x[4]",
        "pool 2 x": "pool_x[2]",
        "pool 4 x": "pool_x[4]",
        "srv1/srv2": "on_sqlite[1] / on_sqlite[2]",
        "latency 0.02": "latency[0.02]",
        "latency 0.1": "latency[0.1]",
        "latency 1.0": "latency[1.0]",
        "idle cpu 0.02": "idle_cpu[0.02]",
        "idle cpu 0.1": "idle_cpu[0.1]",
        "idle cpu 1.0": "idle_cpu[1.0]",
        "share 1": "pool[1] / on_sqlite[1]",
        "share 2": "pool[2] / on_sqlite[2]",
        "share 4": "pool[4] / on_sqlite[4]",
        "slowed idle cpu (exercise)": "slowed_cpu",
        "idle cpu 0.02 / slowed": "idle_cpu[0.02] / slowed_cpu",
        "latency 0.3": "latency[0.3]",
        "idle cpu 0.3": "idle_cpu[0.3]",
        "latency 1.0/0.1": "latency[1.0] / latency[0.1]",
    },
}

READ_BACK = """
import json as _json
_values = {}
for _name, _expression in %r.items():
    try:
        _values[_name] = float(eval(_expression))
    except Exception:
        pass
print(%r + _json.dumps(_values))
"""


def find_notebook(number: str, from_source: bool) -> Path:
    if Path(number).is_file():  # a path: e.g. an older version from `git show`
        return Path(number).resolve()
    folder, suffix = (NOTEBOOKS / "src", "py") if from_source else (NOTEBOOKS, "ipynb")
    (path,) = folder.glob(f"{int(number):02d}_*.{suffix}")
    return path


def read_notebook(path: Path) -> nbformat.NotebookNode:
    if path.suffix == ".ipynb":
        return nbformat.read(path, as_version=4)
    sys.path.insert(0, str(ROOT / "tools"))
    from build_notebooks import parse  # the same parser `make notebooks` uses

    return parse(path.read_text())


def describe(error: CellExecutionError) -> str:
    """The failing line (the traceback's last arrow) and the error, without colours."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in str(error).splitlines()]
    arrows = [line.split("---->", 1)[1].strip() for line in lines if "---->" in line]
    last = [line.strip() for line in lines if line.strip()][-1:] or [""]
    return " | ".join(arrows[-1:] + last)[:300]


def run_once(path: Path, values: dict[str, str], timeout: int) -> dict:
    """Execute the notebook once; return its time, failure (or None) and values."""
    nb = read_notebook(path)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    failed, read = None, {}
    started = time.perf_counter()
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as error:
                failed = {"cell": index, "error": describe(error)}
                break
        seconds = time.perf_counter() - started
        extra = nbformat.v4.new_code_cell(READ_BACK % (values, MARK))
        nb.cells.append(extra)
        client.execute_cell(extra, len(nb.cells) - 1)
        for output in extra.outputs:
            for line in output.get("text", "").splitlines():
                if line.startswith(MARK):
                    read = json.loads(line[len(MARK) :])
        if failed:  # the notebook's last cell stops its servers and DBOS (if it got that far)
            with contextlib.suppress(CellExecutionError):  # else the kernel's end stops them
                client.execute_cell(nb.cells[-2], len(nb.cells) - 2)
    return {"seconds": seconds, "failed": failed, "values": read}


def spread(runs: list[dict]) -> list[str]:
    names = list(dict.fromkeys(name for run in runs for name in run["values"]))
    lines = [f"{'value':26s} {'min':>9s} {'median':>9s} {'max':>9s}  runs"]
    for name in names:
        got = [run["values"][name] for run in runs if name in run["values"]]
        lines.append(
            f"{name:26s} {min(got):9.3f} {statistics.median(got):9.3f} {max(got):9.3f}  {len(got)}"
        )
    times = [run["seconds"] for run in runs]
    lines.append(
        f"{'notebook seconds':26s} {min(times):9.1f} {statistics.median(times):9.1f} "
        f"{max(times):9.1f}  {len(times)}"
    )
    failures = [run for run in runs if run["failed"]]
    lines.append(f"failures: {len(failures)} of {len(runs)}")
    lines += [
        f"  run {run['run']}: cell {run['failed']['cell']}: {run['failed']['error']}"
        for run in failures
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--notebook", required=True, help="its number, e.g. 09, or a .ipynb/.py file"
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--from-source",
        action="store_true",
        help="run notebooks/src/NN_*.py (not yet built) instead of the .ipynb",
    )
    parser.add_argument("--hog", action="store_true", help="keep every core busy meanwhile")
    parser.add_argument(
        "--hog-seconds",
        type=float,
        default=3600,
        help="the hog ends by itself after this long (default 3600)",
    )
    parser.add_argument(
        "--value",
        action="append",
        default=[],
        metavar="NAME=EXPR",
        help="a value to read back (default: the notebook's known ones)",
    )
    parser.add_argument("--timeout", type=int, default=600, help="per cell, seconds")
    parser.add_argument("--jsonl", type=Path, help="append each run as one JSON line here")
    args = parser.parse_args(argv)

    path = find_notebook(args.notebook, args.from_source)
    number = path.name[:2]
    values = dict(v.split("=", 1) for v in args.value) or DEFAULT_VALUES.get(number, {})
    os.environ.pop("FIBLAB_DATABASE_URL", None)
    scratch = tempfile.TemporaryDirectory(prefix="fiblab-spread-")
    os.environ["FIBLAB_SCRATCH_ROOT"] = scratch.name
    print(
        f"{path.name}, {args.runs} runs{' with a CPU hog' if args.hog else ''}; "
        f"load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` ends the hog
    hogs = start_hog(args.hog_seconds) if args.hog else []
    runs = []
    try:
        for run in range(1, args.runs + 1):
            result = {
                "run": run,
                "notebook": path.name,
                "hog": args.hog,
                "load": os.getloadavg()[0],
                **run_once(path, values, args.timeout),
            }
            runs.append(result)
            status = "ok" if not result["failed"] else f"FAILED at cell {result['failed']['cell']}"
            shown = ", ".join(f"{k} {v:.3g}" for k, v in result["values"].items())
            print(f"run {run}: {result['seconds']:.1f} s, {status}; {shown}", flush=True)
            if args.jsonl:
                with args.jsonl.open("a") as out:
                    out.write(json.dumps(result) + "\n")
    finally:
        stop_hog(hogs)
        scratch.cleanup()
    print(f"load after: {os.getloadavg()[0]:.2f}")
    print("\n".join(spread(runs)))
    return 1 if any(run["failed"] for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
