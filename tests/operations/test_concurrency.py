"""Two approvals that need the same donor units, at the same moment, on separate connections."""

from __future__ import annotations

import threading

from sqlalchemy import select

from models import Priority, StockLevel, Transfer, TransferStatus
from models.db import Database
from pooling import orders, rebalance, transfers
from pooling.audit import audit
from pooling.errors import ErrorCode, PoolingError
from tests.factories import build_network, receive


def two_suggestions_for_the_same_units(db: Database) -> list[int]:
    """A donor with 10 spare units and two plans, each suggesting all 10 to a different site."""
    build_network(
        db,
        {"DONOR": "west", "R1": "west", "R2": "west"},
        {"X": "50.00"},
        [("DONOR", "R1", "1.00", 6), ("DONOR", "R2", "1.00", 6)],
    )
    receive(db, "DONOR", "X", 10)
    ids = []
    for site, priority in (("R1", Priority.NORMAL), ("R2", Priority.CRITICAL)):
        with db.transaction() as s:
            orders.place_order(s, site, "X", 10, priority)
            plan = rebalance.rebalance(s, "west", skus=["X"], dry_run=False)
            # The newest plan gives the 10 units to this site (R2 is CRITICAL); keep that suggestion.
            ids.append(next(t.id for t in plan.transfers if t.to_site.code == site))
    # The second plan superseded the first's suggestion: put it back so that both can race.
    with db.transaction() as s:
        s.get(Transfer, ids[0]).status = TransferStatus.SUGGESTED
    return ids


def race(db: Database, ids: list[int]) -> list[object]:
    barrier = threading.Barrier(len(ids))
    outcomes: list[object] = [None] * len(ids)

    def approve(k: int) -> None:
        barrier.wait()
        try:
            with db.transaction() as s:
                transfers.approve_transfers(s, [ids[k]])
            outcomes[k] = "approved"
        except PoolingError as error:
            outcomes[k] = error.code

    threads = [threading.Thread(target=approve, args=(k,)) for k in range(len(ids))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_concurrent_approvals_never_reserve_the_same_units(db: Database) -> None:
    ids = two_suggestions_for_the_same_units(db)
    for _ in range(5):
        outcomes = race(db, ids)
        assert sorted(map(str, outcomes)) == sorted(["approved", str(ErrorCode.INSUFFICIENT_STOCK)])
        with db.reading() as s:
            donor = s.scalar(select(StockLevel).where(StockLevel.site.has(code="DONOR")))
            assert (donor.on_hand, donor.reserved) == (10, 10)
            statuses = sorted(s.get(Transfer, i).status for i in ids)
            assert statuses == [TransferStatus.APPROVED, TransferStatus.SUGGESTED]
            assert audit(s) == []
        # Undo the winner and race again.
        winner = next(i for i, o in zip(ids, outcomes, strict=True) if o == "approved")
        with db.transaction() as s:
            transfers.cancel_transfer(s, winner)
            s.get(Transfer, winner).status = TransferStatus.SUGGESTED


def test_on_a_second_sqlite_file_too(sqlite_file: str) -> None:
    """The default suite may run on PostgreSQL; this one always runs on a SQLite file, separate connections."""
    db = Database(sqlite_file)
    db.migrate()
    try:
        ids = two_suggestions_for_the_same_units(db)
        outcomes = race(db, ids)
        assert sorted(map(str, outcomes)) == sorted(["approved", str(ErrorCode.INSUFFICIENT_STOCK)])
    finally:
        db.dispose()
