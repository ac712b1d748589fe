"""A blocking JSON websocket for tests: tornado's client on a private event loop.

Used to drive Chromium over the DevTools protocol and a Jupyter kernel over its
websocket, without a new dependency (tornado comes with jupyter_server).
"""

from __future__ import annotations

import asyncio
import json

from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect


class WebSocket:
    """Connect on creation; ``send`` and ``receive`` JSON messages; ``close`` at the end."""

    def __init__(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
        max_message_size: int | None = None,
    ) -> None:
        self.loop = asyncio.new_event_loop()
        request = HTTPRequest(
            url, headers=headers, connect_timeout=timeout, request_timeout=timeout
        )
        options = {} if max_message_size is None else {"max_message_size": max_message_size}
        self.connection = self._run(lambda: websocket_connect(request, **options))

    def _run(self, start, timeout: float | None = None):
        """Run ``start()`` (which makes an awaitable) inside the private loop."""

        async def run():
            return await asyncio.wait_for(start(), timeout)

        return self.loop.run_until_complete(run())

    def send(self, message: dict) -> None:
        self._run(lambda: self.connection.write_message(json.dumps(message)))

    def receive(self, timeout: float) -> dict:
        text = self._run(self.connection.read_message, timeout)
        if text is None:
            raise ConnectionError("the websocket closed")
        return json.loads(text)

    def close(self) -> None:
        async def close_inside_the_loop() -> None:  # tornado needs a running loop here
            self.connection.close()

        self.loop.run_until_complete(close_inside_the_loop())
        self.loop.close()
