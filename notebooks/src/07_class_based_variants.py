# %% [markdown]
# # 07 · Class-based designs that break, and how to fix them
#
# **You will be able to:** predict what a crash does to state kept in a class instance,
# say which methods of a class a client can reach and with which names, keep a program
# that enqueues at every start from piling up work in a crash loop, find out what DBOS
# stored about a workflow's arguments — and choose designs that survive all of it.
#
# **Prerequisites:** [05 · Crash and recovery](05_crash_and_recovery.ipynb).
#
# **Time:** about 15 minutes.

# %% [markdown]
# ## Setup
#
# The original experiment kept its failed class-based attempts (`server3.py`,
# `ex1.py`–`ex3.py`). Here each one is a server module under `fiblab/variants/`, started
# with `lab.start_server(executor_id, module=…)`, and each crash is real: a step kills its
# own server process at a chosen step, once (or every time), so every run of this
# notebook fails in exactly the same way.
#
# We run **one server at a time**: every variant server serves the same queue,
# `my_queue`, so a server of one variant would also take workflows meant for another,
# which it cannot run.

# %%
from fiblab import client as fc
from fiblab.display import show_source, table
from fiblab.lab import Lab
from fiblab.variants import memo_instance
from fiblab.waiting import wait_for

lab = Lab.fresh("07_class_based_variants")
MEMO = "fiblab.variants.memo_instance"

# %% [markdown]
# ## 1 · A memoising calculator instance
#
# The natural object-oriented design, and the one the original `server3.py` and `ex1.py`
# used: a calculator object remembers every Fibonacci number it has computed in
# `self.memo`, and each step adds the two previous ones from that memo. DBOS needs to
# find the object again when it recovers a workflow, so the class derives from
# `DBOSConfiguredInstance`, and the server module creates the instance under a fixed
# name when it is imported: `calculator = MemoCalculator("memo-calculator")`. The step
# may be retried, a few times and quickly (`RETRIES`), as a step calling a flaky
# service would be.

# %%
print("RETRIES =", memo_instance.RETRIES)
show_source(memo_instance.MemoCalculator)

# %% [markdown]
# We compute fib(10) and let the server crash (SIGKILL) at step 7. A client names the
# class and the instance along with the method (section 2 explains why).

# %%
memo_server = lab.start_server("memo-server", module=MEMO)
memo_options = fc.enqueue_options(
    "MemoCalculator.memo_fibonacci",
    class_name="MemoCalculator",
    instance_name=memo_instance.MEMO_INSTANCE,
)
memo_handle = lab.client.enqueue(memo_options, 10, crash_at=7)
crash_code = memo_server.wait(30)
print("server exit code:", crash_code, "| workflow:", memo_handle.get_status().status)
print("steps recorded before the crash:", len(fc.step_rows(lab.client, [memo_handle.workflow_id])))

# %% [markdown]
# Steps 2–6 are recorded, step 7 died with the process. Now restart the server with the
# **same executor id**, so it recovers the workflow, and watch what DBOS records.

# %%
memo_server = lab.start_server("memo-server", module=MEMO)
wait_for(lambda: fc.is_finished(memo_handle), 30, "the recovered workflow to finish")
memo_status = memo_handle.get_status()
memo_steps = fc.step_rows(lab.client, [memo_handle.workflow_id])
print("status:", memo_status.status, "| error:", repr(memo_status.error))
table([{**row, "i": row["step_id"] + 1} for row in memo_steps],
      ["step_id", "i", "name", "output", "error"])

# %% [markdown]
# DBOS numbers the steps of a workflow from 1 (`step_id`); our index `i` starts at 2.
# The last step row, i = 7, holds `DBOSMaxStepRetriesExceeded`. The errors of the three
# attempts it gave up after are inside it, and the side channel shows which steps the
# two server processes really ran:

# %%
print("attempts failed with:", memo_steps[-1]["error"].errors)
print("steps run, per server process:", lab.steps_by_process(memo_handle.workflow_id))

# %% [markdown]
# **Check:** the server was SIGKILLed at step 7; after the restart the workflow ended in
# `ERROR` with `DBOSMaxStepRetriesExceeded`, every attempt failing with `KeyError: 6`.
# The new process never ran steps 2–6: it only retried step 7.

# %%
import signal

assert crash_code == -signal.SIGKILL
assert memo_status.status == "ERROR"
assert type(memo_status.error).__name__ == "DBOSMaxStepRetriesExceeded"
assert [r["output"] for r in memo_steps[:-1]] == [1, 2, 3, 5, 8]  # steps 2..6, recorded
assert [repr(e) for e in memo_steps[-1]["error"].errors] == ["KeyError(6)"] * 3
first_process, second_process = lab.steps_by_process(memo_handle.workflow_id)
assert first_process == [2, 3, 4, 5, 6, 7] and second_process == [7, 7, 7]

# %% [markdown]
# **Why.** Recovery runs the workflow function again from the top, in a new process
# with a new `MemoCalculator` whose memo is `{0: 0, 1: 1}`. For steps 2–6 DBOS finds a
# recorded result and returns it *without running the step body* — and the step body
# is the only code that filled `self.memo`. Step 7 is the first to run, looks up
# `self.memo[6]`, and fails; retrying cannot help, the memo will never contain 6. DBOS
# checkpoints a workflow's arguments and what its steps (and other DBOS calls) return —
# never the state of your objects: that is whatever the new process happens to have.
#
# **The fix:** keep state in the workflow function, built from step *return values*.
# A replayed step returns the same value it recorded, so the state is rebuilt exactly.

# %%
show_source(memo_instance.RebuildingCalculator)

# %% [markdown]
# Same crash, same restart:

# %%
rebuild_options = fc.enqueue_options(
    "RebuildingCalculator.rebuilding_fibonacci",
    class_name="RebuildingCalculator",
    instance_name=memo_instance.REBUILDING_INSTANCE,
)
rebuild_handle = lab.client.enqueue(rebuild_options, 10, crash_at=7)
rebuild_crash_code = memo_server.wait(30)
# Eight workflows at a time: section 2 (going deeper) sends this server eight at once.
memo_server = lab.start_server("memo-server", module=MEMO, worker_concurrency=8)
rebuild_result = fc.wait_result(rebuild_handle)
print("exit code:", rebuild_crash_code, "| result:", rebuild_result,
      "| status:", rebuild_handle.get_status().status)
print("steps run, per server process:", lab.steps_by_process(rebuild_handle.workflow_id))

# %% [markdown]
# **Check:** the same crash, now `SUCCESS` with fib(10) = 55; the new process ran only
# the step that was in flight (7) and the ones after it.

# %%
assert rebuild_crash_code == -signal.SIGKILL
assert rebuild_result == (10, 55) and rebuild_handle.get_status().status == "SUCCESS"
assert lab.steps_by_process(rebuild_handle.workflow_id) == [[2, 3, 4, 5, 6, 7], [7, 8, 9, 10]]

# %% [markdown]
# That is this notebook's part of the core track: on to the [Summary](#Summary). The
# sections marked *going deeper* show which class workflows a client can reach, the
# original `ex2.py`'s design, and what an object passed as an argument costs.
#
# ## Going deeper: 2 · Reaching a method of a class from a client
#
# A `DBOSClient` has none of the server's Python objects, only names. DBOS registers a
# workflow that is a method under `"Class.method"`, and the enqueue options have two
# fields for methods, `class_name` and `instance_name`: the server looks them up among
# what *it* created when it started. (A frequently repeated claim says a client cannot
# enqueue methods of classes at all; on dbos 3.4 it can, for some kinds of method, if
# the names are right.)
#
# The memo server from section 1 is still running, and takes up to eight workflows at a
# time (its last start said so), so the eight requests below run side by side instead
# of one per poll of the queue. Besides its configured instance
# `rebuilding-calculator` and a module-level workflow that calls it, its module imports
# `fiblab.variants.method_kinds`, which adds the kinds of class workflow section 1 did
# not have: a `@staticmethod`, a `@classmethod`, and a method of an **ordinary** class
# (no `DBOSConfiguredInstance`, so no instance name), of which the module creates one
# instance at import, `ordinary_calculator = OrdinaryCalculator()`.

# %%
from fiblab.variants import method_kinds

show_source(method_kinds.FibTools, method_kinds.OrdinaryCalculator,
            memo_instance.rebuilding_fibonacci_workflow)

# %% [markdown]
# Eight requests for fib(12) that differ only in the names they send. Guess which ones
# succeed before you run the cell:
#
# | kind of workflow | the client sends |
# | --- | --- |
# | static method | `FibTools.fib_static` |
# | class method | `FibTools.fib_classmethod`; then also `class_name` |
# | method of a configured instance | `RebuildingCalculator.rebuilding_fibonacci`; then also `class_name` and a misspelled `instance_name`; then both names right |
# | method of an ordinary instance | `OrdinaryCalculator.ordinary_fibonacci` and `class_name` |
# | module-level workflow | `rebuilding_fibonacci_workflow` |

# %%
REBUILD = "RebuildingCalculator.rebuilding_fibonacci"
STUCK = "configured instance, misspelled"
attempts = {
    "static method": fc.enqueue_options("FibTools.fib_static"),
    "class method, name only": fc.enqueue_options("FibTools.fib_classmethod"),
    "class method + class_name": fc.enqueue_options("FibTools.fib_classmethod", class_name="FibTools"),
    "configured instance, name only": fc.enqueue_options(REBUILD),
    STUCK: fc.enqueue_options(REBUILD, class_name="RebuildingCalculator",
                              instance_name="rebuilding-calculater"),
    "configured instance + both names": rebuild_options,
    "ordinary instance + class_name": fc.enqueue_options("OrdinaryCalculator.ordinary_fibonacci",
                                                         class_name="OrdinaryCalculator"),
    "module-level workflow": fc.enqueue_options("rebuilding_fibonacci_workflow"),
}
attempt_handles = {how: lab.client.enqueue(options, 12) for how, options in attempts.items()}
for how, handle in attempt_handles.items():
    if how != STUCK:
        wait_for(lambda h=handle: fc.is_finished(h), 30, how)
wait_for(lambda: "is not registered" in memo_server.logs(), 30, "the server to refuse the misspelling")
attempt_rows = []
for how, handle in attempt_handles.items():
    status = handle.get_status()
    attempt_rows.append({"request": how, "status": status.status, "output": status.output,
                         "error": status.error})
table(attempt_rows)

# %% [markdown]
# Row by row:
#
# * A **static method** is a function in a namespace: its name is enough.
# * A **class method** needs its class as `cls`. With the name only, DBOS has no class to
#   pass, `12` lands in `cls`, and `n` is missing. With `class_name` the server passes
#   the class.
# * A method of a **configured instance** needs its `self`. With the name only, `12`
#   became `self`, the same `TypeError`. With both names the server finds the instance
#   registered under that name. With a misspelled instance name it is worse than an
#   error: the server took the workflow, found no such instance and raised
#   `DBOSWorkflowFunctionNotFoundError` (read in `dbos/_core.py`, "configured class
#   instance … is not registered") — an error only its log shows. The workflow was
#   still `PENDING` when we looked, after the other seven had finished: the way an
#   unknown workflow name stays `PENDING` in
#   [04 · Client handles](04_client_handles.ipynb#Limits:-a-workflow-name-no-server-knows).
#   The log line:

# %%
print(next(line for line in memo_server.logs().splitlines() if "is not registered" in line))

# %% [markdown]
# * A method of an **ordinary instance** cannot be reached: the server has
#   `ordinary_calculator`, but DBOS has no name for it, so it passes the *class* as
#   `self`, and the method fails on the first attribute it reads.
# * A **module-level workflow** calls the instance itself: the client needs one name.
#
# **Check:** exactly four requests succeed with fib(12) = 144 — the static method, the
# class method with `class_name`, the configured instance with both names, the
# module-level workflow. A method called without the name of its class or instance ends
# `ERROR` (`TypeError`, `n` missing); the ordinary instance ends `ERROR`
# (`AttributeError`: the class has no `memo`); the misspelled instance was still
# `PENDING`, with the server's refusal in its log.

# %%
outcome = {row["request"]: row for row in attempt_rows}
assert {how for how, row in outcome.items() if row["status"] == "SUCCESS"} == {
    "static method", "class method + class_name", "configured instance + both names",
    "module-level workflow",
}
assert outcome["static method"]["output"] == (12, 144)
assert outcome["class method + class_name"]["output"] == ("FibTools", 144)
assert outcome["configured instance + both names"]["output"] == (12, 144)
assert outcome["module-level workflow"]["output"] == (12, 144)
for how in ("class method, name only", "configured instance, name only"):
    assert outcome[how]["status"] == "ERROR" and isinstance(outcome[how]["error"], TypeError)
    assert "missing 1 required positional argument: 'n'" in str(outcome[how]["error"])
ordinary = outcome["ordinary instance + class_name"]
assert ordinary["status"] == "ERROR" and isinstance(ordinary["error"], AttributeError)
assert "type object 'OrdinaryCalculator' has no attribute 'memo'" in str(ordinary["error"])
assert outcome[STUCK]["status"] == "PENDING"

# %% [markdown]
# A `PENDING` workflow belongs to this server's executor id, so its recovery would take
# it up again at each restart (it re-enqueues them: `dbos/_recovery.py`;
# [05 · Crash and recovery](05_crash_and_recovery.ipynb#Recovery-is-per-executor-id)).
# We cancel it:

# %%
lab.client.cancel_workflow(attempt_handles[STUCK].workflow_id)
assert attempt_handles[STUCK].get_status().status == "CANCELLED"
assert memo_server.stop() == 0  # a graceful stop before the next variant's server starts

# %% [markdown]
# So on dbos 3.4 a client *can* start class-based workflows, but only by naming what the
# server created for itself when it started: a static or class method, or a configured
# instance by its name. It cannot reach a method of an ordinary object, and it cannot
# hand the server an object or its state: what a workflow needs travels as
# **arguments** (section 4 shows what that costs). A wrong name is no error for the
# client: the work just sits. The sturdier public entry point is therefore a module-level
# workflow that calls the instance: clients need one name, and renaming a class or an
# instance cannot strand their work.
#
# ## Going deeper: 3 · A plain class created inside the workflow — and a program that enqueues at every start
#
# The original `ex2.py` created its object *inside* the workflow. Then the object is
# part of the workflow's code: recovery runs that code again, creates a fresh object and
# refills its memo from the replayed step results. No configured instance is needed.

# %%
from fiblab.variants import plain_class

PLAIN = "fiblab.variants.plain_class"
show_source(plain_class.PlainCalculator, plain_class.plain_add_step, plain_class.plain_class_workflow)

# %%
plain_server = lab.start_server("plain-server", module=PLAIN)
plain_handle = lab.client.enqueue(fc.enqueue_options("plain_class_workflow"), 10, crash_at=7)
plain_crash_code = plain_server.wait(30)
plain_server = lab.start_server("plain-server", module=PLAIN)
plain_result = fc.wait_result(plain_handle)
print("exit code:", plain_crash_code, "| result:", plain_result)
print("steps run, per server process:", lab.steps_by_process(plain_handle.workflow_id))

# %% [markdown]
# **Check:** after the crash at step 7 the recovered run created a new calculator,
# refilled its memo from the replayed results of steps 2–6, and finished with 55.

# %%
assert plain_crash_code == -signal.SIGKILL and plain_result == (10, 55)
assert lab.steps_by_process(plain_handle.workflow_id) == [[2, 3, 4, 5, 6, 7], [7, 8, 9, 10]]


# %% [markdown]
# **A new workflow at every start.** `ex2.py` was server and client in one program:
# after `DBOS.launch()`, the code under its `if __name__ == "__main__":` enqueued the
# job — `queue.enqueue(fetch_workflow, n=11)` — under a fresh workflow id at every start.
# And its step crashed the process every time (a segfault, `ctypes.string_at(0)`): a
# crash loop, which [05 · Crash and recovery](05_crash_and_recovery.ipynb#A-step-that-crashes-every-time:-MAX_RECOVERY_ATTEMPTS_EXCEEDED)
# follows to its end. Here we watch only what the enqueue at every start adds to it.
# Below is that enqueue as a function; each start of the program runs it once. Its job
# is `plain_class_workflow` with step 7 segfaulting every time:

# %%
def ex2_start():
    """The enqueue under ex2.py's `if __name__ == "__main__":`, run at every start."""
    options = fc.enqueue_options("plain_class_workflow")
    handle = lab.client.enqueue(options, 10, crash_at=7, crash_every_time=True, crash_mode="segfault")
    return handle.workflow_id


def plain_workflows():
    return [w for w in lab.client.list_workflows() if w.name == "plain_class_workflow"]


# %% [markdown]
# Two rounds of the loop, as a supervisor (or a person) would run it: start the server
# and the program; the server dies in step 7; start both again. We count the new
# `plain_class_workflow`s in the database after each round:

# %%
earlier = {w.workflow_id for w in plain_workflows()}  # the run above
rounds = []
for round_number in (1, 2):
    if not plain_server.alive:
        plain_server = lab.start_server("plain-server", module=PLAIN)
    enqueued = ex2_start()
    exit_code = plain_server.wait(30)
    new = [w for w in plain_workflows() if w.workflow_id not in earlier]
    rounds.append({"round": round_number, "enqueued": enqueued[:8], "server exit code": exit_code,
                   "new workflows so far": len(new), "their statuses": sorted(w.status for w in new)})
table(rounds)

# %% [markdown]
# **Check:** each round's server died of a segfault, and each start of the program added
# one more workflow, none of them finished: every further round would add one more.
# We cancel them, so that no later server takes them up again.

# %%
assert [r["server exit code"] for r in rounds] == [-signal.SIGSEGV] * 2
assert [r["new workflows so far"] for r in rounds] == [1, 2]
assert set(rounds[-1]["their statuses"]) <= {"ENQUEUED", "PENDING"}
for workflow in plain_workflows():
    if workflow.workflow_id not in earlier:
        lab.client.cancel_workflow(workflow.workflow_id)
assert {w.status for w in plain_workflows() if w.workflow_id not in earlier} == {"CANCELLED"}

# %% [markdown]
# **The fix:** enqueue the job under a workflow id of your choosing, the same at every
# start (`workflow_id` in the enqueue options): a workflow id makes the call idempotent,
# as [01 · A step workflow](01_step_workflow.ipynb#Same-workflow-ID,-no-second-computation)
# shows, so a restart finds the workflow of the first start instead of adding one.

# %% [markdown]
# ## Going deeper: 4 · An object passed as a workflow argument
#
# The original `ex3.py` passed a `Fetcher` object, credentials and all, as the workflow's
# argument. fiblab's version fetches Fibonacci numbers from a simulated service that
# accepts only the server's current password (its `FIBLAB_DEMO_PASSWORD`). The
# passwords here are fake, of course.

# %%
from fiblab.stored import decode_stored, printable_strings, stored_inputs
from fiblab.variants import instance_argument
from fiblab.variants.instance_argument import Fetcher

SECRETS = "fiblab.variants.instance_argument"
show_source(Fetcher, instance_argument.service_login, instance_argument.password_step,
            instance_argument.fetcher_workflow)

# %%
secrets_server = lab.start_server(
    "secrets-server", module=SECRETS, env={"FIBLAB_DEMO_PASSWORD": "hunter2-demo"}
)
fetcher = Fetcher("demo-user", "hunter2-demo")
fetcher_handle = lab.client.enqueue(fc.enqueue_options("fetcher_workflow"), fetcher, 10)
fetcher_result = fc.wait_result(fetcher_handle)
print("workflow returned:", fetcher_result)
print("our object now:   ", fetcher)

# %% [markdown]
# Every workflow argument is stored in the system database so that recovery can call the
# workflow again. Here is the stored text, straight from the database table (in dbos
# 3.4: `workflow_input`), and the readable strings inside it once decoded (base64
# around a Python pickle — an encoding, not encryption). The masked `__repr__` hides the password on screen only:

# %%
raw = stored_inputs(lab.database_url, fetcher_handle.workflow_id)
print(raw[:72], "…")
print(printable_strings(decode_stored(raw)))

# %% [markdown]
# And the workflow worked on a **copy** rebuilt from those bytes: it counted 9 requests
# on its `fetcher`, ours still says 0. Reading the input back gives yet another copy.

# %%
stored_fetcher = lab.client.list_workflows(workflow_ids=[fetcher_handle.workflow_id])[0].input["args"][0]
print(stored_fetcher, "| the same object as ours?", stored_fetcher is fetcher)

# %% [markdown]
# **Check:** the password is in the stored bytes in plain text; the workflow's object
# and ours are different objects that do not share changes.

# %%
assert b"hunter2-demo" in decode_stored(raw)
assert "hunter2-demo" in printable_strings(decode_stored(raw))
assert fetcher_result["requests_seen"] == 9 and fetcher.requests == 0
assert stored_fetcher is not fetcher and stored_fetcher.password == "hunter2-demo"

# %% [markdown]
# **A frozen copy meets a crash.** The copy is taken at enqueue time and reused by every
# recovery. We crash a run at step 6, and while the server is down the password is
# rotated: the service (the restarted server) accepts only the new one, and we update
# our object too. The recovered workflow still holds the old password.

# %%
rotated_handle = lab.client.enqueue(fc.enqueue_options("fetcher_workflow"), fetcher, 10, crash_at=6)
rotated_crash_code = secrets_server.wait(30)
fetcher.password = "hunter3-demo"  # rotate: our object ...
secrets_server = lab.start_server(  # ... and the service
    "secrets-server", module=SECRETS, env={"FIBLAB_DEMO_PASSWORD": "hunter3-demo"}
)
wait_for(lambda: fc.is_finished(rotated_handle), 30, "the recovered workflow to finish")
rotated_status = rotated_handle.get_status()
print("status:", rotated_status.status, "| error:", repr(rotated_status.error))

# %% [markdown]
# **Check:** the recovered run replayed steps 2–5, ran step 6 with the stored old
# password, and the service refused it: `ERROR`, `PermissionError`.

# %%
assert rotated_crash_code == -signal.SIGKILL
assert rotated_status.status == "ERROR" and isinstance(rotated_status.error, PermissionError)
assert lab.steps_by_process(rotated_handle.workflow_id) == [[2, 3, 4, 5, 6], [6]]

# %% [markdown]
# **The fix:** pass identifiers, not objects with secrets, and read the secret inside
# the step that uses it, from where secrets live (here: the server's environment). A
# replayed step never needs it; a step that runs again reads the current one.

# %%
show_source(instance_argument.user_id_step, instance_argument.user_id_workflow)

# %% [markdown]
# Same crash at step 6, same rotation while the server is down:

# %%
user_handle = lab.client.enqueue(fc.enqueue_options("user_id_workflow"), "demo-user", 10, crash_at=6)
user_crash_code = secrets_server.wait(30)
secrets_server = lab.start_server(
    "secrets-server", module=SECRETS, env={"FIBLAB_DEMO_PASSWORD": "hunter4-demo"}
)
user_result = fc.wait_result(user_handle)
user_raw = stored_inputs(lab.database_url, user_handle.workflow_id)
print("result:", user_result)
print("stored inputs:", printable_strings(decode_stored(user_raw)))

# %% [markdown]
# **Check:** the same crash and rotation end in `SUCCESS`, and nothing this workflow
# stored — inputs, step results, output — contains a password.

# %%
assert user_crash_code == -signal.SIGKILL
assert user_result == {"n": 10, "fib": 55, "user": "demo-user"}
assert b"hunter" not in decode_stored(user_raw)
user_steps = fc.step_rows(lab.client, [user_handle.workflow_id])
assert len(user_steps) == 9 and not any("hunter" in repr(s["output"]) for s in user_steps)
assert "hunter" not in repr(user_result)

# %% [markdown]
# ## Going deeper: Exercise — audit the stored inputs
#
# Audit this notebook's database: for every workflow in it
# (`fc.workflow_rows(lab.client)`), decode its stored inputs
# (`decode_stored(stored_inputs(lab.database_url, workflow_id))`) and put the workflow
# name and the first 8 characters of the id of every one whose inputs contain `hunter`
# into a list `leaks` of `(name, id)` pairs. The check looks at the names in `leaks`.
# Which workflows are they, and why only those?

# %% tags=["solution"] jupyter={"source_hidden": true}
leaks = [
    (row["name"], row["workflow_id"][:8])
    for row in fc.workflow_rows(lab.client)
    if b"hunter" in decode_stored(stored_inputs(lab.database_url, row["workflow_id"]))
]
print(leaks)  # only the fetcher_workflow runs: they took the Fetcher object as argument

# %% tags=["exercise-check"]
from fiblab.exercises import ExerciseIncomplete, require

require(globals(), "leaks", task="build the list leaks of (workflow name, id) pairs")
leaked_names = sorted(name for name, _id in leaks)
if leaked_names != ["fetcher_workflow", "fetcher_workflow"]:
    raise ExerciseIncomplete(f"leaks names {leaked_names}: the database holds two workflows "
                             "whose stored inputs contain 'hunter' (look at every workflow, "
                             "not only the last ones)")
print("Right: only the two fetcher_workflow runs took the Fetcher (and its password) as argument.")

# %% [markdown]
# ## Summary
#
# * DBOS checkpoints workflow **arguments** and **step results**, not your objects. State
#   in an instance (`self.memo`) is not recovered; replayed steps do not run their
#   bodies, so they cannot refill it. Build state in the workflow from step return values.
#
# Going deeper:
#
# * An object created inside the workflow is recreated by recovery: that design works.
#   A program that enqueues its job at every start adds one more workflow per restart
#   of a crash loop; a fixed `workflow_id` makes the enqueue idempotent.
# * A client reaches a class workflow only through what the server created at start-up:
#   a static method by its name, a class method with `class_name`, a configured
#   instance's method with `class_name` and `instance_name`; an ordinary instance's
#   method not at all. A wrong instance name left the workflow `PENDING`. A
#   module-level workflow that calls the instance is the simpler entry point.
# * Workflow arguments are pickled into the database: secrets included, readable by
#   anyone who can read it, and frozen at enqueue time. Pass identifiers; read secrets
#   inside the step that uses them.
#
# **Next:** [08 · Async workflows](08_async_variants.ipynb) — step order after a crash, and
# workflows started inside steps.

# %%
lab.close()  # stops every server this notebook started
