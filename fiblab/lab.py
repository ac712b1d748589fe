"""One notebook's (or test's) workspace: scratch folder, database, client and servers.

``Lab("03_servers")`` names the notebook's own scratch folder and system database and
tracks every server it starts, so :meth:`Lab.close` — or interpreter exit — stops them.
Creating a Lab changes nothing: ``Lab.fresh("03_servers")`` is the one that deletes what an
earlier run left (so "Run All" twice gives the same results).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from dbos import DBOS, DBOSClient, WorkflowHandle, WorkflowHandleAsync

from . import app, config, steplog
from .client import enqueue_options
from .database import connect, drop_database, prepare_database
from .processes import ServerGroup
from .spawn import ManagedProcess, ServerProcess, stop_previous_copy
from .waiting import wait_for, wait_for_async
from .worker_thread import in_worker_thread

#: How long closing a client may take, seconds. After a database outage its pool's
#: connections are dead and closing them can hang: past this, it is left to finish alone.
CLIENT_CLOSE_TIMEOUT_SEC = 5.0

# The Lab whose DBOS runs in this process (see Lab.launch_dbos); one per process.
_dbos_owner: Lab | None = None


class Lab:
    """A named, isolated workspace; see the module docstring."""

    def __init__(
        self,
        name: str,
        root: Path | str | None = None,
        sqlite: bool = False,
        postgres: str | None = None,
    ) -> None:
        """Name the workspace; nothing is deleted, started or connected yet. Its database
        is on the PostgreSQL server ``postgres`` names, else ``FIBLAB_DATABASE_URL``'s,
        else a SQLite file (always with ``sqlite``)."""
        self.name = config.check_name(name, "lab name")
        self.scratch = config.scratch_dir(name, root)
        self.database_url = config.database_url(name, self.scratch, sqlite, postgres)
        self.processes: list[ManagedProcess] = []
        self._client: DBOSClient | None = None

    @classmethod
    def fresh(
        cls,
        name: str,
        root: Path | str | None = None,
        sqlite: bool = False,
        postgres: str | None = None,
    ) -> Lab:
        """A Lab that starts from nothing: DELETES everything in its scratch folder and its
        database (workflows, step log, servers an earlier run left running); see :meth:`reset`."""
        return cls(name, root=root, sqlite=sqlite, postgres=postgres).reset()

    # --- state ------------------------------------------------------------------------

    def reset(self) -> Lab:
        """Stop what an earlier run left, then empty the scratch folder and database
        (deleted, not kept aside); returns this lab."""
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
        return self

    @property
    def client(self) -> DBOSClient:
        """A ``DBOSClient`` on this lab's database (created on first use)."""
        if self._client is None:
            self._client = connect(self.database_url)
        return self._client

    def reconnect(self) -> DBOSClient:
        """A new client in place of the current one. The old one is closed, waiting at
        most :data:`CLIENT_CLOSE_TIMEOUT_SEC` (after a database outage closing its dead
        connections can hang)."""
        self._close_client()
        return self.client

    def _close_client(self) -> None:
        old, self._client = self._client, None
        if old is not None:
            _run_with_bound(old.destroy, CLIENT_CLOSE_TIMEOUT_SEC, "closing the old client")

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

    async def wait_steps_async(self, workflow_id: str, count: int, timeout: float = 30.0) -> None:
        """:meth:`wait_steps` for a running event loop: it awaits, the loop runs on."""
        await wait_for_async(
            lambda: len(self.executions(workflow_id)) >= count,
            timeout,
            f"{count} steps of workflow {workflow_id} to run",
        )

    async def enqueue_steps_async(
        self, n: int, *, wait_steps: int = 0, timeout: float = 30.0, **options: Any
    ) -> WorkflowHandleAsync[Any]:
        """:meth:`enqueue_steps` with ``await`` all the way (a notebook cell)."""
        target = enqueue_options("fibonacci_steps_workflow")
        handle = await self.client.enqueue_async(target, n, **options)
        await self.wait_steps_async(handle.workflow_id, wait_steps, timeout)
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
        """Launch DBOS in this process (a notebook kernel) on this lab's database; the
        steps that then run here log to this lab's scratch folder.

        Run twice in one kernel (or by another Lab), it shuts the earlier DBOS down
        first, so the new launch really uses this lab's database.
        """
        global _dbos_owner
        if _dbos_owner is not None or _dbos_is_launched():
            DBOS.destroy()
        _dbos_owner = self
        config.use_scratch_dir(self.scratch)
        return await app.launch_async(self.database_url, executor_id, **queue_options)

    @property
    def owns_dbos(self) -> bool:
        """Whether the DBOS running in this process is this lab's (:meth:`launch_dbos`)."""
        return _dbos_owner is self

    def _stop_dbos(self) -> None:
        global _dbos_owner
        if _dbos_owner is self:
            _dbos_owner = None
            config.use_scratch_dir(None)
            in_worker_thread(DBOS.destroy)

    # --- cleanup ----------------------------------------------------------------------

    def close(self) -> None:
        """Stop every process this lab started, close its client and its in-process DBOS.

        Each part is attempted even when an earlier one raises; then the first error is
        raised again.
        """
        errors: list[Exception] = []
        for part in (self._stop_processes, self._close_client, self._stop_dbos):
            try:
                part()
            except Exception as error:
                errors.append(error)
        if errors:
            raise errors[0]

    def _stop_processes(self) -> None:
        running, self.processes = [p for p in self.processes if p.alive], []
        ServerGroup(running).stop()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Lab {self.name} database={config.mask_url(self.database_url)}>"


def _run_with_bound(function: Callable[[], object], timeout: float, what: str) -> None:
    """Run ``function`` on a daemon thread and wait at most ``timeout`` seconds for it;
    an error it raises in time is raised here."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            function()
        except BaseException as error:
            failure.append(error)

    worker = threading.Thread(target=run, name=f"fiblab: {what}", daemon=True)
    worker.start()
    worker.join(timeout)
    if failure:
        raise failure[0]


def _dbos_is_launched() -> bool:
    from dbos import _dbos

    return getattr(_dbos, "_dbos_global_instance", None) is not None
