"""A learner's JupyterLab session, against a real Jupyter server.

The test starts ``jupyter server`` (the backend JupyterLab's UI talks to) on 127.0.0.1,
a free port and a random token, with ``notebooks/`` as its root. Then, as the UI does:
it opens a session for a notebook (REST), connects to the kernel's websocket, and runs
the notebook's cells one by one. Then it runs a long cell of its own that starts a
fiblab server and waits, presses "interrupt" in the middle of it (REST), checks the
server survived (by its pid), presses "restart" (REST), checks the server went with the
old kernel, runs the whole notebook again in the new kernel, and checks that no fiblab
process is left once the Jupyter server is stopped.

Websockets use tornado's client, which Jupyter itself depends on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import psutil
import pytest

from fiblab import config
from fiblab.pidfile import pid_gone
from fiblab.processes import fiblab_processes
from fiblab.waiting import WaitTimeout, wait_for

from .conftest import REPO, SCRATCH_ROOT
from .websocket_client import WebSocket

NOTEBOOKS = REPO / "notebooks"
# A notebook that starts servers from the kernel (what an interrupt or restart could break),
# and one of the shorter ones: it runs twice here.
NOTEBOOK = "04_client_handles.ipynb"
CELL_TIMEOUT = 300
# The Jupyter server's kernels (and so their servers) keep their scratch folders here,
# apart from every other test's: the processes found under it are this session's.
SESSION_SCRATCH = SCRATCH_ROOT / "jupyter_session"

LONG_CELL = """
from fiblab.lab import Lab
from fiblab.waiting import WaitTimeout, wait_for

probe_lab = Lab.fresh("jupyter_session_probe")
probe = probe_lab.start_server("probe-1")
print(f"server pid {probe.pid}", flush=True)
wait_for(lambda: False, 600, "the interrupt button")  # a long cell, waiting
"""

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


class JupyterServer:
    """``jupyter server`` started by this test, and a REST client for it."""

    def __init__(self, root: Path) -> None:
        self.token = secrets.token_hex(24)
        self.home = Path(tempfile.mkdtemp(prefix="fiblab-jupyter-"))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        command = [
            sys.executable, "-m", "jupyter_server", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={self.token}",
        ]  # fmt: skip
        if os.geteuid() == 0:
            command.append("--allow-root")
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(self.home / "config"),  # no user configuration
            "JUPYTER_RUNTIME_DIR": str(self.home / "runtime"),
            config.SCRATCH_ROOT_ENV: str(SESSION_SCRATCH),
        }
        self.log_path = self.home / "server.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            command, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=root
        )
        wait_for(self._ready, 120, "the Jupyter server to answer")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"jupyter server exited:\n{self.tail()}")
        try:
            self.rest("GET", "/api/status")
            return True
        except (urllib.error.URLError, ConnectionError):
            return False

    def tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def rest(self, method: str, path: str, body: dict | None = None, timeout: float = 120):
        data = json.dumps(body).encode() if body is not None else None
        if data is None and method == "POST":
            data = b""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={**self.headers, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            text = reply.read()
        return json.loads(text) if text else None

    def stop(self) -> None:
        """SIGTERM (the server shuts its kernels down), then SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        self.log.close()
        shutil.rmtree(self.home, ignore_errors=True)


class Kernel:
    """One kernel's websocket, used the way JupyterLab's notebook panel uses it."""

    def __init__(self, jupyter: JupyterServer, kernel_id: str) -> None:
        self.jupyter = jupyter
        self.kernel_id = kernel_id
        self.session = uuid.uuid4().hex
        url = f"ws://127.0.0.1:{jupyter.port}/api/kernels/{kernel_id}/channels"
        self.socket = WebSocket(f"{url}?session_id={self.session}", jupyter.headers)
        self.pending: list[dict] = []
        reply = self.wait_until_ready(timeout=60)
        assert reply["content"]["status"] == "ok"

    def wait_until_ready(self, timeout: float) -> dict:
        """Ask for ``kernel_info`` until the kernel answers, every 2 s, as jupyter_client's
        ``wait_for_ready`` does: a request that reaches a kernel still starting is lost."""
        asked: set[str] = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            asked.add(self.send("kernel_info_request", {}))
            with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                while True:
                    message = self.socket.receive(2)
                    answered = message.get("parent_header", {}).get("msg_id") in asked
                    if answered and message["channel"] == "shell":
                        return message
        raise TimeoutError(f"kernel {self.kernel_id} did not answer kernel_info in {timeout} s")

    def request(self, msg_type: str, content: dict, timeout: float) -> dict:
        """Send a shell request; return its reply (iopub output is collected in ``pending``)."""
        msg_id = self.send(msg_type, content)
        return self.reply_to(msg_id, timeout)

    def send(self, msg_type: str, content: dict) -> str:
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "msg_type": msg_type,
            "session": self.session,
            "username": "learner",
            "date": datetime.now(UTC).isoformat(),
            "version": "5.3",
        }
        self.socket.send(
            {"header": header, "parent_header": {}, "metadata": {}, "content": content,
             "channel": "shell", "buffers": []}
        )  # fmt: skip
        return msg_id

    def reply_to(self, msg_id: str, timeout: float) -> dict:
        while True:
            message = self.socket.receive(timeout)
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if message["channel"] == "shell":
                return message
            self.pending.append(message)

    def execute(self, code: str, timeout: float = CELL_TIMEOUT) -> tuple[dict, list[dict]]:
        """Run one cell; return the execute_reply content and the cell's outputs."""
        self.pending = []
        msg_id = self.send(
            "execute_request",
            {"code": code, "silent": False, "store_history": True, "user_expressions": {},
             "allow_stdin": False, "stop_on_error": True},
        )  # fmt: skip
        reply = self.reply_to(msg_id, timeout)
        # The reply can overtake the cell's last outputs: read up to the kernel's "idle".
        while not any(
            m["msg_type"] == "status" and m["content"]["execution_state"] == "idle"
            for m in self.pending
        ):
            message = self.socket.receive(timeout)
            if message.get("parent_header", {}).get("msg_id") == msg_id:
                self.pending.append(message)
        outputs = [
            m for m in self.pending if m["msg_type"] in ("stream", "error", "execute_result",
                                                         "display_data")
        ]  # fmt: skip
        return reply["content"], outputs

    def close(self) -> None:
        self.socket.close()


def run_notebook(kernel: Kernel, path: Path) -> int:
    """Run every code cell in order; only cells tagged raises-exception may fail."""
    nb = nbformat.read(path, as_version=4)
    ran = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        reply, outputs = kernel.execute(cell.source)
        on_purpose = "raises-exception" in cell.metadata.get("tags", [])
        errors = [o["content"] for o in outputs if o["msg_type"] == "error"]
        if on_purpose:
            assert reply["status"] == "error", f"{cell.id} was meant to fail and did not"
        else:
            assert reply["status"] == "ok" and not errors, (
                f"{path.name} cell {cell.id} failed: "
                f"{reply.get('ename')}: {reply.get('evalue')}\n"
                + "\n".join(reply.get("traceback", []))
            )
        ran += 1
    return ran


def kernel_pid(kernel: Kernel) -> int:
    reply, outputs = kernel.execute("import os; print(os.getpid())")
    assert reply["status"] == "ok", reply
    return int("".join(o["content"].get("text", "") for o in outputs).strip())


def ours() -> list[psutil.Process]:
    """fiblab processes started (through kernels) by this test's Jupyter server."""
    return fiblab_processes(SESSION_SCRATCH)


def test_run_interrupt_restart_run_again() -> None:
    jupyter = JupyterServer(NOTEBOOKS)
    kernel = None
    try:
        session = jupyter.rest(
            "POST",
            "/api/sessions",
            {"path": NOTEBOOK, "name": NOTEBOOK, "type": "notebook", "kernel": {"name": "python3"}},
        )
        kernel_id = session["kernel"]["id"]
        kernel = Kernel(jupyter, kernel_id)
        first_kernel = kernel_pid(kernel)

        # 1. The notebook, cell by cell, all green.
        cells = run_notebook(kernel, NOTEBOOKS / NOTEBOOK)
        assert cells > 5

        # 2. A long cell that started a server; "interrupt" in the middle of it. With
        # stop_on_error, ipykernel would abort requests that reach it just after the
        # interrupt's error reply (it replies first and re-arms after): the next cell,
        # sent at once here (a person is slower), could come back "aborted".
        msg_id = kernel.send(
            "execute_request",
            {"code": LONG_CELL, "silent": False, "store_history": True, "user_expressions": {},
             "allow_stdin": False, "stop_on_error": False},
        )  # fmt: skip

        def server_pid() -> int | None:
            message = kernel.socket.receive(60)
            parent = message.get("parent_header", {}).get("msg_id")
            if parent == msg_id and message["channel"] == "shell":
                raise AssertionError(f"the long cell ended by itself: {message['content']}")
            if parent == msg_id and message["msg_type"] == "stream":
                text = message["content"]["text"]
                if "server pid" in text:
                    return int(text.split("server pid")[1].split()[0])
            return None

        pid = wait_for(server_pid, 120, "the long cell to start its server")
        assert not pid_gone(pid)
        jupyter.rest("POST", f"/api/kernels/{kernel_id}/interrupt")
        reply = kernel.reply_to(msg_id, 60)
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        assert not pid_gone(pid), "the interrupt killed the fiblab server"
        assert "fiblab.server" in psutil.Process(pid).cmdline()
        assert pid in [p.pid for p in ours()]
        reply, outputs = kernel.execute("print(probe.alive, probe.pid)")
        assert reply["status"] == "ok", reply
        assert "".join(o["content"].get("text", "") for o in outputs).split() == ["True", str(pid)]

        # 3. "Restart kernel": the old kernel is gone, and its server with it.
        jupyter.rest("POST", f"/api/kernels/{kernel_id}/restart")
        wait_for(lambda: pid_gone(first_kernel), 30, "the old kernel process to end")
        wait_for(lambda: pid_gone(pid), 15, "the server to end with its kernel")
        kernel.close()
        kernel = Kernel(jupyter, kernel_id)  # the UI reconnects after a restart
        assert kernel_pid(kernel) != first_kernel

        # 4. The notebook again, in the fresh kernel: all green.
        assert run_notebook(kernel, NOTEBOOKS / NOTEBOOK) == cells
        jupyter.rest("DELETE", f"/api/sessions/{session['id']}")
    except Exception:
        sys.stderr.write(f"\n--- Jupyter server log (last lines):\n{jupyter.tail()}\n")
        raise
    finally:
        try:
            if kernel is not None:
                kernel.close()
        finally:
            jupyter.stop()  # whatever happened above, the server (and its kernels) ends
    with contextlib.suppress(WaitTimeout):
        wait_for(lambda: not ours(), 15, "this session's fiblab processes to end")
    left = ours()
    assert left == [], [" ".join(p.cmdline()) for p in left if p.is_running()]
