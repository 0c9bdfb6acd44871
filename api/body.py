"""The request body of `/graphql`: at most 1 MB, refused by its declared length before a byte is read, read no
further than the limit when it streams (chunked), and JSON nested no deeper than any operation needs."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Message

MAX_BODY_BYTES = 1_000_000
MAX_JSON_DEPTH = 64  # far beyond any input of the schema; deep enough nesting would exhaust Python's recursion
DRAINED_BYTES = 65_536  # a refused body up to this size is read and dropped, so that its connection stays open


class BadBody(ValueError):
    """A body that is not one JSON object of bounded depth; the message is the client's."""


def declared_too_large(request: Request, limit: int = MAX_BODY_BYTES) -> bool:
    """The `Content-Length` header announces more than the limit (the server has checked that it is a number)."""
    declared = request.headers.get("content-length", "")
    return declared.isdigit() and int(declared) > limit


async def read_capped(request: Request, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The body, or None as soon as it passes the limit (the rest is never read)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def unread(response: Response) -> Response:
    """A refusal sent before the body was read (whole): the connection closes after it, so that the client stops
    sending (kept alive, the server would have to read and discard the rest)."""
    response.headers["Connection"] = "close"
    return response


async def refuse(request: Request, response: Response) -> Response:
    """A refusal of a request whose body is not wanted. A small body (at most `DRAINED_BYTES`, declared or streamed)
    is read and dropped, and the connection stays open. A larger one is left unread and the connection closes.

    Why read it: a socket closed with bytes still unread is reset, and the reset can destroy the answer before the
    client has read it (a retried `httpx` request met "Connection reset by peer" instead of its 401). The bytes
    of a request body come in a separate write after its head, so they often arrive just after the answer."""
    try:
        if declared_too_large(request, DRAINED_BYTES) or await read_capped(request, DRAINED_BYTES) is None:
            return unread(response)
    except ClientDisconnect:  # gone: the answer goes nowhere, and that is no error of ours
        pass
    return response


def replaying(request: Request, body: bytes) -> Request:
    """The same request with its body already read, for the GraphQL view to read again."""

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


def parse_json(raw: bytes) -> Any:
    try:
        value = json.loads(raw)
    except RecursionError:
        raise BadBody(f"The body nests deeper than {MAX_JSON_DEPTH} levels.") from None
    except ValueError:
        raise BadBody("The body must be JSON.") from None
    if _depth_exceeds(value, MAX_JSON_DEPTH):
        raise BadBody(f"The body nests deeper than {MAX_JSON_DEPTH} levels.")
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, (dict, list)):
            if depth > limit:
                return True
            stack.extend((item, depth + 1) for item in (current.values() if isinstance(current, dict) else current))
    return False
