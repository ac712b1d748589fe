# %% [markdown]
# # 03 · Servers: processes you start, stop and kill
#
# **You will be able to:** run the Fibonacci workflows in a separate DBOS server
# process, read its pid and log, send it work through a `DBOSClient`, tell apart — in
# what DBOS recorded — a graceful shutdown (SIGINT, SIGTERM) from a kill (SIGKILL), see
# the original `server.py`'s flaws happen on DBOS 3.4, and write a DBOS server of your
# own.
#
# **Prerequisites:** [02 · Queues](02_queues.ipynb).
#
# **Time:** about 25 minutes.

# %% [markdown]
# ## From the notebook to a server
#
# So far DBOS ran inside this kernel. Real deployments run it in **server processes**
# and talk to them only through the system database: a client writes a workflow onto a
# queue, a server takes it, runs it and writes the result back — as the original
# experiment's `server.py` and `client.py` did. fiblab's server is
# `python -m fiblab.server`:

# %%
import subprocess
import sys

print(subprocess.run([sys.executable, "-m", "fiblab.server", "--help"],
                     capture_output=True, text=True, check=True).stdout)

# %% [markdown]
# `Lab` starts servers and remembers each one, to stop it later (each runs in a session
# of its own, out of reach of Jupyter's interrupt button, and stops by itself when this
# kernel dies). Each server gets an **executor id** (here `server-1`): DBOS stamps it on
# every workflow the server runs, and recovery is tied to it. We print paths relative to
# this notebook's folder.
#
# **Check:** the server is alive, and its ready line names its pid and this kernel as its
# parent.

# %%
import os

from fiblab import client as fc
from fiblab.display import table
from fiblab.lab import Lab

lab = Lab.fresh("03_servers")
scratch = os.path.relpath(lab.scratch)  # this notebook's scratch folder, as we print it


def readable(text):
    """`text` with the scratch folder's full path shown relative to this notebook."""
    return text.replace(str(lab.scratch), scratch)


server = lab.start_server("server-1")
print("scratch folder:", scratch, "| server pid:", server.pid)
print(readable(server.logs()))
assert server.alive
assert f"pid={server.pid} ppid={os.getpid()}" in server.logs()

# %% [markdown]
# ## What the server runs
#
# The server is a short DBOS program; here are its DBOS parts, read from the fiblab
# source it runs. First the **configuration**: one **application name** for every
# fiblab process, the **system database** (a SQLite file here, PostgreSQL in
# production), a **pinned application version** (DBOS's default is a hash of the code,
# which changes whenever the code does: [05](05_crash_and_recovery.ipynb) shows the
# trap), and the server's own **executor id**. (The two notification keys make stops
# quicker: *Going deeper: how fiblab's server stops*, at the end.)

# %%
from fiblab import app
from fiblab.display import show_source

show_source(app.dbos_config)

# %% [markdown]
# Then the **launch**:
#
# * `DBOS(config=…)` sets DBOS up in this process;
# * `DBOS.listen_queues([queue])` — before launch — makes this process take work from
#   `my_queue` alone; without it, it polls every queue of its own application and the
#   queues no application owns, plus DBOS's internal queue (read `queue_thread` in
#   `dbos/_queue.py`);
# * `DBOS.launch()` connects to the system database (creating its tables if needed),
#   puts back on their queue the `PENDING` workflows recorded under this executor id and
#   version (recovery, below), and starts polling;
# * `DBOS.register_queue(…)` — after launch — stores the queue's settings in the
#   database ([02](02_queues.ipynb) showed they are read again before every poll).
#
# `prepare_database` is fiblab's own: it writes the queue row before launch, so the queue
# is polled from the first moment. On SIGINT or SIGTERM the server calls
# `DBOS.destroy(workflow_completion_timeout_sec=grace)`: stop taking new work, wait up to
# `grace` seconds (`--grace`) for the running workflow, close the database connections.

# %%
show_source(app.launch)

# %% [markdown]
# ## Send it work
#
# `lab.client` is a plain `DBOSClient` on this notebook's database. It never imports
# the workflow code: it only needs the queue name, `my_queue`, and the workflow name,
# `fibonacci_workflow`. `fc.enqueue_options()` spells those out (plus fiblab's pinned
# application version: [05](05_crash_and_recovery.ipynb) explains why).
#
# **Check:** the right number, run by `server-1`, under the pinned version.

# %%
from fiblab import config

print(fc.enqueue_options())
handle = lab.client.enqueue(fc.enqueue_options(), 25)
result = fc.wait_result(handle)
status = handle.get_status()
print(result, "| status:", status.status, "| ran on:", status.executor_id)
assert result[:2] == (25, 75025)
assert status.status == "SUCCESS" and status.executor_id == "server-1"
assert status.app_version == config.APP_VERSION

# %% [markdown]
# ## Three ways to stop a server
#
# We start two more servers, `server-2` and `server-3` (`server-1` is still up), give each
# of the three a longer job — `fibonacci_steps_workflow(20, step_seconds=0.02)`, 19 steps
# of 0.02 s (with `worker_concurrency=1`, each server takes exactly one) — and stop each in
# the middle of its workflow, the moment three of its steps have run, each in its own way:
#
# * **SIGINT** (Ctrl-C in a terminal) and **SIGTERM** (what `kill` and most process
#   managers send) are *graceful*: the server stops taking new work, lets the running
#   workflow finish (up to `--grace` seconds), shuts DBOS down and exits with code 0.
# * **SIGKILL** cannot be caught: the process vanishes mid-step.
#
# Each step also appends a line to a file in the scratch folder, so we can count how
# often every step really ran.

# %%
import signal
import time
from concurrent.futures import ThreadPoolExecutor

HOW = {"server-2": signal.SIGINT, "server-3": signal.SIGTERM, "server-1": signal.SIGKILL}
trio = {server.name: server for server in lab.start_servers(["server-2", "server-3"])}
trio["server-1"] = server if server.alive else lab.start_server("server-1")  # the one from above
handles = [lab.enqueue_steps(20, step_seconds=0.02) for _ in trio]  # one for each server
signalled_at = {}  # workflow id -> when its server got the signal


def stop_after_three_steps(handle):
    """Once three steps of `handle`'s workflow have run, signal its server in its own way."""
    lab.wait_steps(handle.workflow_id, 3)
    runner = trio[handle.get_status().executor_id]
    runner.process.send_signal(HOW[runner.name])
    signalled_at[handle.workflow_id] = time.time()


with ThreadPoolExecutor(len(handles)) as pool:  # watch all three workflows at once
    list(pool.map(stop_after_three_steps, handles))
exit_codes = {name: server.wait(30) for name, server in trio.items()}

outcomes = []
for stopped in handles:
    stopped_status = stopped.get_status()
    outcomes.append({
        "server": stopped_status.executor_id,
        "signal": HOW[stopped_status.executor_id].name,
        "exit code": exit_codes[stopped_status.executor_id],
        "workflow status": stopped_status.status,
        "steps recorded": len(fc.step_rows(lab.client, [stopped.workflow_id])),
        "steps started after the signal": sum(run["at"] > signalled_at[stopped.workflow_id]
                                              for run in lab.executions(stopped.workflow_id)),
        "workflow_id": stopped.workflow_id,
    })
outcomes.sort(key=lambda o: list(HOW).index(o["server"]))  # SIGINT, SIGTERM, SIGKILL
table(outcomes, ["server", "signal", "exit code", "workflow status", "steps recorded",
                 "steps started after the signal"])

# %% [markdown]
# **Check:** each server took exactly one workflow. After SIGINT and SIGTERM the server
# went on with its workflow (steps started after the signal) and exited 0 once it had
# finished: `SUCCESS`, all 19 steps recorded. After SIGKILL nothing more ran, the exit code
# is −9 and DBOS still says `PENDING` with only some steps recorded: nobody told the
# database anything.

# %%
assert [o["server"] for o in outcomes] == list(HOW)  # one workflow per server
graceful = [o for o in outcomes if o["signal"] != "SIGKILL"]
killed = outcomes[-1]
assert all(o["exit code"] == 0 and o["workflow status"] == "SUCCESS" for o in graceful)
assert all(o["steps recorded"] == 19 for o in graceful)
assert all(o["steps started after the signal"] > 0 for o in graceful)  # stopped mid-workflow
assert killed["steps started after the signal"] == 0
assert killed["exit code"] == -signal.SIGKILL
# three steps had started; the one in flight when the kill came was never recorded
assert killed["workflow status"] == "PENDING" and 2 <= killed["steps recorded"] < 19

# %% [markdown]
# ## The killed workflow waits for its own executor id
#
# Left to itself, a `PENDING` workflow whose server died is picked up only when a server
# with the **same executor id** starts again ([05 · Crash and
# recovery](05_crash_and_recovery.ipynb) is the home of recovery and its ways out). The
# original `server.py` gave every start a fresh random id
# (`_utils.GlobalParams.executor_id = str(uuid.uuid4())`). We do what it meant to do:
# start a server with a new random id and give it a small job, so we know it is polling.
# **Watch** the killed workflow.
#
# **Check:** the fresh server ran the new job, yet the killed workflow is still `PENDING`
# under `server-1`, with not one more step recorded.

# %%
import uuid

fresh = lab.start_server(f"server-{uuid.uuid4().hex[:8]}")
probe = fc.wait_result(lab.client.enqueue(fc.enqueue_options(), 20))
killed_status = lab.client.retrieve_workflow(killed["workflow_id"]).get_status()
print(fresh.name, "ran fib(20):", probe[:2])
print("the killed workflow:", killed_status.status, "on", killed_status.executor_id)
assert probe[:2] == (20, 6765)
assert killed_status.status == "PENDING" and killed_status.executor_id == "server-1"
assert len(fc.step_rows(lab.client, [killed["workflow_id"]])) == killed["steps recorded"]
assert fresh.stop() == 0  # the fresh server has done its part

# %% [markdown]
# Now restart `server-1` with its **old** id: it resumes the workflow after its last
# recorded step ([05](05_crash_and_recovery.ipynb) shows how, and what runs twice).
#
# **Check:** fib(20), finished by `server-1`; every step ran, once — except at most the
# one in flight at the kill.

# %%
from collections import Counter

restarted = lab.start_server("server-1")
killed_handle = lab.client.retrieve_workflow(killed["workflow_id"])
print(fc.wait_result(killed_handle))
counts = Counter(e["step"] for e in lab.executions(killed["workflow_id"]))
repeated = sorted(step for step, times in counts.items() if times > 1)
print("steps that ran twice:", repeated)
assert fc.wait_result(killed_handle) == (20, 6765)
assert killed_handle.get_status().executor_id == "server-1"
assert sorted(counts) == list(range(2, 21)) and len(repeated) <= 1

# %% [markdown]
# ## From DBOS 1.x to 3.4: the original's lines, today
#
# The original `server.py` was written for DBOS 1.7 and does not start on 3.4. (Its
# screenshot, `exp9-screenshot.png`, shows two servers with random executor ids, and the
# second one's admin server failing with "Address already in use" on 1.7's fixed port.)
# Where its code meets today's API:
#
# | the original (1.x) | DBOS 3.4 |
# | --- | --- |
# | config key `"database_url"`: in 1.x, the *application* database | removed in 3.0 together with the application database, and refused; the one database left is the system database, `"system_database_url"` (SQLite file or PostgreSQL URL) |
# | `Queue("my_queue", worker_concurrency=1)` at import | `DBOS.register_queue("my_queue", worker_concurrency=1)` after `DBOS.launch()` (or `DBOSClient.register_queue` from a client); constructing `Queue` raises |
# | `_utils.GlobalParams.executor_id = …` before `DBOS(…)` | the config key `"executor_id"`; the old global is overwritten by `DBOS(…)`, silently |
# | an admin server on port 3001 (`/dbos-healthz`, a recovery endpoint: DBOS's "Admin API Reference" page) | none: health is yours to build (notebook 06); recovery happens at launch |
# | `DBOS.destroy()` in the signal handler | `DBOS.destroy(workflow_completion_timeout_sec=…)`: the default, 0, does not wait (*Going deeper*, at the end) |
#
# The script below tries the first three rows on DBOS 3.4, in a process of its own (so
# this kernel stays clean), and reports what happened. **Watch** the executor id.

# %%
# %%writefile {scratch}/old_api.py
"""Try the original server.py's DBOS 1.x lines on the installed DBOS; print what happened."""
import json
import sys
import uuid

from dbos import DBOS, Queue, _utils

url = sys.argv[1]
seen = {}
try:
    Queue("my_queue", worker_concurrency=1)  # 1.x: a queue declared at import
except Exception as error:
    seen["Queue(...)"] = f"{type(error).__name__}: {error}"
try:
    DBOS(config={"name": "old-style", "database_url": url})  # 1.x config key
except Exception as error:
    seen["database_url"] = f"{type(error).__name__}: {error}"
_utils.GlobalParams.executor_id = str(uuid.uuid4())  # 1.x: a private global
DBOS(config={"name": "old-style", "system_database_url": url, "log_level": "WARNING",
             "notification_listener_polling_interval_sec": 0.1})  # destroy() returns sooner
DBOS.launch()
seen["executor id"] = DBOS.executor_id
DBOS.destroy()
print(json.dumps(seen))

# %%
import json

old_api = subprocess.run(
    [sys.executable, f"{scratch}/old_api.py", f"sqlite:///{lab.scratch / 'old-api.sqlite'}"],
    capture_output=True, text=True, timeout=120, check=True,
)
seen = json.loads(old_api.stdout.splitlines()[-1])
for what, happened in seen.items():
    print(f"{what}: {happened}")

# %% [markdown]
# **Check:** `Queue(…)` and `database_url` are refused with errors that name the new
# way (the second also says why: the application database is gone —
# `_reject_removed_database_url_keys` in `dbos/_dbos_config.py`); the random executor id
# was silently replaced by `local`. The installed DBOS has no admin-server module and no
# config key for one, and `destroy()` waits 0 s by default.

# %%
import importlib.util
import inspect

from dbos import DBOS, DBOSConfig

assert "DBOS.register_queue" in seen["Queue(...)"]
assert "system_database_url" in seen["database_url"]
assert "removed in DBOS 3.0 along with the application database" in seen["database_url"]
assert seen["executor id"] == "local"
assert importlib.util.find_spec("dbos._admin_server") is None
assert not [key for key in DBOSConfig.__annotations__ if "admin" in key]
assert inspect.signature(DBOS.destroy).parameters["workflow_completion_timeout_sec"].default == 0

# %% [markdown]
# ## Going deeper: how fiblab's server stops
#
# The core track needs only what `shut_down` calls, `DBOS.destroy(…)`. Here is how
# fiblab's server gets there from a signal. The handler for SIGINT and SIGTERM only
# *notes* the signal and writes a byte to a pipe, taking no lock (the docstring of
# `StopRequest` says why a handler should do no more); the main thread, asleep on that
# pipe in `stop.wait()`, wakes and calls `shut_down`. Then the process exits with
# `os._exit` (the comment says why).

# %%
from fiblab import lifecycle
from fiblab import server as fiblab_server
from fiblab.display import show_excerpt

show_source(lifecycle.StopRequest.install_signal_handlers, lifecycle.StopRequest.on_signal)

# %%
show_excerpt(fiblab_server.main, "# Launch DBOS", "os._exit(code)")

# %%
show_source(fiblab_server.shut_down)

# %% [markdown]
# And the config's two notification keys, as read in the DBOS source: on SQLite a DBOS
# thread looks for notifications every `notification_listener_polling_interval_sec`
# (`_notification_listener_polling` in `dbos/_sys_db.py`; default 1.0 s), and
# `DBOS._destroy` (`dbos/_dbos.py`) joins DBOS's background threads, so with the default
# every stop could take up to a second longer; on PostgreSQL DBOS batches the
# notifications it sends (for events and streams, which fiblab does not use) and its
# notifier thread (`dbos/_sys_db_postgres.py`) wakes every `notification_coalesce_sec`,
# by default 0.01 s: 100 times a second. **Check:** those defaults, in the installed DBOS.

# %%
import inspect

from dbos import _sys_db

defaults = inspect.signature(_sys_db.SystemDatabase.__init__).parameters
print("notification_listener_polling_interval_sec default:",
      defaults["notification_listener_polling_interval_sec"].default)
print("notification_coalesce_sec default:", _sys_db.DEFAULT_NOTIFICATION_COALESCE_SEC)
assert defaults["notification_listener_polling_interval_sec"].default == 1.0
assert _sys_db.DEFAULT_NOTIFICATION_COALESCE_SEC == 0.01

# %% [markdown]
# ## Going deeper: exercise — write the original `server.py` for DBOS 3.4
#
# Write a module `my_server.py` in this notebook's scratch folder: start your cell with
# `%%writefile {scratch}/my_server.py` (`scratch` is the folder, as printed above). It is
# a DBOS server of its own — not fiblab's:
#
# * **config** (`DBOSConfig`): application name `my-fib-server` (like the original's
#   `fibonacci-server`: a program of its own, which shares the database with fiblab's
#   servers but nothing else), `system_database_url` from the environment variable
#   `MY_DATABASE_URL`, `executor_id` from the first command-line argument (fixed per
#   server, not random), `application_version` pinned to `my-server-1`, and
#   `notification_listener_polling_interval_sec` 0.1 like fiblab's (each stop is then
#   up to a second shorter);
# * a **step** `fib_step(i, previous, current, hold_at=None)` returning
#   `previous + current`, and a **workflow** `my_fib_workflow(n, hold_at=None)` that
#   computes fib(n) one step per index 2..n and returns `(n, fib(n))`;
# * **launch**: `DBOS.listen_queues(["my_server_queue"])`, `DBOS.launch()`, then
#   `DBOS.register_queue("my_server_queue", worker_concurrency=1,
#   polling_interval_sec=0.1)`, then print a line `my-server ready`;
# * a **SIGINT/SIGTERM handler** that prints `shutting down`, calls
#   `DBOS.destroy(workflow_completion_timeout_sec=GRACE)` with `GRACE` read from
#   `MY_GRACE_SEC` (default 10), prints `stopped` and exits with `sys.exit(0)`.
#
# Two things the notebook needs to crash your server at a chosen moment, copy them as
# they are: each `fib_step` appends a line `workflow_id i pid` to `my-runs.log` in the
# folder `FIBLAB_SCRATCH_DIR` names (fiblab's process handle sets it), and step `hold_at`
# waits while a file `hold` exists there; and the server ends when the notebook kernel
# does. The check starts your server, runs `my_fib_workflow(5)` on it and stops it with
# SIGTERM: it wants `my-server ready`, `(5, 5)`, then `stopped` and exit code 0. A skeleton:
#
# ```python
# import os, signal, sys, threading, time
# from pathlib import Path
# from dbos import DBOS, DBOSConfig
#
# SCRATCH = Path(os.environ["FIBLAB_SCRATCH_DIR"])
# config: DBOSConfig = {...}
# DBOS(config=config)
#
# @DBOS.step()
# def fib_step(i: int, previous: int, current: int, hold_at: int | None = None) -> int:
#     with open(SCRATCH / "my-runs.log", "a") as runs:
#         runs.write(f"{DBOS.workflow_id} {i} {os.getpid()}\n")
#     while i == hold_at and (SCRATCH / "hold").exists():
#         time.sleep(0.01)
#     return previous + current
#
# ...  # the workflow, the signal handler
#
# def exit_with_parent() -> None:  # the server ends when the notebook kernel does
#     parent = os.getppid()
#     while os.getppid() == parent:
#         time.sleep(0.2)
#     os._exit(1)  # at once, like a crash: a running workflow waits for recovery
#
# if __name__ == "__main__":
#     ...  # handlers, listen_queues, launch, register_queue, "my-server ready"
#     threading.Thread(target=exit_with_parent, daemon=True).start()
#     threading.Event().wait()
# ```

# %% tags=["solution"] jupyter={"source_hidden": true}
# %%writefile {scratch}/my_server.py
"""My own DBOS server: the original exp9 server.py, ported to DBOS 3.4."""
import os
import signal
import sys
import threading
import time
from pathlib import Path

from dbos import DBOS, DBOSConfig

QUEUE = "my_server_queue"
SCRATCH = Path(os.environ["FIBLAB_SCRATCH_DIR"])
GRACE = int(os.environ.get("MY_GRACE_SEC", "10"))

config: DBOSConfig = {
    "name": "my-fib-server",
    "system_database_url": os.environ["MY_DATABASE_URL"],
    "executor_id": sys.argv[1],  # fixed per server: a restart recovers its own work
    "application_version": "my-server-1",  # pinned: recovery follows the version
    "notification_listener_polling_interval_sec": 0.1,  # destroy() waits on this thread
}
DBOS(config=config)


@DBOS.step()
def fib_step(i: int, previous: int, current: int, hold_at: int | None = None) -> int:
    with open(SCRATCH / "my-runs.log", "a") as runs:
        runs.write(f"{DBOS.workflow_id} {i} {os.getpid()}\n")
    while i == hold_at and (SCRATCH / "hold").exists():
        time.sleep(0.01)
    return previous + current


@DBOS.workflow()
def my_fib_workflow(n: int, hold_at: int | None = None) -> tuple[int, int]:
    previous, current = 0, 1
    for i in range(2, n + 1):
        previous, current = current, fib_step(i, previous, current, hold_at)
    return n, current if n > 0 else 0


def shut_down(signum: int, _frame: object) -> None:
    print("shutting down", flush=True)
    DBOS.destroy(workflow_completion_timeout_sec=GRACE)
    print("stopped", flush=True)
    sys.exit(0)


def exit_with_parent() -> None:  # the server ends when the notebook kernel does
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)  # at once, like a crash: a running workflow waits for recovery


if __name__ == "__main__":
    signal.signal(signal.SIGINT, shut_down)
    signal.signal(signal.SIGTERM, shut_down)
    DBOS.listen_queues([QUEUE])
    DBOS.launch()
    DBOS.register_queue(QUEUE, worker_concurrency=1, polling_interval_sec=0.1)
    print("my-server ready", flush=True)
    threading.Thread(target=exit_with_parent, daemon=True).start()
    threading.Event().wait()

# %% [markdown]
# The notebook runs your server (or, if you skipped the exercise, the reference one in
# `notebooks/reference/my_server.py`) with `ManagedProcess`, which runs any module as a
# subprocess we own (log file, pid file, stopped by `lab.close()`; `lab.adopt` tracks it).
# `MY_TARGET` is what a client must name to reach it.

# %%
from pathlib import Path

import fiblab
from fiblab.processes import ServerGroup
from fiblab.spawn import ManagedProcess
from fiblab.waiting import wait_for

REFERENCE_SERVER = Path(fiblab.__file__).parent.parent / "notebooks" / "reference"
MY_TARGET = {"queue_name": "my_server_queue", "workflow_name": "my_fib_workflow",
             "app_version": "my-server-1", "application_name": "my-fib-server"}
# The queue's row, written before any server starts: a server then polls it from its launch
# (registered only after launch, it waits for the queue thread's next scan, about 1 s).
await lab.client.register_queue_async("my_server_queue", worker_concurrency=1,
                                      polling_interval_sec=0.1, application_name="my-fib-server")


def my_server(executor_id, folder, **env):
    """A handle on `python -m my_server EXECUTOR_ID` from `folder`, on this notebook's database."""
    process = ManagedProcess(
        executor_id, "my_server", [executor_id], lab.scratch, ready_marker="my-server ready",
        env={"PYTHONPATH": str(folder), "MY_DATABASE_URL": lab.database_url, **env},
    )
    return lab.adopt(process)


def my_runs(workflow_id):
    """(step, pid) for every fib_step that really ran for `workflow_id`."""
    path = lab.scratch / "my-runs.log"
    lines = path.read_text().split("\n") if path.exists() else []
    return [(int(step), int(pid)) for wf, step, pid in (line.split() for line in lines if line)
            if wf == workflow_id]


def trial_run(folder):
    """Start the server in `folder`, run my_fib_workflow(5) on it, stop it with SIGTERM;
    return what went wrong, or None."""
    # Nothing runs when it stops: a grace of 0 s spares the 1-second wait in DBOS._destroy.
    trial = my_server("mine-check", folder, MY_GRACE_SEC="0").start()
    try:
        trial.wait_ready(20)
        answer = fc.wait_result(lab.client.enqueue(MY_TARGET, 5), timeout=20)
    except Exception as error:  # it never got ready, crashed, or the workflow failed
        trial.kill()
        return readable(f"{type(error).__name__}: {error}")
    code = trial.stop()
    if answer != (5, 5):
        return f"my_fib_workflow(5) returned {answer!r}, not (5, 5)"
    if code != 0 or "stopped" not in trial.logs():
        return f"after SIGTERM it exited with code {code}; its log:\n{readable(trial.tail())}"
    return None


# %% [markdown]
# **Check:** your server starts, runs `my_fib_workflow(5)` and stops cleanly on SIGTERM.

# %% tags=["exercise-check"]
from fiblab.exercises import ExerciseIncomplete

if not (lab.scratch / "my_server.py").exists():
    raise ExerciseIncomplete(f"there is no {scratch}/my_server.py yet: write it in the exercise "
                             "cell above, starting with the line "
                             "%%writefile {scratch}/my_server.py, "
                             "run that cell, then this check again")
problem = trial_run(lab.scratch)
if problem is not None:
    raise ExerciseIncomplete(f"your server is not right yet: {problem}")
print("your server works: it is the one the next sections run")
my_server_folder = lab.scratch

# %% [markdown]
# ### Run it: two servers, a crash, a recovery
#
# We hold step 6 of a workflow and enqueue it **before** the two servers start —
# fiblab's `server-1` is running and polling all the while — then start `mine-1` and
# `mine-2`, and SIGKILL whichever takes the workflow while it sits in step 6. The other
# one stays up: we give it a small job, and **watch** whether it touches the killed
# workflow. Then we restart the killed one with the same executor id.

# %%
from fiblab.exercises import mine_or_reference

server_folder = mine_or_reference(globals(), "my_server_folder", REFERENCE_SERVER,
                                  "server (notebooks/reference/my_server.py)")
HOLD = lab.scratch / "hold"
HOLD.touch()
crash_handle = lab.client.enqueue(MY_TARGET, 12, hold_at=6)
mine = ServerGroup([my_server("mine-1", server_folder), my_server("mine-2", server_folder)]).start()
wait_for(lambda: 6 in [step for step, _ in my_runs(crash_handle.workflow_id)], 30, "step 6")
runner_id = crash_handle.get_status().executor_id
runner = next(server for server in mine if server.name == runner_id)
killed_pid = runner.pid
print(runner_id, "is in step 6; SIGKILL ->", runner.kill())
HOLD.unlink()
survivor = next(server for server in mine if server.name != runner_id)
small = lab.client.enqueue(MY_TARGET, 3)
print(survivor.name, "ran", fc.wait_result(small), "| the killed workflow:",
      crash_handle.get_status().status, "on", crash_handle.get_status().executor_id)
crash_status = crash_handle.get_status()

runner.restart()
crash_result = fc.wait_result(crash_handle, timeout=30)  # a server with a new id would never finish it
print(crash_result, "finished on", crash_handle.get_status().executor_id)

# %% [markdown]
# **Check:** fiblab's `server-1` never took the workflow (it listens on `my_queue`
# only). While its server was dead, the workflow stayed `PENDING` under the dead
# executor id, though the other server was up and working. The restart under the same
# id put it back on its queue — and from there *either* server may run the rest: read
# `reenqueue_for_recovery` in `dbos/_sys_db.py`, which sets a recovered workflow back to
# `ENQUEUED` on its own queue, where "any live executor" may dequeue it. Either way:
# fib(12) = 144; steps 2–5 ran once, in the killed process; step 6 ran again after the
# restart, and steps 7–12 once, all in one process.

# %%
crash_runs = my_runs(crash_handle.workflow_id)
done_status = crash_handle.get_status()
finisher = next(server for server in mine if server.name == done_status.executor_id)
assert runner_id in ("mine-1", "mine-2")  # not fiblab's server-1
assert fc.wait_result(small) == (3, 2)
assert crash_status.status == "PENDING" and crash_status.executor_id == runner_id
assert crash_result == (12, 144) and done_status.status == "SUCCESS"
assert [step for step, pid in crash_runs if pid == killed_pid] == [2, 3, 4, 5, 6]
assert [step for step, pid in crash_runs if pid != killed_pid] == list(range(6, 13))
assert {pid for _, pid in crash_runs} == {killed_pid, finisher.pid}

# %% [markdown]
# ### Whose work a server takes
#
# `MY_TARGET` names `application_name`, because a server dequeues only workflows of its
# own application — and workflows that belong to **no** application, which any
# application's server takes (read `_name_filter` in `dbos/_sys_db.py`: "unclaimed ones,
# which belong to every application"). Which one a workflow gets depends on the client:
# `lab.client` was created with `application_name="fiblab"`, and fills that in when the
# options name none; a `DBOSClient` created without one (like the README's plain-Python
# client) leaves it empty (`_build_enqueue_status` in `dbos/_client.py`). We enqueue one
# workflow each way, without `application_name` in the options, onto your servers' queue.
#
# **Check:** the ownerless workflow ran on one of your servers; the one the `fiblab`
# client enqueued belongs to application `fiblab` and stays `ENQUEUED`: nobody serves it.

# %%
from dbos import DBOSClient

no_app = {key: value for key, value in MY_TARGET.items() if key != "application_name"}
fiblab_owned = lab.client.enqueue(no_app, 5)
plain_client = DBOSClient(system_database_url=lab.database_url)  # no application name
try:
    ownerless_id = plain_client.enqueue(no_app, 4).workflow_id
finally:
    plain_client.destroy()
ownerless = lab.client.retrieve_workflow(ownerless_id)
print("ownerless:", fc.wait_result(ownerless), "on", ownerless.get_status().executor_id)
print("enqueued by the fiblab client:", fiblab_owned.get_status().status)
assert fc.wait_result(ownerless) == (4, 3)
assert ownerless.get_status().executor_id in ("mine-1", "mine-2")
assert fiblab_owned.get_status().status == "ENQUEUED" and my_runs(fiblab_owned.workflow_id) == []

# %% [markdown]
# ### A graceful stop waits for the workflow
#
# Hold a new workflow in step 4, send SIGTERM to the server that runs it (and to the other
# one, which has nothing left to do), and release the step only once DBOS logs that it is
# waiting for it (`Attempting to shut down DBOS. 1 workflows remain active`, an INFO line
# of `DBOS._destroy`). With a completion timeout, `DBOS.destroy` waits for the workflow to
# finish before it closes the database. (Meanwhile the next section's server, with the
# original's handler, starts: there is no work left on the queue for it to take.)

# %%
HOLD.touch()
graceful_handle = lab.client.enqueue(MY_TARGET, 8, hold_at=4)
wait_for(lambda: [step for step, _ in my_runs(graceful_handle.workflow_id)][-1:] == [4], 30, "step 4")
holder = next(s for s in mine if s.name == graceful_handle.get_status().executor_id)
idle = [s for s in mine if s.alive and s is not holder]
for stopping in (holder, *idle):
    stopping.process.send_signal(signal.SIGTERM)
old_style = my_server("mine-old-handler", server_folder, MY_GRACE_SEC="0").start()  # next section's
wait_for(lambda: "workflows remain active" in holder.logs(), 15, "DBOS.destroy to wait for the workflow")
HOLD.unlink()
graceful_exit = holder.wait(30)
idle_exits = [s.wait(30) for s in idle]
print(holder.name, "exit code", graceful_exit, "|", graceful_handle.get_status().status,
      "| the idle one:", idle_exits)

# %%
assert graceful_exit == 0 and idle_exits == [0] * len(idle)
assert graceful_handle.get_status().status == "SUCCESS"  # PENDING without a completion timeout
assert graceful_handle.get_result() == (8, 21)

# %% [markdown]
# ## Going deeper: the original's shutdown, `DBOS.destroy()` with no timeout
#
# The original's handler called `DBOS.destroy()` and `exit(0)`. In DBOS 3.4 (read
# `DBOS._destroy` in `dbos/_dbos.py`) a timeout of 0 — the default — means: do not wait
# for running workflows; stop DBOS's threads and close the system database now. The
# server of the exercise with `MY_GRACE_SEC=0` does exactly what the original did. Same
# experiment as above, except that we release the step only once the handler has printed
# `stopped` (any other server of ours still up stops first, so this one gets the work).
# **Watch** the exit code, the status, and what the step's thread found when it finished.

# %%
others = [one for one in mine if one.alive]
for other in others:
    other.process.send_signal(signal.SIGTERM)
assert [other.wait(15) for other in others] == [0] * len(others)
if not old_style.alive:  # this section run again after the end
    old_style.start()
old_style.wait_ready()  # started in the section above
# Run again, its restart first recovers the workflow this section cut off last time:
# let that one finish before step 4 is held again.
wait_for(lambda: not lab.client.list_workflows(status="PENDING", executor_id=old_style.name),
         30, "a recovered workflow to finish")
HOLD.touch()
cut_handle = lab.client.enqueue(MY_TARGET, 8, hold_at=4)
wait_for(lambda: [step for step, _ in my_runs(cut_handle.workflow_id)][-1:] == [4], 30, "step 4")
old_style.process.send_signal(signal.SIGTERM)
wait_for(lambda: "stopped" in old_style.logs(), 30, "DBOS.destroy() to return")
still_running = old_style.alive  # sys.exit waits for the step's thread
HOLD.unlink()
cut_exit = old_style.wait(30)
cut_status = cut_handle.get_status()
cut_recorded = len(lab.client.list_workflow_steps(cut_handle.workflow_id))
print("alive after destroy():", still_running, "| exit code", cut_exit, "|", cut_status.status,
      "| steps run:", [step for step, _ in my_runs(cut_handle.workflow_id)], "| recorded:", cut_recorded)
print(readable([line for line in old_style.logs().splitlines() if "DBOS Error" in line][-1]))

# %% [markdown]
# **Check:** the process exited 0, as if all went well. It was still alive after
# `destroy()` returned: `sys.exit` waits for the thread that runs the step. When the step
# ended, its result had nowhere to go ("System database accessed before DBOS was
# launched"): the workflow is still `PENDING` and step 4 is not recorded, so its work is
# lost and it runs again at recovery. The only trace is an error in the server's log.

# %%
assert still_running and cut_exit == 0
assert cut_status.status == "PENDING"
assert [step for step, _ in my_runs(cut_handle.workflow_id)] == [2, 3, 4]
assert cut_recorded == 2  # steps 2 and 3; step 4's result was lost
assert "System database accessed before DBOS was launched" in old_style.logs()

# %% [markdown]
# Why release the step only after `stopped`? Read `DBOS._destroy` in `dbos/_dbos.py`:
# with a timeout of 0 it does not wait for workflows, but it closes the system database
# only at its very end, after stopping DBOS's threads — so a step that ends before that
# still records its result. Without a completion timeout the outcome depends on timing; a
# completion timeout (`MY_GRACE_SEC=10` above, fiblab's `--grace`) turns that race into
# a wait.

# %% [markdown]
# ## Summary
#
# * A server is an ordinary process running DBOS; a client reaches it only through the
#   system database, by queue name and workflow name.
# * SIGINT and SIGTERM let fiblab's server finish its workflow and exit cleanly;
#   SIGKILL leaves the workflow `PENDING` with the steps done so far recorded.
# * A server restarted with the same executor id recovers what its predecessor left; a
#   server with a new id (the original's random one) does not
#   ([05](05_crash_and_recovery.ipynb) goes on from here).
# * DBOS 3.4 refuses the original's `database_url` (the application database is gone)
#   and `Queue(…)`, silently ignores its executor-id global, and has no admin server.
# * Going deeper: a server takes its own application's workflows and those of no
#   application; `DBOS.destroy()` waits for running workflows only when given
#   `workflow_completion_timeout_sec` — without it a step's result can be lost while the
#   process exits 0; and you wrote a DBOS server of your own.
#
# **Next:** [04 · Client handles](04_client_handles.ipynb) — a client driving two servers, as in the original
# experiment's screenshot.

# %%
lab.close()  # stops every server this notebook started
