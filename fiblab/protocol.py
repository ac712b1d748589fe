"""What fiblab's programs tell the process that started them, and how that reads it back.

A child program (server, health process, supervisor) prints one *ready line* on stdout
when it can take work; the parent-side handles in :mod:`fiblab.spawn` wait for it in
the child's log and read the port it names. Both sides import these names from here, so
a server or a health process never imports the code that starts it (:mod:`fiblab.spawn`).
"""

from __future__ import annotations

import re

#: Ready line of ``python -m fiblab.server`` (and the variant servers).
SERVER_READY_PREFIX = "fiblab-server ready"
#: Ready line of ``python -m fiblab.health`` (it names the port the OS picked).
HEALTH_READY_PREFIX = "fiblab-health ready"
#: Ready line of ``python -m fiblab.supervisor``.
SUPERVISOR_READY_PREFIX = "fiblab-supervisor ready"
#: Ready line of ``python -m fiblab.variants.blind_health`` (notebook 06's original shape).
BLIND_HEALTH_READY_PREFIX = "blind-health ready"
#: Line a server started with ``--health-port`` prints once its own endpoint listens.
WORKER_HEALTH_PREFIX = "fiblab-server health endpoint"

#: The only address a health endpoint listens on, and its path.
HOST = "127.0.0.1"
HEALTH_PATH = "/health"


def port_in_log(text: str, marker: str, key: str = "port") -> int | None:
    """The ``<key>=N`` on the last line of ``text`` that contains ``marker``."""
    ports = re.findall(rf"{re.escape(marker)}.*?(?<![\w]){re.escape(key)}=(\d+)", text)
    return int(ports[-1]) if ports else None


def health_url(port: int) -> str:
    """The URL of the health endpoint on ``port``."""
    return f"http://{HOST}:{port}{HEALTH_PATH}"
