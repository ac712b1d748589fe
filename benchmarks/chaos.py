"""The long chaos run: ``python benchmarks/chaos.py [--workflows 1000] [--kills 60] [--seed S]``.

Prints the seed, every kill, and the lost / duplicated / wrong counts (goal: 0, 0, 0).
Add ``FIBLAB_DATABASE_URL=postgresql://…`` to run it on PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fiblab.chaos import run_chaos  # noqa: E402
from fiblab.lab import Lab  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description="fiblab's long chaos run")
    parser.add_argument("--workflows", type=int, default=1000)
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--kills", type=int, default=60, help="how many SIGKILLs, 0.5-1 s apart")
    parser.add_argument("--seed", type=int, default=None, help="replay a kill schedule")
    args = parser.parse_args()
    os.chdir(Path(__file__).resolve().parent)
    with Lab.fresh("chaos-benchmark") as lab:
        report = run_chaos(
            lab, args.workflows, args.servers, args.kills, seed=args.seed, timeout=900
        )
    print(report.summary())
    print("kills:", report.kills)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
