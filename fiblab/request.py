"""Send Fibonacci jobs to running fiblab servers and print each result as it completes.

    python -m fiblab.request 30 32 30 32 32 --database-url sqlite:///$PWD/scratch/demo.sqlite

The third terminal of the original experiment (its ``client.py``): a plain ``DBOSClient``
that knows only the database URL, the queue ``my_queue`` and the workflow name
``fibonacci_workflow`` — none of the server's code. Every n is checked before anything is
enqueued; results are printed first finished first (with the executor that ran each one),
then a summary.

Exit codes: 0 every workflow succeeded, 1 some workflow failed, 2 bad arguments (nothing
enqueued), 3 timed out (what was enqueued stays queued for a server to take).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence

from dbos import DBOSClient, WorkflowHandleAsync

from . import config
from .cli import EXIT_BAD_ARGUMENTS, EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT
from .client import enqueue_options, results_as_completed_async
from .fib import MAX_RECURSIVE_N, validate_n

#: How often each result is looked for, seconds.
RESULT_POLLING_SEC = 0.05


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fiblab.request",
        description="Enqueue fibonacci_workflow(n) for each N on the queue fiblab servers serve, "
        "and print each result as it completes.",
    )
    parser.add_argument(
        "ns", metavar="N", type=int, nargs="+", help=f"compute fib(N), 0 <= N <= {MAX_RECURSIVE_N}"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get(config.DATABASE_URL_ENV),
        help=f"system database URL the servers use (default: ${config.DATABASE_URL_ENV})",
    )
    parser.add_argument(
        "--queue", default=config.QUEUE_NAME, help="queue to enqueue on (default: %(default)s)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds to wait for all results before giving up (default: %(default)s)",
    )
    return parser


async def run(database_url: str, ns: Sequence[int], queue: str, timeout: float) -> int:
    """Enqueue one workflow per n, print results as they complete; the exit code."""
    # A DBOSClient on a brand-new database fails with "no such table" until DBOS's tables
    # exist: create them first (a no-op once a server has started).
    from .database import migrate

    migrate(database_url)
    client = DBOSClient(system_database_url=database_url)
    # fiblab's servers all run fiblab's application version; naming it means they take
    # the work even if some other version of the app has touched this database.
    options = enqueue_options(queue=queue)
    try:
        print(f"client pid {os.getpid()}: requesting fib(n) for n in {list(ns)}", flush=True)
        handles = []
        for n in ns:
            handle = await client.enqueue_async(options, n)
            print(f"enqueued workflow {handle.workflow_id}: fibonacci_workflow({n})", flush=True)
            handles.append(handle)
        return await print_as_completed(handles, timeout, time.monotonic())
    finally:
        client.destroy()


async def print_as_completed(
    handles: Sequence[WorkflowHandleAsync], timeout: float, started: float
) -> int:
    """Print each workflow's result as it completes, then the summary; the exit code."""
    by_id = {handle.workflow_id: handle for handle in handles}
    results, executors, failed = [], Counter(), 0
    try:
        async for workflow_id, result in results_as_completed_async(
            handles, timeout, RESULT_POLLING_SEC
        ):
            handle = by_id.pop(workflow_id)
            executor = (await handle.get_status()).executor_id or "?"
            executors[executor] += 1
            if isinstance(result, Exception):
                failed += 1
                print(f"FAILED: workflow {workflow_id} on {executor}: {result}", flush=True)
                continue
            n, value, seconds = result
            results.append((n, value, seconds))
            print(
                f"done: fib({n}) = {value} (took {seconds:.3f} s) "
                f"[workflow {workflow_id}, executor {executor}]",
                flush=True,
            )
    except TimeoutError:  # asyncio's timeouts raise the builtin one (Python 3.11 on)
        print(
            f"error: {len(by_id)} workflows unfinished after {timeout:g} s (still queued: "
            f"{', '.join(by_id)}). Is a fiblab server running on this database and queue?",
            file=sys.stderr,
        )
        return EXIT_TIMEOUT

    print("\n=== Summary ===")
    for n, value, seconds in results:
        print(f"fib({n}) = {value} (duration {seconds:.3f} s)")
    by_executor = ", ".join(f"{name}: {count}" for name, count in sorted(executors.items()))
    print(f"workflows per executor: {by_executor}")
    print(f"total computation time: {sum(seconds for *_, seconds in results):.3f} s")
    print(f"wall time: {time.monotonic() - started:.3f} s")
    return EXIT_FAILED if failed else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    problems = []
    if not args.database_url:
        problems.append(f"no database: pass --database-url or set {config.DATABASE_URL_ENV}")
    for n in args.ns:
        try:
            validate_n(n)
        except ValueError as error:
            problems.append(str(error))
    try:
        config.check_name(args.queue, "queue name")
    except ValueError as error:
        problems.append(str(error))
    if not args.timeout > 0:
        problems.append(f"--timeout must be > 0, got {args.timeout:g}")
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        print("nothing was enqueued", file=sys.stderr)
        return EXIT_BAD_ARGUMENTS
    return asyncio.run(run(args.database_url, args.ns, args.queue, args.timeout))


if __name__ == "__main__":
    sys.exit(main())
