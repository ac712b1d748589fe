# %% [markdown]
# # 03 · Servers: processes you start, stop and kill
#
# **You will be able to:** run the Fibonacci workflows in a separate DBOS server
# process, read its pid and log, send it work through a `DBOSClient`, and tell apart —
# in what DBOS recorded — a graceful shutdown (SIGINT, SIGTERM) from a kill (SIGKILL).
#
# **Prerequisites:** [02 · Queues](02_queues.ipynb).
#
# **Time:** about 10 minutes.

# %% [markdown]
# ## From the notebook to a server
#
# So far DBOS ran inside this kernel. Real deployments run it in **server processes**
# and talk to them only through the system database: a client writes a workflow onto a
# queue, a server takes it, runs it and writes the result back. This is how the
# original experiment worked (`server.py` + `client.py`).
#
# fiblab's server is `python -m fiblab.server`. Its options:

# %%
import subprocess
import sys

print(subprocess.run([sys.executable, "-m", "fiblab.server", "--help"],
                     capture_output=True, text=True, check=True).stdout)

# %% [markdown]
# From the notebook we start servers through `Lab`, which remembers each process so it
# can stop it later. Each server gets an **executor id** (here `server-1`): DBOS stamps it
# on every workflow the server runs, and recovery (below, and notebook 05) is tied to it.
# Some things `Lab` does for you, worth knowing:
#
# * each server runs in a **session of its own**, so Jupyter's *interrupt* button (a
#   SIGINT to the kernel's process group) does not reach it;
# * each server watches its **parent**: if this kernel dies or restarts, its servers
#   stop within a fraction of a second — no stray processes;
# * starting a server whose executor id is already running replaces the old copy.

# %%
from fiblab import client as fc
from fiblab.display import table
from fiblab.lab import Lab

lab = Lab("03_servers")
server = lab.start_server("server-1")
print("server pid:", server.pid)
print(server.logs())

# %% [markdown]
# **Check:** the server is alive and its ready line names its pid and this kernel as
# its parent.

# %%
import os

assert server.alive
assert f"pid={server.pid} ppid={os.getpid()}" in server.logs()

# %% [markdown]
# ## Send it work
#
# `lab.client` is a plain `DBOSClient` on this notebook's database. It never imports
# the workflow code: it only needs the queue name, `my_queue`, and the workflow name,
# `fibonacci_workflow`. `fc.enqueue_options()` spells those out (plus fiblab's pinned
# application version, notebook 05 explains why).

# %%
fc.enqueue_options()

# %%
handle = lab.client.enqueue(fc.enqueue_options(), 25)
result = fc.wait_result(handle)
status = handle.get_status()
print(result, "| status:", status.status, "| ran on:", status.executor_id)

# %%
assert result[:2] == (25, 75025)
assert status.status == "SUCCESS" and status.executor_id == "server-1"

# %% [markdown]
# ## Three ways to stop a server
#
# We give the server a longer job — `fibonacci_steps_workflow(30, step_seconds=0.05)`,
# 29 steps of 0.05 s — wait until a few steps have run, and then stop the server in the
# middle of it, three times over:
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


def stop_mid_workflow(how):
    """Start a long workflow on a fresh server-1, stop the server after 3 steps."""
    server = lab.start_server("server-1")
    handle = lab.enqueue_steps(30, wait_steps=3, step_seconds=0.05)
    exit_code = {"SIGINT": server.interrupt, "SIGTERM": server.stop, "SIGKILL": server.kill}[how]()
    status = handle.get_status()
    return {
        "signal": how,
        "exit code": exit_code,
        "workflow status": status.status,
        "steps recorded": len(fc.step_rows(lab.client, [handle.workflow_id])),
        "workflow_id": handle.workflow_id,
    }


outcomes = [stop_mid_workflow(how) for how in ("SIGINT", "SIGTERM", "SIGKILL")]
table(outcomes, ["signal", "exit code", "workflow status", "steps recorded"])

# %% [markdown]
# **Check:** after SIGINT and SIGTERM the server exited 0 and the workflow finished:
# `SUCCESS`, all 29 steps recorded. After SIGKILL the exit code is −9 and DBOS still
# says `PENDING` with only some steps recorded: nobody told the database anything.

# %%
graceful = [o for o in outcomes if o["signal"] != "SIGKILL"]
killed = outcomes[-1]
assert all(o["exit code"] == 0 and o["workflow status"] == "SUCCESS" for o in graceful)
assert all(o["steps recorded"] == 29 for o in graceful)
assert killed["exit code"] == -signal.SIGKILL
# three steps had started; the one in flight when the kill came was never recorded
assert killed["workflow status"] == "PENDING" and 2 <= killed["steps recorded"] < 29

# %% [markdown]
# ## The killed workflow is not lost
#
# A `PENDING` workflow whose server died is picked up when a server with the **same
# executor id** starts again: DBOS re-runs the workflow function, hands back the
# recorded output of every finished step without running it, and carries on. Notebook
# 05 is all about this; here is a first look.

# %%
restarted = lab.start_server("server-1")
killed_handle = lab.client.retrieve_workflow(killed["workflow_id"])
print(fc.wait_result(killed_handle))
runs = lab.executions(killed["workflow_id"])
repeated = sorted({e["step"] for e in runs if [r["step"] for r in runs].count(e["step"]) > 1})
print("steps that ran twice:", repeated)

# %%
from collections import Counter

assert fc.wait_result(killed_handle) == (30, 832040)
counts = Counter(e["step"] for e in runs)
assert sorted(counts) == list(range(2, 31))  # every step ran ...
assert len(repeated) <= 1  # ... once, except at most the one in flight at the kill

# %% [markdown]
# ## Exercise
#
# Start a second server, `server-2`, next to `server-1`. Enqueue eight
# `fibonacci_workflow(27)` jobs with `fc.enqueue_many(lab.client, [27] * 8)`, wait for
# the results, and count how many each executor ran (`fc.workflow_rows(lab.client,
# [h.workflow_id for h in handles])` has an `executor_id` for each).

# %%
# Your code here

# %% tags=["solution"] jupyter={"source_hidden": true}
second = lab.start_server("server-2")
handles = fc.enqueue_many(lab.client, [27] * 8)
results = dict(fc.results_as_completed(lab.client, handles))
ran_on = Counter(row["executor_id"] for row in fc.workflow_rows(lab.client, [h.workflow_id for h in handles]))
print(ran_on)
assert sum(ran_on.values()) == 8 and all(r[:2] == (27, 196418) for r in results.values())

# %% [markdown]
# ## Summary
#
# * A server is an ordinary process running DBOS; a client reaches it only through the
#   system database, by queue name and workflow name.
# * SIGINT and SIGTERM let fiblab's server finish its workflow and exit cleanly;
#   SIGKILL leaves the workflow `PENDING` with the steps done so far recorded.
# * A server restarted with the same executor id finishes what its predecessor left.
#
# **Next:** [04 · Client handles](04_client_handles.ipynb) — a client driving two servers, as in the original
# experiment's screenshot.

# %%
lab.close()  # stops every server this notebook started
