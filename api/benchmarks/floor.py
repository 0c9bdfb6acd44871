"""The floor of `stockpool bench-api`: a minimal Starlette handler that sends recorded SQL and answers with orjson.

`POST /floor/{operation}` reads the JSON body (orjson), sends on one pooled connection exactly the statements one
real GraphQL request of that operation sent (recorded by `api.benchmarks.operations`), collects every row as a
dict, rolls back (so a replayed mutation leaves nothing) and answers `{"data": {operation: rows}}` with orjson.
"""

from __future__ import annotations

import pickle
import traceback
from decimal import Decimal
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from models.db import Database


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    if hasattr(value, "value"):  # an Enum
        return value.value
    raise TypeError(type(value).__name__)


def floor_app(db: Database, replay_file: str) -> Starlette:
    with open(replay_file, "rb") as stored:
        statements: dict[str, list[tuple[str, Any, bool]]] = pickle.load(stored)

    def replay(operation: str) -> list[list[dict[str, Any]]]:
        results = []
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            for sql, parameters, many in statements[operation]:
                if sql.startswith("BEGIN"):  # SQLite: a new transaction of the request (its caller's read first)
                    raw.rollback()
                    cursor.execute(sql)
                    # Replayed rows may point at rows of the recorded run in ways SQLite checks at once (found
                    # when replaying approveTransfers); nothing is committed, so the checks wait for the rollback.
                    cursor.execute("PRAGMA defer_foreign_keys = ON")
                    continue
                # SQLAlchemy's "insertmanyvalues" reports a batch as executemany when it sends a single statement
                many = many and isinstance(parameters, list) and isinstance(parameters[0], (tuple, list, dict))
                try:
                    if many:
                        cursor.executemany(sql, parameters)
                    else:
                        cursor.execute(sql, parameters)
                except Exception as error:
                    raise RuntimeError(f"{sql} {parameters}") from error
                if cursor.description:
                    names = [column[0] for column in cursor.description]
                    results.append([dict(zip(names, row, strict=True)) for row in cursor.fetchall()])
            cursor.close()
            raw.rollback()
            driver = raw.driver_connection
            if getattr(driver, "in_transaction", False) and db.engine.dialect.name == "sqlite":
                driver.execute("ROLLBACK")  # type: ignore[union-attr]  # BEGIN was one of the statements
        finally:
            raw.close()
        return results

    async def answer(request: Request) -> Response:
        operation = request.path_params["operation"]
        orjson.loads(await request.body())
        try:
            rows = await run_in_threadpool(replay, operation)
            return Response(orjson.dumps({"data": {operation: rows}}, default=_default), media_type="application/json")
        except Exception:  # a benchmark's own failure: said in full to the harness
            return Response(traceback.format_exc(), status_code=500)

    async def ready(_: Request) -> Response:
        return Response("ok")

    return Starlette(routes=[Route("/floor/{operation}", answer, methods=["POST"]), Route("/readyz", ready)])
