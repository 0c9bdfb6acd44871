"""Time limits on what a client sends, so that a slow or stalled client cannot hold a connection for ever.

- the request head (request line and headers): `TimedH11Protocol`, uvicorn's h11 protocol with a timer from the
  connection's start (or the first byte of the next request on a kept-alive connection) until the head is
  complete; a partial head is answered 408 and the connection closed, a connection that sent nothing is closed;
- the body: `BodyTimeout`, an ASGI middleware that gives each read of the body a deadline and answers 408;
- an idle kept-alive connection: uvicorn's `timeout_keep_alive`; the number of connections and requests at once:
  uvicorn's `limit_concurrency` (503 beyond it).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import h11
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("stockpool.timeouts")
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 30.0


class ServerConfig(uvicorn.Config):
    """uvicorn's configuration, plus the time limit on a request's head (read by `TimedH11Protocol`)."""

    def __init__(self, *args: Any, timeout_headers: float = DEFAULT_HEADER_TIMEOUT, **kwargs: Any) -> None:
        self.timeout_headers = timeout_headers
        super().__init__(*args, **kwargs)


class TimedH11Protocol(H11Protocol):
    """A request head that is not complete `timeout_headers` seconds after it was awaited ends the connection."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.timeout_headers: float = getattr(config, "timeout_headers", DEFAULT_HEADER_TIMEOUT)
        self.headers_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            if self.headers_timer is None:  # a new head has begun: it must be complete in time
                self._arm()
        else:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self.headers_timer = self.loop.call_later(self.timeout_headers, self._headers_timed_out)

    def _disarm(self) -> None:
        if self.headers_timer is not None:
            self.headers_timer.cancel()
            self.headers_timer = None

    def _headers_timed_out(self) -> None:
        self.headers_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.conn.trailing_data[0]:  # part of a head arrived
            client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
            log.info("request head from %s not complete after %g s: answered 408", client, self.timeout_headers)
            message = b"The request's headers did not arrive in time.\n"
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(message), message)
            )
        self.transport.close()


class BodyTimeout:
    """ASGI middleware: a body that has not all arrived `seconds` after a read began is answered 408.

    The deadline runs only while the app waits for the body, through `asyncio.timeout`: it cancels the request's
    task there (a `CancelledError` passes through the app's `except Exception`, and its `finally` blocks roll back),
    and turns into the 408 here.
    """

    def __init__(self, app: ASGIApp, seconds: float = DEFAULT_BODY_TIMEOUT) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        answered = False
        body_read = False

        async def send_noting(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
            await send(message)

        try:
            async with asyncio.timeout(None) as deadline:

                async def timed_receive() -> Message:
                    nonlocal body_read
                    if body_read:
                        return await receive()
                    deadline.reschedule(loop.time() + self.seconds)
                    try:
                        message = await receive()
                    finally:
                        if not deadline.expired():
                            deadline.reschedule(None)
                    body_read = message["type"] != "http.request" or not message.get("more_body", False)
                    return message

                await self.app(scope, timed_receive, send_noting)
        except TimeoutError:
            if not deadline.expired():
                raise
            log.info("request body not complete after %g s: answered 408", self.seconds)
            if not answered:
                body = {
                    "data": None,
                    "errors": [
                        {
                            "message": f"The request body did not arrive within {self.seconds:g} s.",
                            "extensions": {"code": "REQUEST_TIMEOUT"},
                        }
                    ],
                }
                await send(
                    {
                        "type": "http.response.start",
                        "status": 408,
                        "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
                    }
                )
                await send({"type": "http.response.body", "body": json.dumps(body).encode()})
