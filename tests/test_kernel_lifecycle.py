"""No stray server, whatever happens to the Jupyter kernel that started it.

A real ipykernel is driven through jupyter_client: interrupted mid-cell, restarted,
SIGKILLed, and left with a cell that raised. The servers must survive an interrupt
(it is not a reason to stop them) and be gone within seconds of the kernel's end.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

import psutil
import pytest
from jupyter_client.manager import start_new_kernel

from fiblab.pidfile import pid_gone
from fiblab.waiting import wait_for

from .conftest import REPO, strays

pytestmark = pytest.mark.integration

START_SERVERS = textwrap.dedent(
    """
    import os
    os.chdir({root!r})
    from fiblab.lab import Lab
    lab = Lab.fresh({name!r})
    group = lab.start_servers(["k1", "k2"])
    """
)


@pytest.fixture
def kernel():
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(REPO / "tests"))
    try:
        yield manager, client
    finally:
        client.stop_channels()
        if manager.is_alive():
            manager.shutdown_kernel(now=True)


def run_cell(
    client, code: str, expression: str = "None", timeout: float = 60
) -> tuple[str | None, str | None]:
    """Execute ``code``, then evaluate ``expression`` in the kernel; return (the value's
    repr, None), or (None, the error's name) if the cell raised.

    The value comes back in the cell's execute reply (``user_expressions``), so a cell
    that did not run (ipykernel answers "aborted") cannot pass for one that printed nothing.
    ``stop_on_error=False``: after an error reply ipykernel aborts the requests that reach
    it before it has re-armed (it sends the reply first), so a cell sent at once after an
    error can be aborted instead of run. A person is slower than that.
    """
    reply = client.execute_interactive(
        code,
        timeout=timeout,
        user_expressions={"value": expression},
        output_hook=lambda _: None,
        stop_on_error=False,
    )
    content = reply["content"]
    assert content["status"] != "aborted", f"the kernel did not run {code!r}"
    if content["status"] != "ok":
        return None, content["ename"]
    value = content["user_expressions"]["value"]
    if value["status"] != "ok":
        return None, value["ename"]
    return value["data"]["text/plain"], None


def start_servers(client, name: str) -> list[int]:
    code = START_SERVERS.format(root=str(REPO / "tests"), name=name)
    pids, error = run_cell(client, code, "[s.pid for s in group]")
    assert error is None, error
    pids = ast.literal_eval(pids)
    assert len(set(pids)) == 2, f"expected two server pids, got {pids!r}"
    return pids


def _printed(client, marker: str) -> bool:
    """Read one iopub message (if any); True if it is a stream containing ``marker``."""
    try:
        message = client.get_iopub_msg(timeout=0.2)
    except Exception:  # queue.Empty: nothing yet
        return False
    return message["msg_type"] == "stream" and marker in message["content"]["text"]


def test_interrupt_mid_cell_keeps_servers_and_shutdown_ends_them(kernel) -> None:
    manager, client = kernel
    pids = start_servers(client, "kernel-interrupt")
    # stop_on_error=False, as in run_cell: the interrupt is an error reply
    msg_id = client.execute(
        "import time\nprint('looping', flush=True)\ntime.sleep(60)", stop_on_error=False
    )
    wait_for(lambda: _printed(client, "looping"), 30, "the long cell to start")
    manager.interrupt_kernel()  # SIGINT to the kernel's process group, as Jupyter does
    reply = client.get_shell_msg(timeout=30)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert all(psutil.pid_exists(pid) for pid in pids) and not all(map(pid_gone, pids))
    assert run_cell(client, "pass", "all(s.alive for s in group)") == ("True", None)
    manager.shutdown_kernel()
    wait_for(lambda: all(map(pid_gone, pids)), 15, "servers to stop after kernel shutdown")


def test_a_cell_that_raises_leaves_servers_owned(kernel) -> None:
    manager, client = kernel
    pids = start_servers(client, "kernel-raise")
    assert run_cell(client, "raise RuntimeError('a learner typo')") == (None, "RuntimeError")
    assert not all(map(pid_gone, pids))  # still owned by the living kernel, and stoppable:
    assert run_cell(client, "lab.close()", "group[0].alive") == ("False", None)
    wait_for(lambda: all(map(pid_gone, pids)), 15, "servers to stop after lab.close()")


def test_kernel_restart_ends_its_servers(kernel) -> None:
    manager, client = kernel
    pids = start_servers(client, "kernel-restart")
    manager.restart_kernel(now=True)  # "Restart kernel" in JupyterLab
    wait_for(lambda: all(map(pid_gone, pids)), 15, "servers to stop after a kernel restart")


FAILING_TEST = textwrap.dedent(
    """
    import pytest

    pytestmark = pytest.mark.integration

    def test_fails_halfway(lab):
        lab.start_servers(["h1", "h2"])
        assert False, "failing on purpose with servers running"
    """
)


def test_a_test_that_fails_halfway_leaves_no_server() -> None:
    folder = REPO / "tests" / "scratch" / "failing_halfway"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test_failing_halfway.py").write_text(FAILING_TEST)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(folder), "-q", "-p", "no:cacheprovider",
         "-p", "no:nbmake", "-o", "addopts="],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert "1 failed" in result.stdout, result.stdout + result.stderr
    assert "no fiblab process (nor any other the tests started) left running" in result.stdout
    assert strays(wait=5) == []
