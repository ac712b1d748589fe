"""The long chaos run: ``python benchmarks/chaos.py [--workflows 1000] [--kills 60] [--seed S]``.

Prints the seed, every kill and outage with its time, and the lost / duplicated / wrong
counts (goal: 0, 0, 0). Add ``FIBLAB_DATABASE_URL=postgresql://…`` to run it on
PostgreSQL. Outages (``--outages K --outage-seconds S``) halt and resume the database, so
they need a PostgreSQL cluster this run may halt: the one ``fiblab.localpg run`` starts::

    python -m fiblab.localpg run -- python benchmarks/chaos.py --outages 2 --outage-seconds 12
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fiblab import config  # noqa: E402
from fiblab.chaos import run_chaos  # noqa: E402
from fiblab.lab import Lab  # noqa: E402
from fiblab.localpg import STATE_ENV, Frozen, LocalPostgres  # noqa: E402

#: Exit code when the options cannot be honoured on this database.
EXIT_USAGE = 2


def main() -> int:
    parser = argparse.ArgumentParser(description="fiblab's long chaos run")
    parser.add_argument("--workflows", type=int, default=1000)
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--kills", type=int, default=60, help="how many SIGKILLs, 0.5-1 s apart")
    parser.add_argument(
        "--outages",
        type=int,
        default=0,
        help="how many database outages among them, each with one server SIGKILLed and "
        "restarted while the database is down (PostgreSQL via fiblab.localpg run only)",
    )
    parser.add_argument("--outage-seconds", type=float, default=4.0, help="each outage's length")
    parser.add_argument(
        "--outage-kind",
        choices=["stop", "freeze"],
        default="stop",
        help="stop: the cluster is stopped, connections are refused (a crash, a restart); "
        "freeze: its processes are SIGSTOPped, connections hang (a hung database, a "
        "network partition) (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=None, help="replay a kill and outage schedule")
    args = parser.parse_args()
    database = None
    if args.outages:
        if not config.is_postgres(os.environ.get(config.DATABASE_URL_ENV, "")):
            print(
                "--outages halts and resumes a PostgreSQL cluster; this run is on SQLite. Run:\n"
                "  python -m fiblab.localpg run -- python benchmarks/chaos.py --outages …",
                file=sys.stderr,
            )
            return EXIT_USAGE
        cluster = LocalPostgres.from_env()
        if cluster is None:
            print(
                f"--outages halts the cluster, so it must be one fiblab.localpg run started "
                f"for this run ({STATE_ENV} is not set), not a shared server. Run:\n"
                "  python -m fiblab.localpg run -- python benchmarks/chaos.py --outages …",
                file=sys.stderr,
            )
            return EXIT_USAGE
        database = Frozen(cluster) if args.outage_kind == "freeze" else cluster
    os.chdir(Path(__file__).resolve().parent)
    with Lab.fresh("chaos-benchmark") as lab:
        report = run_chaos(
            lab,
            args.workflows,
            args.servers,
            args.kills,
            seed=args.seed,
            timeout=900,
            outages=args.outages,
            outage_seconds=args.outage_seconds,
            database=database,
        )
    print(report.summary())
    started = datetime.fromtimestamp(report.started_at).isoformat(sep=" ", timespec="milliseconds")
    print("times are seconds since", started)
    print("kills (seconds since start, server):", report.kills)
    if report.outages:
        print(f"outages ({args.outage_kind}; halted at, resumed at, server killed meanwhile):")
        print(" ", report.outages)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
