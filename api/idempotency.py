"""`Idempotency-Key`: the first answer to a mutation request is stored with the key, per caller, in the same
transaction as the change; a retry gets that answer back unchanged, and nothing is applied twice.

Keys are kept for a retention window (default 24 hours; `STOCKPOOL_IDEMPOTENCY_RETENTION`, in seconds or with a
unit: `90m`, `24h`, `7d`). A key older than the window is never replayed, swept or not: a retry after the window
runs as a new request. Expired keys are deleted in bounded batches by the server (a background task) and by
`stockpool rebalance --commit`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from models import IdempotencyKey, utcnow
from models.db import Database

log = logging.getLogger("stockpool.idempotency")

MAX_KEY_LENGTH = 200
RETENTION_VARIABLE = "STOCKPOOL_IDEMPOTENCY_RETENTION"
DEFAULT_RETENTION = timedelta(hours=24)
SWEEP_BATCH = 1000
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class KeyReused(Exception):
    """The same key came with a different request."""


def parse_retention(value: str) -> timedelta:
    """`86400`, `86400s`, `1440m`, `24h` or `1d`: a positive duration; ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value.lower())
    seconds = float(match[1]) * _UNITS[match[2] or "s"] if match else 0
    if seconds <= 0:
        raise ValueError(
            f"the idempotency retention must be a positive number of seconds, or with a unit (90m, 24h, 7d): {value!r}"
        )
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class Retention:
    """How long keys are kept, and how often (seconds) and in what batches the server sweeps the expired ones."""

    window: timedelta = DEFAULT_RETENTION
    sweep_every: float = 3600.0
    batch: int = SWEEP_BATCH

    @classmethod
    def from_environment(cls) -> Retention:
        setting = os.environ.get(RETENTION_VARIABLE, "").strip()
        return cls(parse_retention(setting)) if setting else cls()


_configured: Retention | None = None


def configure(retention: Retention) -> None:
    """The retention this process's claims honour (the app sets it; one service per process)."""
    global _configured
    _configured = retention


def current_retention() -> Retention:
    return _configured or Retention.from_environment()


def fingerprint(body: dict[str, Any]) -> str:
    """What makes two requests the same: the operation text, its name and its variables."""
    canonical = json.dumps(
        [body.get("query"), body.get("operationName"), body.get("variables")], sort_keys=True, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(session: Session, token_id: int, key: str, request_hash: str, window: timedelta | None = None) -> str | None:
    """The stored answer for this key, or None when it is new or expired (then it is replaced when the new answer
    is stored); holds the key until the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        # Two concurrent sends of one key: the second waits here for the first to commit, then replays it.
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"{token_id}:{key}"})
    row = session.scalar(select(IdempotencyKey).where(IdempotencyKey.token_id == token_id, IdempotencyKey.key == key))
    if row is None:
        return None
    if row.created_at < utcnow() - (window or current_retention().window):
        session.delete(row)  # expired: the request runs as new and its answer takes the key
        session.flush()
        return None
    if row.request_hash != request_hash:
        raise KeyReused(key)
    return row.response


def store(session: Session, token_id: int, key: str, request_hash: str, response: str) -> None:
    session.add(IdempotencyKey(token_id=token_id, key=key, request_hash=request_hash, response=response))
    session.flush()


def sweep(db: Database, window: timedelta | None = None, batch: int = SWEEP_BATCH) -> int:
    """Delete the keys older than the window, `batch` rows per transaction (short write locks); how many."""
    cutoff = utcnow() - (window or current_retention().window)
    deleted = 0
    while True:
        with db.transaction() as session:
            # In id order, so the oldest rows (the lowest ids) come first and the scan stops after one batch.
            ids = list(
                session.scalars(
                    select(IdempotencyKey.id)
                    .where(IdempotencyKey.created_at < cutoff)
                    .order_by(IdempotencyKey.id)
                    .limit(batch)
                )
            )
            if ids:
                session.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(ids)))
        deleted += len(ids)
        if len(ids) < batch:
            return deleted


def sweeping(db: Database, retention: Retention) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """A Starlette lifespan that sweeps expired keys at start-up and then every `retention.sweep_every` seconds."""

    async def sweep_forever() -> None:
        while True:
            try:
                deleted = await run_in_threadpool(sweep, db, retention.window, retention.batch)
                if deleted:
                    log.info("deleted %d expired idempotency keys", deleted)
            except Exception as error:
                reason = str(getattr(error, "orig", None) or error).splitlines()[0]
                log.warning("idempotency keys not swept (trying again later): %s", reason)
            await asyncio.sleep(retention.sweep_every)

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
