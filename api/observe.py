"""What each HTTP request leaves behind: its id, one log line, and (for `/graphql`) its metrics.

The request id is the client's `X-Request-ID` when it is sane (1 to 128 of letters, digits and `._:-`), else a new
one; either way it is echoed in the response's `X-Request-ID`. The log line names the operation, the HTTP status,
the time taken and the caller's token name (never the token). The GraphQL endpoint tells this layer what it
learnt through `request.state`: `operation`, `caller` and `graphql_errors`.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import orjson
from graphql import OperationDefinitionNode
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.types import ExecutionResult

from api import metrics

log = logging.getLogger("stockpool.request")
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
QUIET_PATHS = ("/livez", "/readyz", "/metrics")  # probes and scrapes: logged at DEBUG


def request_id(headers: Headers) -> str:
    sent = headers.get("x-request-id")
    return sent if sent is not None and REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex


def note_operation(request: Request, name: Any, operations: list[OperationDefinitionNode]) -> None:
    """Record the operation a GraphQL request runs: the `operationName` sent, else the document's one name."""
    if not isinstance(name, str):
        named = [d.name.value for d in operations if d.name is not None]
        name = named[0] if len(operations) == 1 and named else None
    request.state.operation = name


class ObservedGraphQL(GraphQL):
    """Strawberry's view, noting whether the answer carries GraphQL errors (validation, limits, resolvers)."""

    async def process_result(self, request: Request, result: ExecutionResult) -> Any:
        request.state.graphql_errors = bool(result.errors)
        request.state.graphql_executed = result.data is not None  # refused before execution when None
        return await super().process_result(request, result)

    def encode_json(self, data: object) -> bytes:
        """orjson: the same compact JSON as `json.dumps(separators=(",", ":"))`, UTF-8 rather than escapes."""
        return orjson.dumps(data)


class Observed:
    """ASGI middleware around the whole app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id(Headers(scope=scope))
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        status = 0  # no answer went out (the client left first)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            status = status or 500  # uvicorn answers 500 when the app raises before answering
            raise
        finally:
            _record(scope, state, status, time.perf_counter() - started, rid)


def _record(scope: Scope, state: dict[str, Any], status: int, seconds: float, rid: str) -> None:
    path = scope.get("path", "")
    caller = state.get("caller")
    name = state.get("operation")
    operation = name if isinstance(name, str) and metrics.is_name(name) else None
    if path == "/graphql":
        result = metrics.outcome(status, bool(state.get("graphql_errors")))
        metrics.observe_request(metrics.operation_label(operation, caller is not None), result, seconds)
    level = logging.DEBUG if path in QUIET_PATHS else logging.WARNING if status >= 500 else logging.INFO
    if not log.isEnabledFor(level):
        return
    duration_ms = round(seconds * 1000, 1)
    log.log(
        level,
        "%s %s %s %.1f ms operation=%s caller=%s request_id=%s",
        scope.get("method"),
        path,
        status or "-",
        duration_ms,
        operation or "-",
        repr(caller) if caller is not None else "-",
        rid,
        extra={
            "request_id": rid,
            "method": scope.get("method"),
            "path": path,
            "status": status or None,
            "duration_ms": duration_ms,
            "operation": operation,
            "caller": caller,
        },
    )
