"""Probe a health endpoint from the outside: one HTTP request, timed, that never raises."""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass, field

from .protocol import HEALTH_PATH, HOST


@dataclass
class Probe:
    """One HTTP request to a health endpoint: what came back and how long it took."""

    status: int | None
    body: dict | None
    seconds: float
    at: float = field(default_factory=time.time)
    error: str | None = None

    @property
    def healthy(self) -> bool:
        return self.status == 200 and bool(self.body and self.body.get("healthy"))

    @property
    def worker(self) -> dict:
        return (self.body or {}).get("worker") or {}


def probe(port: int, path: str = HEALTH_PATH, method: str = "GET", timeout: float = 2.0) -> Probe:
    """One request to ``http://127.0.0.1:port/path``; a failure is recorded, not raised."""
    at, started = time.time(), time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        data = response.read()
        seconds = time.perf_counter() - started
        try:
            body = json.loads(data) if data else None
        except ValueError:
            body = None
        return Probe(response.status, body, seconds, at)
    except (OSError, http.client.HTTPException) as error:
        return Probe(None, None, time.perf_counter() - started, at, f"{type(error).__name__}")
    finally:
        connection.close()
