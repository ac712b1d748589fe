"""The notebook side: what a notebook or a test does with fiblab's processes.

The handles themselves (:class:`fiblab.spawn.ServerProcess`,
:class:`fiblab.spawn.HealthProcess`) live in :mod:`fiblab.spawn`, which the supervisor
program uses too. Here: several servers started and stopped together
(:class:`ServerGroup`), the port of a server's own health endpoint, the handle of notebook
06's blind health check (:class:`BlindHealthProcess`), and a look for stray fiblab
processes. The programs never import this module.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import psutil

from . import config
from .protocol import (
    BLIND_HEALTH_READY_PREFIX,
    SERVER_READY_PREFIX,
    WORKER_HEALTH_PREFIX,
    port_in_log,
)
from .spawn import READY_TIMEOUT_SEC, STOP_TIMEOUT_SEC, ManagedProcess, stop_together


def worker_health_port(server: ManagedProcess) -> int:
    """The port of the endpoint a server started with ``--health-port`` serves itself."""
    port = port_in_log(server.logs(), WORKER_HEALTH_PREFIX)
    if port is None:
        raise RuntimeError(f"{server.name} serves no health endpoint (start it with --health-port)")
    return port


class ServerGroup:
    """Several servers started, waited on and stopped together."""

    def __init__(self, servers: Sequence[ManagedProcess]) -> None:
        self.servers = list(servers)

    def start(self, timeout: float = READY_TIMEOUT_SEC) -> ServerGroup:
        """Start every server at once, then wait until all are ready."""
        for server in self.servers:
            server.start()
        for server in self.servers:
            server.wait_ready(timeout)
        return self

    def stop(self) -> None:
        """Graceful stop of every server, in parallel (signal all, then wait)."""
        stop_together(self.servers, STOP_TIMEOUT_SEC)

    def __iter__(self) -> Iterator[ManagedProcess]:
        return iter(self.servers)

    def __getitem__(self, index: int) -> ManagedProcess:
        return self.servers[index]

    def __len__(self) -> int:
        return len(self.servers)

    def __enter__(self) -> ServerGroup:
        if any(server.process is None for server in self.servers):
            self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class BlindHealthProcess(ManagedProcess):
    """The handle of ``python -m fiblab.variants.blind_health`` (the original
    ``server2.py``'s shape; with ``--parent-loop``, ``server3.py``'s). Ready once its
    worker is."""

    def __init__(self, name: str, database_url: str, scratch: Path, *args: str) -> None:
        super().__init__(
            name,
            "fiblab.variants.blind_health",
            ["--executor-id", f"{name}-worker", *args],
            scratch,
            ready_marker=SERVER_READY_PREFIX,
            env={config.DATABASE_URL_ENV: database_url},
        )

    def port_and_worker(self) -> tuple[int, int]:
        """The health port and the worker's pid that the started program printed."""
        found = [
            port_in_log(self.logs(), BLIND_HEALTH_READY_PREFIX, key)
            for key in ("port", "worker_pid")
        ]
        if None in found:
            raise RuntimeError(f"{self.name} printed no ready line:\n{self.tail()}")
        return found[0], found[1]  # type: ignore[return-value]


def fiblab_processes(scratch_root: Path) -> list[psutil.Process]:
    """Running ``python -m fiblab.…`` processes whose scratch folder is under ``scratch_root``.

    For checks ("no stray process left"); it only reads, it never ends anything.
    """
    root = str(Path(scratch_root).resolve())
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            cmdline = proc.info["cmdline"] or []
            if proc.info["status"] == psutil.STATUS_ZOMBIE or "-m" not in cmdline:
                continue
            module = (
                cmdline[cmdline.index("-m") + 1] if cmdline.index("-m") + 1 < len(cmdline) else ""
            )
            if not module.startswith("fiblab."):
                continue
            scratch = proc.environ().get(config.SCRATCH_ENV, "")
            if scratch == root or scratch.startswith(root + os.sep):
                found.append(proc)
        except (psutil.Error, ValueError):
            continue
    return found
