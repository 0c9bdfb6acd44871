"""Per-request context: the caller, one database session on one worker thread, and the DataLoaders.

Resolvers are async; every database call of a request runs, one at a time, on that request's own thread, in
the request's one transaction (a write transaction for mutations, committed after the answer is known, with
the idempotency record). The event loop never blocks on the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from api import outage
from api.auth import Caller
from models import Backorder, Item, Reorder, Site, Transfer, TransferAllocation
from models.db import Database
from pooling import access, expected, forecasts, history, positions

R = TypeVar("R")
log = logging.getLogger("stockpool.api")


class Context:
    def __init__(self, db: Database, caller: Caller | None, write: bool) -> None:
        self.db = db
        self.caller = caller
        self.write = write
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")
        self._session: Session | None = None
        self.failed = False  # an unexpected error happened: the request must not commit
        self.outage: BaseException | None = None  # the database was out: the request is answered 503 as a whole
        self._finished = False
        self.loaders = Loaders(self)

    @property
    def session(self) -> Session:
        """The request's session; use only inside `run` (on the request's thread)."""
        if self._session is None:
            self._session = self.db.new_session(write=self.write)
            self._session.begin()
        return self._session

    async def run(self, work: Callable[[Session], R]) -> R:
        """Run `work(session)` on the request's thread and wait for it without blocking the event loop.

        A database outage is remembered (the request then commits nothing and answers 503) and raised to the
        resolver as `DatabaseUnavailable`, a typed error, so that it is not taken for a bug."""
        try:
            return await asyncio.wrap_future(self._thread.submit(lambda: work(self.session)))
        except Exception as error:
            if not outage.is_outage(error):
                raise
            self.failed = True
            self.outage = error
            raise outage.DatabaseUnavailable() from error

    async def note_use(self) -> None:
        """Write down when the caller's token was used, when it is due (at most every access.LAST_USE_EVERY).

        A mutation does it in its own transaction (it holds the write lock already); a read in a short write
        transaction of its own, so a read request writes only when the mark is due, not on every request.
        """
        if self.caller is None or not access.use_is_due(self.caller.last_used_at):
            return
        token_id = self.caller.token_id
        if self.write:
            await self.run(lambda session: access.note_use(session, token_id))
            return

        def separately() -> None:
            try:
                with self.db.transaction() as session:
                    access.note_use(session, token_id)
            except OperationalError as error:  # the read still deserves its answer
                log.warning("could not record the last use of token %s: %s", token_id, error.orig)

        await asyncio.wrap_future(self._thread.submit(separately))

    async def finish(self, commit: bool) -> None:
        """Commit or roll back, and close; once only (after a failed commit, the rollback has already happened)."""
        if self._finished:
            return
        self._finished = True

        def close() -> None:
            if self._session is None:
                return
            try:
                if commit:
                    self._session.commit()
                else:
                    self._session.rollback()
            finally:
                self._session.close()
                self._session = None

        try:
            await asyncio.wrap_future(self._thread.submit(close))
        finally:
            self._thread.shutdown(wait=False)


class Loaders:
    """Batch the per-row lookups of one request: a page of transfers costs a few queries, not one per row."""

    def __init__(self, context: Context) -> None:
        def batch(load: Callable[[Session, list[Any]], dict[Any, Any]]) -> DataLoader[Any, Any]:
            async def load_many(keys: list[Any]) -> list[Any]:
                found = await context.run(lambda session: load(session, keys))
                return [found.get(key) for key in keys]

            return DataLoader(load_fn=load_many)

        self.site = batch(lambda s, ids: _by_id(s, Site, ids))
        self.item = batch(lambda s, ids: _by_id(s, Item, ids))
        self.backorder = batch(lambda s, ids: _by_id(s, Backorder, ids))
        self.transfer_allocations = batch(_allocations)
        self.waiting = batch(lambda s, pairs: dict.fromkeys(positions.waiting(s, pairs), True))
        self.incoming = batch(lambda s, pairs: positions.incoming(s, pairs))
        self.history = batch(_history)
        self.transfer = batch(lambda s, ids: _by_id(s, Transfer, ids))
        self.reorder = batch(lambda s, ids: _by_id(s, Reorder, ids))
        self.coverage = batch(lambda s, ids: expected.coverage(s, ids))
        self.forecast = batch(lambda s, pairs: forecasts.stored(s, pairs))


def _by_id(session: Session, model: Any, ids: Iterable[int]) -> dict[int, Any]:
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(list(set(ids)))))}


def _history(session: Session, keys: list[tuple[history.Kind, int]]) -> dict[tuple[history.Kind, int], Any]:
    found = {}
    for kind in {kind for kind, _ in keys}:
        by_id = history.entries(session, kind, [pk for k, pk in keys if k == kind])
        found.update({(kind, pk): entries for pk, entries in by_id.items()})
    return found


def _allocations(session: Session, transfer_ids: list[int]) -> dict[int, list[TransferAllocation]]:
    found: dict[int, list[TransferAllocation]] = {i: [] for i in transfer_ids}
    for row in session.scalars(
        select(TransferAllocation)
        .where(TransferAllocation.transfer_id.in_(list(set(transfer_ids))))
        .order_by(TransferAllocation.id)
    ):
        found[row.transfer_id].append(row)
    return found


__all__ = ["Context", "Loaders"]
