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
