"""The Starlette application: `/graphql` (GraphiQL on GET), `/livez`, `/readyz`, `/metrics`."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter

from graphql import OperationDefinitionNode, OperationType, parse
from graphql.error import GraphQLSyntaxError
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from api import idempotency
from api.auth import caller_for
from api.context import Context
from api.graphql.schema import MAX_TOKENS, build_schema, schema
from models.db import Database

log = logging.getLogger("stockpool.api")
MAX_BODY_BYTES = 1_000_000


def _error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse({"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}, status)


def _operations(query: str) -> list[OperationDefinitionNode]:
    """The document's operations, read no further than the token limit; none if it does not parse (Strawberry says)."""
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLSyntaxError:
        return []
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def _is_mutation(operations: list[OperationDefinitionNode], name: str | None) -> bool:
    for definition in operations:
        if name is None or (definition.name is not None and definition.name.value == name):
            return definition.operation == OperationType.MUTATION
    return False


class GraphQLEndpoint:
    """Authenticates, opens the request's transaction, replays idempotent retries, then lets Strawberry run."""

    def __init__(self, db: Database, graphiql: bool, introspection: bool = True) -> None:
        self.db = db
        served = schema if introspection else build_schema(introspection=False)
        self.view = GraphQL(served, graphql_ide="graphiql" if graphiql else None, allow_queries_via_get=False)
        self.graphiql = graphiql
        self.counts: Counter[str] = Counter()
        self.seconds = 0.0

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        try:
            response = await self._handle(request)
        except Exception:  # answered here: re-raised, uvicorn would also drop the client's keep-alive connection
            log.exception("unexpected error in %s %s", request.method, request.url.path)
            response = _error(500, "Unexpected error.", "INTERNAL_SERVER_ERROR")
        finally:
            self.seconds += time.perf_counter() - started
        self.counts[str(response.status_code)] += 1
        return response

    async def _handle(self, request: Request) -> Response:
        if request.method == "GET":
            return await self.view.run(request) if self.graphiql else _error(404, "Not found.", "NOT_FOUND")
        if request.method != "POST":
            return _error(405, "Use POST for GraphQL.", "METHOD_NOT_ALLOWED")
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return _error(413, "The request is too large.", "TOO_LARGE")
        try:
            body = json.loads(raw)
        except ValueError:
            return _error(400, "The body must be JSON.", "BAD_REQUEST")
        if not isinstance(body, dict):
            return _error(400, "Batched operations are not supported: send one operation per request.", "BAD_REQUEST")
        if not isinstance(body.get("query"), str) or not body["query"].strip():
            return _error(400, "Send the operation as a string in `query`.", "BAD_REQUEST")
        if not isinstance(body.get("variables") or {}, dict) or not isinstance(body.get("operationName") or "", str):
            return _error(400, "`variables` must be an object and `operationName` a string.", "BAD_REQUEST")

        operations = _operations(body["query"])
        if len(operations) > 1 and body.get("operationName") is None:  # Strawberry would run the first one alone
            return _error(400, "The document has several operations: name one in `operationName`.", "BAD_REQUEST")
        write = _is_mutation(operations, body.get("operationName"))
        context = Context(self.db, None, write)
        committed = False
        try:
            context.caller = await context.run(lambda s: caller_for(s, request.headers.get("authorization")))
            if context.caller is None:
                return _error(401, "Send a valid token: Authorization: Bearer <token>.", "UNAUTHENTICATED")
            await context.note_use()
            key = request.headers.get("idempotency-key") if write else None
            request_hash = idempotency.fingerprint(body)
            if key is not None:
                if not 0 < len(key) <= idempotency.MAX_KEY_LENGTH:
                    return _error(400, "Idempotency-Key must be 1 to 200 characters.", "BAD_REQUEST")
                token_id = context.caller.token_id
                try:
                    stored = await context.run(lambda s: idempotency.claim(s, token_id, key, request_hash))
                except idempotency.KeyReused:
                    return _error(
                        422, "This Idempotency-Key was used for a different request.", "IDEMPOTENCY_KEY_REUSED"
                    )
                if stored is not None:
                    return Response(stored, media_type="application/json", headers={"Idempotent-Replayed": "true"})
            try:
                response = await self.view.run(request, context=context)  # type: ignore[call-overload]
            except Exception as error:  # Strawberry's HTTP errors (the class moved between releases)
                status = getattr(error, "status_code", None)
                if isinstance(status, int) and 400 <= status < 500:
                    return _error(status, str(getattr(error, "reason", error)), "BAD_REQUEST")
                raise
            # Refused before execution (validation, limits): data is null; nothing ran, so the key is not used up.
            executed = response.status_code == 200 and json.loads(bytes(response.body)).get("data") is not None
            if write and executed and not context.failed:
                if key is not None:
                    answer = bytes(response.body).decode()
                    await context.run(lambda s: idempotency.store(s, token_id, key, request_hash, answer))
                await context.finish(commit=True)
                committed = True
            return response
        finally:
            if not committed:
                await context.finish(commit=False)


def create_app(db: Database, graphiql: bool = True, introspection: bool = True) -> Starlette:
    """`introspection=False` (production) refuses `__schema` and `__type` queries before anything runs."""
    endpoint = GraphQLEndpoint(db, graphiql, introspection)

    async def livez(_: Request) -> Response:
        return PlainTextResponse("ok")

    def migrated_version() -> str | None:
        with db.engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()

    async def readyz(_: Request) -> Response:
        try:
            version = await run_in_threadpool(migrated_version)
        except Exception as error:  # noqa: BLE001 - any failure means not ready
            log.warning("not ready: %s", error)
            return PlainTextResponse("database unreachable or not migrated", 503)
        return PlainTextResponse(f"ok {version}")

    async def metrics(_: Request) -> Response:
        lines = ["# TYPE stockpool_graphql_requests_total counter"]
        lines += [f'stockpool_graphql_requests_total{{status="{s}"}} {n}' for s, n in sorted(endpoint.counts.items())]
        lines += [
            "# TYPE stockpool_graphql_seconds_total counter",
            f"stockpool_graphql_seconds_total {endpoint.seconds:.6f}",
        ]
        return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")

    return Starlette(
        routes=[
            Route("/graphql", endpoint.handle, methods=["GET", "POST"]),
            Route("/livez", livez),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ]
    )
