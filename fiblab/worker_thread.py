"""Call DBOS's synchronous API from a notebook cell: :func:`in_worker_thread`.

A Jupyter cell runs on a thread with a running asyncio event loop, and DBOS warns
when a synchronous database call runs on such a thread. :func:`in_worker_thread`
runs the call on a worker thread instead and *waits* for it: the calling thread (and
its event loop) is blocked meanwhile, exactly as if the call ran there, but DBOS sees
a thread without a loop. Without a running loop the call simply runs where it is.

The worker threads come from one pool shared by every call (created on first use),
so a helper that polls in a loop (``client.results_as_completed``) does not start a
thread per poll. An interrupted wait (the kernel's interrupt button) returns at once;
the call itself still finishes on its worker thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: Calls that may run at the same time: one per thread that runs an event loop, in practice,
#: plus calls left finishing after an interrupted wait. Threads start only when needed.
MAX_WORKERS = 8

_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def in_worker_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``function(*args, **kwargs)``: on a shared worker thread if this thread runs an
    event loop (waiting for it, so the loop is blocked meanwhile), else right here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    return _shared_pool().submit(function, *args, **kwargs).result()


def _shared_pool() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(
                MAX_WORKERS, thread_name_prefix="fiblab-sync"
            )
        return _pool


def _forget_pool_in_child() -> None:
    """A forked child has none of the parent's threads: it makes a pool of its own."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_in_child)
