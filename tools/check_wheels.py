"""Does the pinned set install from wheels alone, on every Python and platform fiblab supports?

Usage::

    python tools/check_wheels.py [--latest] [--python 3.15] [--platform macos-arm64] [--jobs 6]

`make lab` is the first command of a workshop, typed on laptops nobody here has seen. This
asks the package index what it would install there, without those interpreters: for every
supported Python (``[tool.fiblab] pythons`` in pyproject.toml) and each platform below, one
``pip install --dry-run --only-binary=:all: --python-version V --platform TAG …`` of the
pins (dependencies and test extras). A cell of the table is ``ok`` when the whole set
resolves to wheels; otherwise it names the package without a wheel there, and the command
exits with status 1. ``--latest`` checks the newest release of each pinned package instead
of the pin (the drift guard, ``make test-latest``).

Platforms, and the wheel tags each accepts (what pip on such a machine accepts):

* ``linux-x86_64``, ``linux-aarch64``: glibc 2.28 or newer (Debian 10, Ubuntu 18.10,
  RHEL 8 and everything after; the PyPA's manylinux_2_28 build image): ``manylinux_2_28``
  down to ``manylinux_2_17`` (= ``manylinux2014``), the oldest that aarch64 wheels use.
  Pure-Python (``none-any``) wheels fit everywhere. musl (Alpine) is not a target.
* ``macos-arm64``, ``macos-x86_64``: macOS 11 (Big Sur) or newer. pip expands
  ``macosx_11_0_ARCH`` to every tag such a Mac accepts (11.0 and older, universal2).

pip evaluates environment markers (``sys_platform == "darwin"``, ``python_version <
"3.12"``) against the interpreter it runs in, whatever ``--platform`` says, so each resolve
runs pip with the marker environment of its target: macOS-only dependencies are checked for
macOS, and a dependency a Python no longer needs is not. The ``environment`` pip records in
its report proves it did.

Limit: ``--only-binary`` lets pip fall back to an older release of a dependency when the
newest one has no wheel for a target; a learner's pip would build that newest one from its
sdist instead. The pins themselves are exact, so this only concerns dependencies of
dependencies.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Platform:
    name: str  # linux-x86_64
    label: str  # Linux x86_64
    tags: tuple[str, ...]  # pip --platform values
    markers: dict[str, str]  # environment markers of such a machine


def _manylinux(arch: str) -> tuple[str, ...]:
    return tuple(f"manylinux_2_{glibc}_{arch}" for glibc in range(28, 16, -1)) + (
        f"manylinux2014_{arch}",
    )


def _markers(system: str, machine: str) -> dict[str, str]:
    return {
        "os_name": "posix",
        "sys_platform": system.lower(),
        "platform_system": system,
        "platform_machine": machine,
        "platform_release": "",
        "platform_version": "",
    }


PLATFORMS = (
    Platform("linux-x86_64", "Linux x86_64", _manylinux("x86_64"), _markers("Linux", "x86_64")),
    Platform("linux-aarch64", "Linux aarch64", _manylinux("aarch64"), _markers("Linux", "aarch64")),
    Platform("macos-arm64", "macOS arm64", ("macosx_11_0_arm64",), _markers("Darwin", "arm64")),
    Platform("macos-x86_64", "macOS x86_64", ("macosx_11_0_x86_64",), _markers("Darwin", "x86_64")),
)

# Runs pip for one target: pip's vendored packaging looks markers up in default_environment(),
# replaced (before pip's own modules are imported) by the target's marker environment. And
# to keep each resolve to a second or two of CPU, the index's files whose platform tag the
# target cannot use (and sdists, which --only-binary refuses anyway) are dropped before pip
# turns them into links: pip then decides on the same wheels, among far fewer files. The
# index's project pages are fetched once per run and shared by all resolves ("pages", a
# folder that lives as long as the run), not fetched again by each of them.
PIP_FOR_TARGET = """\
import json, sys
import pip._vendor.packaging.markers as markers
target = json.loads(sys.argv[1])
host = markers.default_environment
markers.default_environment = lambda: {**host(), **target["markers"]}
from pip._internal.models.link import Link
from pip._internal.utils.compatibility_tags import get_supported
usable = {t.platform for t in get_supported(target["version"], target["platforms"], "cp")}
from_json = Link.from_json.__func__
def wheels_for_target(cls, file, page_url):
    name = file.get("filename", "")
    if not name.endswith(".whl") or name.count("-") < 4:
        return None
    if usable.isdisjoint(name[:-4].rsplit("-", 1)[1].split(".")):
        return None
    return from_json(cls, file, page_url)
Link.from_json = classmethod(wheels_for_target)
import hashlib, os
from pip._internal.index import collector
fetch = collector.LinkCollector.fetch_response
def shared_fetch(self, location, *args, **kwargs):
    path = os.path.join(target["pages"], hashlib.sha256(location.url.encode()).hexdigest())
    try:
        with open(path, "rb") as f:
            content_type, url, content = f.read().split(b"\\n", 2)
        return collector.IndexContent(content, content_type.decode(), None, url.decode())
    except FileNotFoundError:
        pass
    page = fetch(self, location, *args, **kwargs)
    if page is not None and "\\n" not in page.content_type + page.url:
        with open(f"{path}.{os.getpid()}", "wb") as f:
            f.write(b"\\n".join([page.content_type.encode(), page.url.encode(), page.content]))
        os.replace(f"{path}.{os.getpid()}", path)
    return page
collector.LinkCollector.fetch_response = shared_fetch
from pip._internal.cli.main import main
sys.exit(main(sys.argv[2:]))
"""


def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def pins(data: dict | None = None) -> list[str]:
    """The pinned set `make lab` installs: the dependencies and the test extras."""
    data = data or project()
    return list(data["project"]["dependencies"]) + list(
        data["project"]["optional-dependencies"]["test"]
    )


def pythons(data: dict | None = None) -> list[str]:
    """The supported Pythons, oldest first (pyproject.toml, ``[tool.fiblab] pythons``)."""
    return list((data or project())["tool"]["fiblab"]["pythons"])


def marker_environment(python: str, platform: Platform) -> dict[str, str]:
    full = f"{python}.0"
    return {
        **platform.markers,
        "python_version": python,
        "python_full_version": full,
        "implementation_name": "cpython",
        "implementation_version": full,
        "platform_python_implementation": "CPython",
    }


def pip_command(
    python: str, platform: Platform, requirements: list[str], report: Path, pages: Path
) -> list:
    args = ["install", "--dry-run", "--ignore-installed", "--quiet", "--no-input"]
    args += ["--only-binary=:all:", "--implementation", "cp", "--python-version", python]
    for tag in platform.tags:
        args += ["--platform", tag]
    args += ["--report", str(report), *requirements]
    target = {
        "markers": marker_environment(python, platform),
        "version": python.replace(".", ""),
        "platforms": list(platform.tags),
        "pages": str(pages),
    }
    return [sys.executable, "-c", PIP_FOR_TARGET, json.dumps(target), *args]


NO_MATCH = re.compile(r"No matching distribution found for (\S+)")
NO_MATCH_IN_CONFLICT = re.compile(
    r"no matching distributions available for your environment:\n((?:[ \t]+\S+\n?)+)"
)
ERROR = re.compile(r"^ERROR: (.*)$", re.MULTILINE)


def without_wheel(pip_output: str) -> list[str]:
    """The packages pip found no wheel for, from its error output (empty if none named)."""
    found = NO_MATCH.findall(pip_output)
    for block in NO_MATCH_IN_CONFLICT.findall(pip_output):
        found += block.split()
    return list(dict.fromkeys(found))


@dataclass
class Result:
    python: str
    platform: Platform
    ok: bool
    missing: list[str]  # packages without a wheel (empty when ok, or when pip failed otherwise)
    detail: str  # pip's error when it failed for another reason; the wheel count when ok
    seconds: float

    @property
    def cell(self) -> str:
        if self.ok:
            return "ok"
        return "no wheel: " + ", ".join(self.missing) if self.missing else "pip failed"


def check(python: str, platform: Platform, requirements: list[str], pages: Path) -> Result:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fiblab-wheels-") as tmp:
        report = Path(tmp) / "report.json"
        proc = subprocess.run(
            pip_command(python, platform, requirements, report, pages),
            capture_output=True,
            text=True,
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
            timeout=300,
        )
        seconds = time.monotonic() - started
        output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            errors = ERROR.findall(output)
            detail = errors[-1] if errors else (output.strip().splitlines() or [""])[-1]
            return Result(python, platform, False, without_wheel(output), str(detail), seconds)
        data = json.loads(report.read_text())
    wrong_markers = {
        key: data["environment"].get(key)
        for key, value in marker_environment(python, platform).items()
        if data["environment"].get(key) != value
    }
    if wrong_markers:  # a pip whose markers could not be pointed at the target
        detail = f"pip evaluated markers for another machine: {wrong_markers}"
        return Result(python, platform, False, [], detail, seconds)
    files = [item["download_info"]["url"].rsplit("/", 1)[-1] for item in data["install"]]
    not_wheels = [name for name in files if not name.endswith(".whl")]
    if not_wheels:
        return Result(python, platform, False, not_wheels, "not a wheel", seconds)
    compiled = sum(not name.endswith("-none-any.whl") for name in files)
    return Result(python, platform, True, [], f"{len(files)} wheels, {compiled} compiled", seconds)


def newest_releases(requirements: list[str], jobs: int) -> list[str]:
    """``name==newest`` for each ``name==pin``: the newest release on the index, of any kind."""

    def newest(requirement: str) -> str:
        name = requirement.split("==")[0]
        out = subprocess.run(
            [sys.executable, "-m", "pip", "index", "versions", name],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
            timeout=120,
        ).stdout
        match = re.search(rf"^{re.escape(name)} \(([^)]+)\)", out, re.MULTILINE | re.IGNORECASE)
        if not match:
            raise SystemExit(f"check_wheels: no release of {name} on the index:\n{out}")
        return f"{name}=={match.group(1)}"

    with ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(newest, requirements))


def table(results: list[Result], python_list: list[str], platforms: list[Platform]) -> str:
    cells = {(r.python, r.platform.name): r.cell for r in results}
    header = ["Python", *(p.label for p in platforms)]
    rows = [[f"{v}", *(cells[(v, p.name)] for p in platforms)] for v in python_list]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    head = "  ".join(cell.ljust(w) for cell, w in zip(header, widths, strict=True))
    return "\n".join([head.rstrip(), *(line.rstrip() for line in lines)])


def failures(results: list[Result]) -> list[str]:
    lines = []
    for r in results:
        if r.ok:
            continue
        where = f"Python {r.python} on {r.platform.label} ({', '.join(r.platform.tags[:2])}…)"
        if r.missing:
            lines.append(f"FAIL: {where}: no wheel for {', '.join(r.missing)}")
        else:
            lines.append(f"FAIL: {where}: {r.detail}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--latest",
        action="store_true",
        help="check the newest release of each pinned package instead of the pin",
    )
    parser.add_argument(
        "--python",
        action="append",
        metavar="X.Y",
        help="check only this Python (repeatable; default: [tool.fiblab] pythons)",
    )
    parser.add_argument(
        "--platform",
        action="append",
        choices=[p.name for p in PLATFORMS],
        help="check only this platform (repeatable; default: all four)",
    )
    parser.add_argument(
        "--requirement",
        action="append",
        metavar="SPEC",
        help="check these requirements instead of pyproject.toml's pins (repeatable)",
    )
    parser.add_argument(
        "--jobs", type=int, default=8, help="resolves at a time (default 8; they wait on the index)"
    )
    args = parser.parse_args(argv)

    data = project()
    python_list = args.python or pythons(data)
    platforms = [p for p in PLATFORMS if not args.platform or p.name in args.platform]
    requirements = args.requirement or pins(data)
    started = time.monotonic()
    if args.latest:
        requirements = newest_releases(requirements, args.jobs)
    what = "the newest releases" if args.latest else "the pins"
    print(f"check_wheels: {what}: {' '.join(requirements)}", flush=True)

    jobs = [(v, p) for v in python_list for p in platforms]
    with tempfile.TemporaryDirectory(prefix="fiblab-pages-") as pages:
        # The first resolve alone fetches the pages nearly all others need.
        results = [check(*jobs[0], requirements, Path(pages))]
        with ThreadPoolExecutor(args.jobs) as pool:
            results += pool.map(lambda job: check(*job, requirements, Path(pages)), jobs[1:])
    elapsed = time.monotonic() - started
    print(table(results, python_list, platforms))
    failed = failures(results)
    for line in failed:
        print(line)
    verdict = f"{len(failed)} of {len(results)} failed" if failed else f"all {len(results)} ok"
    print(f"check_wheels: wheels only, {verdict} ({elapsed:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
