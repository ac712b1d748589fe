"""What this machine can do: usable cores, a job size for a target time, the pool baseline.

Speed figures in the notebooks and benchmarks are ratios against these, measured on the
same machine in the same run. No DBOS here.
"""

from __future__ import annotations

import concurrent.futures
import math
import os
import time
from collections.abc import Sequence

from .fib import MAX_RECURSIVE_N, fib_recursive

#: The golden ratio: fib_recursive(n + 1) makes about this many times the calls of fib(n).
PHI = (1 + 5**0.5) / 2
#: The n timed to size a job; fast everywhere, long enough to measure.
BASE_N = 25


def usable_cores() -> int:
    """Logical CPUs this process may run on (affinity and containers included, where known)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def n_for_seconds(seconds: float, trials: int = 3) -> int:
    """The n whose ``fib_recursive(n)`` takes about ``seconds`` here: the fastest of
    ``trials`` timings of fib(BASE_N), scaled by φ per step of n (at most MAX_RECURSIVE_N)."""
    base = math.inf
    for _ in range(trials):
        started = time.perf_counter()
        fib_recursive(BASE_N)
        base = min(base, time.perf_counter() - started)
    return min(MAX_RECURSIVE_N, max(0, BASE_N + round(math.log(seconds / base, PHI))))


def pool_seconds(ns: Sequence[int], workers: int) -> float:
    """Seconds a ``ProcessPoolExecutor(workers)`` takes for ``fib_recursive`` of every n:
    the practical limit of this machine for the same jobs, with no database and no queue.
    The workers are started before the timer."""
    with concurrent.futures.ProcessPoolExecutor(workers) as pool:
        list(pool.map(fib_recursive, [1] * workers))
        started = time.perf_counter()
        list(pool.map(fib_recursive, ns))
        return time.perf_counter() - started
