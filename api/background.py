"""What a serving process does besides answering: webhook deliveries (unless STOCKPOOL_DELIVER=0) and sweeping
events older than their retention window (hourly)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress

from starlette.concurrency import run_in_threadpool

from api.delivery import delivering
from models.db import Database
from pooling import events

log = logging.getLogger("stockpool.events")


def delivery_enabled() -> bool:
    return os.environ.get("STOCKPOOL_DELIVER", "1").strip().lower() not in ("0", "false", "no", "off")


async def sweep_forever(db: Database, retention: events.Retention) -> None:
    while True:
        try:
            deleted = await run_in_threadpool(events.sweep, db, retention.window)
            if deleted:
                log.info("deleted %d events older than %s", deleted, retention.window)
        except Exception as error:
            log.warning("events not swept (trying again later): %s", str(getattr(error, "orig", None) or error))
        await asyncio.sleep(retention.sweep_every)


@asynccontextmanager
async def running(db: Database) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        if delivery_enabled():
            await stack.enter_async_context(delivering(db))
        task = asyncio.create_task(sweep_forever(db, events.Retention.from_environment()))
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
