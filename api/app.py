"""The Starlette application: `/graphql` (GraphiQL on GET), `/livez`, `/readyz`, `/metrics`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute

from api import alert_sweep, background, idempotency, metrics, outage
from api import body as request_body
from api.auth import Caller, caller_for
from api.board import board
from api.context import Context
from api.graphiql import GraphQLView, static_files
from api.graphql.schema import build_schema, schema
from api.live import Hub, LiveView
from api.observe import Observed, note_operation
from api.request import BadRequest, GraphQLRequest
from api.timeouts import DEFAULT_BODY_TIMEOUT, BodyTimeout
from models.db import Database
from pooling import alerts

log = logging.getLogger("stockpool.api")
MAX_BODY_BYTES = request_body.MAX_BODY_BYTES
GET_REFUSED = "Queries over GET are not supported: use POST (GET serves GraphiQL to a browser)."


def _error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse({"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}, status)


class GraphQLEndpoint:
    """Authenticates, opens the request's transaction, replays idempotent retries, then lets Strawberry run."""

    def __init__(self, db: Database, graphiql: bool, introspection: bool = True) -> None:
        self.db = db
        served = schema if introspection else build_schema(introspection=False)
        self.view = GraphQLView(served, graphql_ide="graphiql" if graphiql else None, allow_queries_via_get=False)
        self.graphiql = graphiql

    async def handle(self, request: Request) -> Response:
        try:
            return await self._handle(request)
        except Exception as error:  # answered here: re-raised, uvicorn would also drop the client's keep-alive
            if outage.is_outage(error):
                outage.report(error)
                return outage.response()
            log.exception("unexpected error in %s %s", request.method, request.url.path)
            return _error(500, "Unexpected error.", "INTERNAL_SERVER_ERROR")

    async def _handle(self, request: Request) -> Response:
        if request.method == "GET" and self.graphiql and _asks_for_a_page(request):
            return await self.view.run(request)
        if request.method != "POST":
            refused = _error(405, GET_REFUSED, "METHOD_NOT_ALLOWED")
            refused.headers["Allow"] = "POST"
            return refused
        # Before the body is read: its declared size, then the caller (a stranger's body is read only to be dropped).
        if request_body.declared_too_large(request):
            return request_body.unread(_error(413, "The request is too large.", "TOO_LARGE"))
        caller = await run_in_threadpool(self._caller, request.headers.get("authorization"))
        if caller is None:
            return await request_body.refuse(
                request, _error(401, "Send a valid token: Authorization: Bearer <token>.", "UNAUTHENTICATED")
            )
        request.state.caller = caller.name
        raw = await request_body.read_capped(request)
        if raw is None:
            return request_body.unread(_error(413, "The request is too large.", "TOO_LARGE"))
        request = request_body.replaying(request, raw)
        try:
            asked = GraphQLRequest.read(raw)
        except (request_body.BadBody, BadRequest) as error:
            return _error(400, str(error), "BAD_REQUEST")
        note_operation(request, asked.operation_name, asked.operations)
        if asked.is_ambiguous:
            return _error(400, "The document has several operations: name one in `operationName`.", "BAD_REQUEST")
        return await self._run(request, asked, caller)

    async def _run(self, request: Request, asked: GraphQLRequest, caller: Caller) -> Response:
        """In the request's transaction: replays an idempotent retry, or runs the operation and commits a
        mutation that ran without failing."""
        context = Context(self.db, caller, asked.is_mutation)
        committed = False
        try:
            await context.note_use()
            claim: _Claim | None = None
            key = request.headers.get("idempotency-key") if asked.is_mutation else None
            if key is not None:
                if not 0 < len(key) <= idempotency.MAX_KEY_LENGTH:
                    return _error(400, "Idempotency-Key must be 1 to 200 characters.", "BAD_REQUEST")
                claim = _Claim(caller.token_id, key, idempotency.fingerprint(asked.body))
                try:
                    stored = await context.run(claim.take)
                except idempotency.KeyReused:
                    return _error(
                        422, "This Idempotency-Key was used for a different request.", "IDEMPOTENCY_KEY_REUSED"
                    )
                if stored is not None:
                    return Response(stored, media_type="application/json", headers={"Idempotent-Replayed": "true"})
            response = await self._execute(request, context)
            if asked.is_mutation and _executed(request, response) and not context.failed:
                if claim is not None:
                    await context.run(partial(claim.keep, answer=bytes(response.body).decode()))
                await context.finish(commit=True)
                committed = True
            return response
        finally:
            if not committed:
                await context.finish(commit=False)

    async def _execute(self, request: Request, context: Context) -> Response:
        """Strawberry's answer; an outage met inside a resolver is raised so that the whole request is a 503."""
        try:
            response: Response = await self.view.run(request, context=context)  # type: ignore[call-overload]
        except Exception as error:  # Strawberry's HTTP errors (the class moved between releases)
            status = getattr(error, "status_code", None)
            if isinstance(status, int) and 400 <= status < 500:
                return _error(status, str(getattr(error, "reason", error)), "BAD_REQUEST")
            raise
        if context.outage is not None:
            raise context.outage
        return response

    def _caller(self, authorization: str | None) -> Caller | None:
        """The caller, in a short read of its own: the request's transaction (read or write) is not known yet."""
        with self.db.reading() as session:
            return caller_for(session, authorization)


@dataclass(frozen=True)
class _Claim:
    """An Idempotency-Key sent with a mutation, held for this caller's token and this request."""

    token_id: int
    key: str
    request_hash: str

    def take(self, session: Session) -> str | None:
        """The stored answer of an earlier run to replay, or None once the key is ours (KeyReused if it is not)."""
        return idempotency.claim(session, self.token_id, self.key, self.request_hash)

    def keep(self, session: Session, answer: str) -> None:
        idempotency.store(session, self.token_id, self.key, self.request_hash, answer)


def _executed(request: Request, response: Response) -> bool:
    """Refused before execution (validation, limits), data is null: nothing ran, so the key is not used up.
    The view noted it from the result (api.observe), so the answer is not parsed again to learn it."""
    return response.status_code == 200 and bool(getattr(request.state, "graphql_executed", False))


def _asks_for_a_page(request: Request) -> bool:
    """A browser opening /graphql (no operation in the URL): Strawberry's own test for serving GraphiQL."""
    accept = request.headers.get("accept", "")
    return "query" not in request.query_params and ("text/html" in accept or "*/*" in accept)


def create_app(
    db: Database,
    graphiql: bool = True,
    introspection: bool = True,
    idempotency_retention: idempotency.Retention | None = None,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
) -> Starlette:
    """`introspection=False` (production) refuses `__schema` and `__type` queries before anything runs;
    `idempotency_retention` defaults to STOCKPOOL_IDEMPOTENCY_RETENTION (24 hours); expired keys are swept;
    a request body that has not all arrived `body_timeout` seconds after the app asked for it is answered 408."""
    retention = idempotency_retention or idempotency.Retention.from_environment()
    idempotency.configure(retention)
    endpoint = GraphQLEndpoint(db, graphiql, introspection)
    hub = Hub(db)
    live = LiveView(endpoint.view.schema, db, hub)
    metrics.watch_pool(db.engine)

    async def livez(_: Request) -> Response:
        return PlainTextResponse("ok")

    def migrated_version() -> str | None:
        with db.engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()

    async def readyz(_: Request) -> Response:
        try:
            version = await run_in_threadpool(migrated_version)
        except Exception as error:
            log.warning("not ready: %s", error)
            return PlainTextResponse("database unreachable or not migrated", 503)
        return PlainTextResponse(f"ok {version}")

    async def scrape(_: Request) -> Response:
        text, content_type = await run_in_threadpool(metrics.exposition, db)
        return Response(text, headers={"Content-Type": content_type})

    return Starlette(
        routes=[
            Route("/graphql", endpoint.handle, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", live),  # subscriptions: graphql-transport-ws
            Route("/livez", livez),
            Route("/readyz", readyz),
            Route("/metrics", scrape),
            Route("/board", board),  # the web page (api/static/board)
            Mount("/static", app=static_files()),  # GraphiQL's files
        ],
        middleware=[Middleware(Observed), Middleware(BodyTimeout, seconds=body_timeout)],
        lifespan=_lifespan(db, retention, hub),
    )


def _lifespan(
    db: Database, retention: idempotency.Retention, hub: Hub
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """While serving, expired idempotency keys are swept; when the server stops, its pooled connections are closed
    (the engine stays usable: a shared one opens new connections when next asked)."""
    sweeping = idempotency.sweeping(db, retention)
    sweeping_alerts = alert_sweep.sweeping(db, alerts.current_settings().sweep_every.total_seconds())

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        try:
            async with sweeping(app), sweeping_alerts(app), hub.running(), background.running(db):
                yield
        finally:
            await run_in_threadpool(db.dispose)

    return lifespan
