"""The server's periodic alert sweep: the conditions time alone starts or ends (pooling.alerts.sweep)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Any

from starlette.concurrency import run_in_threadpool

from models.db import Database
from pooling import alerts

log = logging.getLogger("stockpool.alerts")


def sweep_once(db: Database) -> None:
    with db.transaction() as session:
        alerts.sweep(session)


def sweeping(db: Database, every: float) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """A Starlette lifespan that sweeps at start-up and then every `every` seconds."""

    async def sweep_forever() -> None:
        while True:
            try:
                await run_in_threadpool(sweep_once, db)
            except Exception as error:
                reason = str(getattr(error, "orig", None) or error).splitlines()[0]
                log.warning("alerts not swept (trying again later): %s", reason)
            await asyncio.sleep(every)

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        task = asyncio.create_task(sweep_forever())
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    return lifespan
