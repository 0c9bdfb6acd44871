"""The request body of `/graphql`: at most 1 MB, refused by its declared length before a byte is read, read no
further than the limit when it streams (chunked), and JSON nested no deeper than any operation needs."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

MAX_BODY_BYTES = 1_000_000
MAX_JSON_DEPTH = 64  # far beyond any input of the schema; deep enough nesting would exhaust Python's recursion


class BadBody(ValueError):
    """A body that is not one JSON object of bounded depth; the message is the client's."""


def declared_too_large(request: Request) -> bool:
    """The `Content-Length` header announces more than the limit (the server has checked that it is a number)."""
    declared = request.headers.get("content-length", "")
    return declared.isdigit() and int(declared) > MAX_BODY_BYTES


async def read_capped(request: Request) -> bytes | None:
    """The body, or None as soon as it passes the limit (the rest is never read)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def unread(response: Response) -> Response:
    """A refusal sent before the body was read (whole): the connection closes after it, so that the client stops
    sending (kept alive, the server would have to read and discard the rest)."""
    response.headers["Connection"] = "close"
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
