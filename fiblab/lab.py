"""One notebook's (or test's) workspace: scratch folder, database, client and servers.

``Lab("03_servers")`` gives the notebook its own scratch folder and system database,
starts fresh each time (so "Run All" twice gives the same results), and tracks
every server it starts so :meth:`Lab.close` — or interpreter exit — stops them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dbos import DBOS, DBOSClient, WorkflowHandle, WorkflowHandleAsync

from . import app, config, steplog
from .client import enqueue_options
from .database import connect, drop_database, prepare_database
from .processes import ServerGroup
from .spawn import ManagedProcess, ServerProcess, stop_previous_copy
from .waiting import wait_for
from .worker_thread import in_worker_thread


class Lab:
    """A named, isolated workspace; see the module docstring."""

    def __init__(
        self, name: str, root: Path | str | None = None, fresh: bool = True, sqlite: bool = False
    ) -> None:
        self.name = config.check_name(name, "lab name")
        self.scratch = config.scratch_dir(name, root)
        self.database_url = config.database_url(name, self.scratch, sqlite=sqlite)
        self.processes: list[ManagedProcess] = []
        self._client: DBOSClient | None = None
        self._dbos_in_kernel = False
        if fresh:
            self.reset()
        # Steps that run in this process (DBOS in the kernel) write their side files here.
        os.environ[config.SCRATCH_ENV] = str(self.scratch)

    # --- state ------------------------------------------------------------------------

    def reset(self) -> None:
        """Stop what an earlier run left, then empty the scratch folder and database."""
        self.close()
        pid_dir = self.scratch / "pids"
        if pid_dir.is_dir():
            for pid_file in pid_dir.glob("*.json"):
                stop_previous_copy(pid_file)
        for entry in self.scratch.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        if config.is_postgres(self.database_url):
            drop_database(self.database_url)
        prepare_database(self.database_url)  # servers then poll my_queue from their launch

    @property
    def client(self) -> DBOSClient:
        """A ``DBOSClient`` on this lab's database (created on first use)."""
        if self._client is None:
            self._client = connect(self.database_url)
        return self._client

    def reconnect(self) -> DBOSClient:
        """A new client in place of the current one, which is dropped without a goodbye
        (after a database outage its connection pool is dead, and closing it could hang)."""
        self._client = None
        return self.client

    def executions(self, workflow_id: str | None = None) -> list[dict]:
        """Step executions recorded through the side channel (see ``steplog.record_execution``)."""
        return steplog.read_executions(self.scratch, workflow_id)

    def steps_by_process(self, workflow_id: str) -> list[list[int]]:
        """The steps of ``workflow_id`` that really ran, one list per process, in order."""
        by_pid: dict[int, list[int]] = {}
        for run in self.executions(workflow_id):
            by_pid.setdefault(run["pid"], []).append(run["step"])
        return list(by_pid.values())

    def wait_steps(self, workflow_id: str, count: int, timeout: float = 30.0) -> None:
        """Block until ``count`` steps of ``workflow_id`` have really run (side channel)."""
        wait_for(
            lambda: len(self.executions(workflow_id)) >= count,
            timeout,
            f"{count} steps of workflow {workflow_id} to run",
        )

    def enqueue_steps(
        self, n: int, *, wait_steps: int = 0, timeout: float = 30.0, **options: Any
    ) -> WorkflowHandle[Any]:
        """Enqueue ``fibonacci_steps_workflow(n, **options)``; return its handle once
        ``wait_steps`` of its steps have run (e.g. to crash a server mid-workflow)."""
        handle = in_worker_thread(
            self.client.enqueue, enqueue_options("fibonacci_steps_workflow"), n, **options
        )
        self.wait_steps(handle.workflow_id, wait_steps, timeout)
        return handle

    async def enqueue_steps_async(
        self, n: int, *, wait_steps: int = 0, timeout: float = 30.0, **options: Any
    ) -> WorkflowHandleAsync[Any]:
        """:meth:`enqueue_steps` with ``await client.enqueue_async`` (a notebook cell)."""
        target = enqueue_options("fibonacci_steps_workflow")
        handle = await self.client.enqueue_async(target, n, **options)
        self.wait_steps(handle.workflow_id, wait_steps, timeout)
        return handle

    # --- servers ----------------------------------------------------------------------

    def server(self, executor_id: str, **options: Any) -> ServerProcess:
        """A server on this lab's database, not started yet."""
        server = ServerProcess(executor_id, self.database_url, self.scratch, **options)
        self.processes = [p for p in self.processes if p.name != server.name] + [server]
        return server

    def start_server(self, executor_id: str, **options: Any) -> ServerProcess:
        """Start one server and wait until it is ready."""
        server = self.server(executor_id, **options)
        server.start().wait_ready()
        return server

    def start_servers(self, executor_ids: Sequence[str], **options: Any) -> ServerGroup:
        """Start several servers in parallel and wait until every one is ready."""
        return ServerGroup([self.server(eid, **options) for eid in executor_ids]).start()

    def adopt(self, process: ManagedProcess) -> ManagedProcess:
        """Track another managed process (e.g. a health process) for :meth:`close`."""
        self.processes.append(process)
        return process

    # --- DBOS inside this process -----------------------------------------------------

    async def launch_dbos(self, executor_id: str = "kernel", **queue_options: Any) -> Any:
        """Launch DBOS in this process (a notebook kernel) on this lab's database.

        Run twice in one kernel, it shuts the earlier DBOS down first, so the new
        launch really uses this lab's (fresh) database.
        """
        if self._dbos_in_kernel or _dbos_is_launched():
            DBOS.destroy()
        self._dbos_in_kernel = True
        return await app.launch_async(self.database_url, executor_id, **queue_options)

    # --- cleanup ----------------------------------------------------------------------

    def close(self) -> None:
        """Stop every process this lab started, close the client and in-kernel DBOS."""
        ServerGroup([p for p in self.processes if p.alive]).stop()
        self.processes = []
        if self._client is not None:
            in_worker_thread(self._client.destroy)
            self._client = None
        if self._dbos_in_kernel:
            in_worker_thread(DBOS.destroy)
            self._dbos_in_kernel = False

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Lab {self.name} database={config.mask_url(self.database_url)}>"


def _dbos_is_launched() -> bool:
    from dbos import _dbos

    return getattr(_dbos, "_dbos_global_instance", None) is not None
