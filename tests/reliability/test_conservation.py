"""Conservation under random load (a bank test): 8 workers run random operations, then no unit has appeared or vanished.

Each worker draws its operations from `random.Random(seed + worker)` and runs each in its own transaction on its
own connection. Refusals the rules foresee (not enough stock, a record another worker has moved on, a stale
suggestion, a full lane) are counted; anything else fails the test. Afterwards, per item, what came from outside
equals what is on hand, in transit, consumed, damaged, filled and lost (plus the count adjustments), computed once
from the movements ledger and once from the records themselves (stock levels, transfers, orders, backorders,
reorders, and what the workers know they did), and the two must agree term by term. Then per (site, item) on hand
equals the ledger and never went below zero; each transfer's movements match its state (a received one shipped =
received + lost); each suggestion serves backorders of its own item and recipient; each backorder is filled by its
own movements and covered by exactly what is on its way to it; and `audit` finds nothing.

The seed is printed; `STOCKPOOL_LOAD_SEED=<seed>` replays the same choices (the interleaving of the threads is
the operating system's).
"""

from __future__ import annotations

import os
import random
import threading
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import timedelta

import pytest
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from models import (
    Backorder,
    BackorderStatus,
    Item,
    Movement,
    MovementReason,
    Order,
    PlanMode,
    Priority,
    Reorder,
    ReorderAllocation,
    ReorderStatus,
    StockLevel,
    Transfer,
    TransferAllocation,
    TransferStatus,
    utcnow,
)
from models.db import Database
from pooling import network, orders, rebalance, reorders, stock, transfers
from pooling.audit import audit
from pooling.backorders import WAITING
from pooling.errors import ErrorCode, PoolingError
from pooling.transfers import COMMITTED

SEED = int(os.environ.get("STOCKPOOL_LOAD_SEED", "20240611"))
WORKERS = 8
OPERATIONS = 500
REGIONS = {"north": ["N1", "N2", "N3"], "south": ["S1", "S2"]}
SITES = [code for codes in REGIONS.values() for code in codes]
SKUS = [f"X{k:02}" for k in range(20)]
NOT_PURCHASABLE = {"X18", "X19"}  # what pooling cannot cover stays unmet
MIN_DONE = 10  # successes each kind of operation must reach, or the run proves little

# The refusals a correct service gives under this load; any other error is a failure.
EXPECTED_REFUSALS = {
    ErrorCode.INSUFFICIENT_STOCK,
    ErrorCode.INVALID_STATE,
    ErrorCode.STALE_SUGGESTION,
    ErrorCode.LANE_CAPACITY_EXCEEDED,
}

DONE, DONE_WITH_LOSS, NOTHING_TO_DO = "done", "done with loss", "nothing to do"


@dataclass
class Tally:
    """What the workers know they committed, per sku: the only record of site movements besides the ledger."""

    receipts: Counter[str] = field(default_factory=Counter)
    consumed: Counter[str] = field(default_factory=Counter)
    damaged: Counter[str] = field(default_factory=Counter)
    adjusted: Counter[str] = field(default_factory=Counter)
    purchased: Counter[str] = field(default_factory=Counter)
    shipped: Counter[str] = field(default_factory=Counter)
    lost: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        for name in (f.name for f in fields(self)):
            getattr(self, name).update(getattr(other, name))


@dataclass(frozen=True)
class Flow:
    """Where an item's units went. Balanced: outside + adjusted == on_hand + in_transit + consumed + ... + lost."""

    outside: int  # RECEIPT and PURCHASE_RECEIPT
    adjusted: int  # net COUNT_ADJUSTMENT, signed
    on_hand: int
    in_transit: int  # shipped, not yet received
    consumed: int
    damaged: int
    filled: int  # handed to orders, at once or from a backorder
    lost: int  # shipped but never arrived

    @property
    def balanced(self) -> bool:
        gone = self.on_hand + self.in_transit + self.consumed + self.damaged + self.filled + self.lost
        return self.outside + self.adjusted == gone


class Worker:
    """One client: `OPERATIONS` random operations, each in its own transaction, from its own random stream."""

    def __init__(self, db: Database, number: int) -> None:
        self.db = db
        self.number = number
        self.rng = random.Random(SEED + number)
        self.actor = f"worker-{number}"
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self.tally = Tally()
        self.failure: str | None = None
        self.operations: dict[str, tuple[int, Callable[[], str]]] = {
            "receipt": (12, self.receipt),
            "consumption": (10, self.consumption),
            "damage": (3, self.damage),
            "count_adjustment": (4, self.count_adjustment),
            "place_order": (16, self.place_order),
            "cancel_backorder": (3, self.cancel_backorder),
            "rebalance": (5, self.rebalance),
            "approve_transfers": (12, self.approve_transfers),
            "ship_transfer": (10, self.ship_transfer),
            "receive_transfer": (10, self.receive_transfer),
            "cancel_transfer": (3, self.cancel_transfer),
            "approve_reorders": (4, self.approve_reorders),
            "receive_reorder": (4, self.receive_reorder),
        }

    def run(self) -> None:
        kinds = list(self.operations)
        weights = [self.operations[k][0] for k in kinds]
        for step in range(OPERATIONS):
            kind = self.rng.choices(kinds, weights)[0]
            try:
                outcome = self.operations[kind][1]()
            except PoolingError as error:
                if error.code not in EXPECTED_REFUSALS:
                    self.failure = f"worker {self.number}, step {step}, {kind}: unexpected {error!r}"
                    return
                outcome = error.code.value
            except Exception:
                self.failure = f"worker {self.number}, step {step}, {kind}:\n{traceback.format_exc()}"
                return
            self.outcomes[(kind, outcome)] += 1

    # -- choosing -------------------------------------------------------------------------------------------------

    def site_and_sku(self) -> tuple[str, str]:
        return self.rng.choice(SITES), self.rng.choice(SKUS)

    def pick(self, query: Select, k: int = 1) -> list:
        """Up to k random rows of a query, read in a short session of their own."""
        with self.db.reading() as s:
            rows = s.execute(query).all()
        return self.rng.sample(rows, min(k, len(rows)))

    # -- operations: each returns DONE (or DONE_WITH_LOSS) or NOTHING_TO_DO, or raises a refusal ------------------

    def movement(self, reason: MovementReason, quantity: int) -> str:
        site, sku = self.site_and_sku()
        with self.db.transaction() as s:
            stock.record_movement(s, site, sku, quantity, reason, actor=self.actor)
        counter = {
            MovementReason.RECEIPT: self.tally.receipts,
            MovementReason.CONSUMPTION: self.tally.consumed,
            MovementReason.DAMAGE: self.tally.damaged,
            MovementReason.COUNT_ADJUSTMENT: self.tally.adjusted,
        }[reason]
        counter[sku] += -quantity if reason in (MovementReason.CONSUMPTION, MovementReason.DAMAGE) else quantity
        return DONE

    def receipt(self) -> str:
        return self.movement(MovementReason.RECEIPT, self.rng.randint(1, 25))

    def consumption(self) -> str:
        return self.movement(MovementReason.CONSUMPTION, -self.rng.randint(1, 8))

    def damage(self) -> str:
        return self.movement(MovementReason.DAMAGE, -self.rng.randint(1, 3))

    def count_adjustment(self) -> str:
        return self.movement(MovementReason.COUNT_ADJUSTMENT, self.rng.choice([-1, 1]) * self.rng.randint(1, 5))

    def place_order(self) -> str:
        site, sku = self.site_and_sku()
        quantity, priority = self.rng.randint(1, 15), self.rng.choice(list(Priority))
        needed_by = utcnow() + timedelta(days=self.rng.randint(1, 20)) if self.rng.random() < 0.4 else None
        with self.db.transaction() as s:
            orders.place_order(s, site, sku, quantity, priority, needed_by=needed_by, actor=self.actor)
        return DONE

    def cancel_backorder(self) -> str:
        chosen = self.pick(select(Backorder.id).where(Backorder.status.in_(WAITING)).order_by(Backorder.id))
        if not chosen:
            return NOTHING_TO_DO
        with self.db.transaction() as s:
            orders.cancel_backorder(s, chosen[0].id, reason="no longer needed", actor=self.actor)
        return DONE

    def rebalance(self) -> str:
        region = self.rng.choice(sorted(REGIONS))
        skus = self.rng.sample(SKUS, self.rng.randint(1, 4)) if self.rng.random() < 0.5 else None
        mode = self.rng.choice(list(PlanMode))
        with self.db.transaction() as s:
            rebalance.rebalance(s, region, mode, skus=skus, dry_run=False, actor=self.actor)
        return DONE

    def approve_transfers(self) -> str:
        suggested = select(Transfer.id).where(Transfer.status == TransferStatus.SUGGESTED).order_by(Transfer.id)
        chosen = self.pick(suggested, k=self.rng.choice([1, 1, 1, 2, 3]))
        if not chosen:
            return NOTHING_TO_DO
        with self.db.transaction() as s:
            transfers.approve_transfers(s, [row.id for row in chosen], actor=self.actor)
        return DONE

    def ship_transfer(self) -> str:
        approved = select(Transfer.id).where(Transfer.status == TransferStatus.APPROVED).order_by(Transfer.id)
        chosen = self.pick(approved)
        if not chosen:
            return NOTHING_TO_DO
        with self.db.transaction() as s:
            transfer = transfers.ship_transfer(s, chosen[0].id, actor=self.actor)
            sku, quantity = transfer.item.sku, transfer.quantity
        self.tally.shipped[sku] += quantity
        return DONE

    def receive_transfer(self) -> str:
        shipped = (
            select(Transfer.id, Transfer.quantity)
            .where(Transfer.status == TransferStatus.SHIPPED)
            .order_by(Transfer.id)
        )
        chosen = self.pick(shipped)
        if not chosen:
            return NOTHING_TO_DO
        (transfer_id, quantity), lose = chosen[0], 0
        if self.rng.random() < 0.35:
            lose = self.rng.randint(1, quantity)
        with self.db.transaction() as s:
            transfer = transfers.receive_transfer(s, transfer_id, quantity - lose, actor=self.actor)
            sku, lost = transfer.item.sku, transfer.quantity_lost
        assert lost == lose
        self.tally.lost[sku] += lost
        return DONE_WITH_LOSS if lost else DONE

    def cancel_transfer(self) -> str:
        approved = select(Transfer.id).where(Transfer.status == TransferStatus.APPROVED).order_by(Transfer.id)
        chosen = self.pick(approved)
        if not chosen:
            return NOTHING_TO_DO
        with self.db.transaction() as s:
            transfers.cancel_transfer(s, chosen[0].id, reason="plans changed", actor=self.actor)
        return DONE

    def approve_reorders(self) -> str:
        suggested = select(Reorder.id).where(Reorder.status == ReorderStatus.SUGGESTED).order_by(Reorder.id)
        chosen = self.pick(suggested, k=self.rng.choice([1, 1, 2]))
        if not chosen:
            return NOTHING_TO_DO
        with self.db.transaction() as s:
            reorders.approve_reorders(s, [row.id for row in chosen], actor=self.actor)
        return DONE

    def receive_reorder(self) -> str:
        ordered = (
            select(Reorder.id, Reorder.quantity).where(Reorder.status == ReorderStatus.ORDERED).order_by(Reorder.id)
        )
        chosen = self.pick(ordered)
        if not chosen:
            return NOTHING_TO_DO
        reorder_id, quantity = chosen[0]
        delivered = self.rng.choice([quantity, quantity, quantity, max(quantity - 2, 0), quantity + 3])
        with self.db.transaction() as s:
            reorder = reorders.receive_reorder(s, reorder_id, delivered, actor=self.actor)
            sku = reorder.item.sku
        self.tally.purchased[sku] += delivered
        return DONE


def build_world(db: Database, rng: random.Random) -> Tally:
    """Two regions (full mesh of lanes, two with a small capacity), 20 items, opening stock and safety stocks."""
    tally = Tally()
    with db.transaction() as s:
        for region, codes in REGIONS.items():
            for code in codes:
                network.create_site(s, code, f"{code} laboratory", region, 51.0, 0.0)
        for sku in SKUS:
            cost = f"{rng.randint(5, 60)}.00"
            network.create_item(
                s, sku, f"{sku} reagent", cost, supplier_lead_time_days=7, purchasable=sku not in NOT_PURCHASABLE
            )
        for codes in REGIONS.values():
            for origin in codes:
                for destination in codes:
                    if origin != destination:
                        capacity = 12 if (origin, destination) in (("N1", "N2"), ("S2", "S1")) else None
                        network.set_lane(
                            s, origin, destination, f"{rng.randint(1, 4)}.00", rng.randint(4, 72), capacity
                        )
    with db.transaction() as s:
        for site in SITES:
            for sku in SKUS:
                opening = rng.randint(0, 30)
                if opening:
                    stock.record_movement(s, site, sku, opening, MovementReason.RECEIPT, actor="opening")
                    tally.receipts[sku] += opening
                if rng.random() < 0.3:
                    stock.set_stock_policy(s, site, sku, rng.randint(1, 4), rng.randint(5, 10))
    return tally


# -- the books, two ways ------------------------------------------------------------------------------------------


def ledger_by_reason(s: Session) -> dict[str, Counter[MovementReason]]:
    totals: dict[str, Counter[MovementReason]] = defaultdict(Counter)
    query = select(Item.sku, Movement.reason, Movement.quantity).join(Item, Item.id == Movement.item_id)
    for sku, reason, quantity in s.execute(query):
        totals[sku][MovementReason(reason)] += quantity
    return totals


def flows_from_ledger(s: Session) -> dict[str, Flow]:
    flows = {}
    totals = ledger_by_reason(s)
    assert set(totals) <= set(SKUS), set(totals)
    for sku in SKUS:
        r = totals[sku]
        flows[sku] = Flow(
            outside=r[MovementReason.RECEIPT] + r[MovementReason.PURCHASE_RECEIPT],
            adjusted=r[MovementReason.COUNT_ADJUSTMENT],
            on_hand=sum(r.values()),
            in_transit=-(r[MovementReason.TRANSFER_OUT] + r[MovementReason.TRANSFER_IN]),
            consumed=-r[MovementReason.CONSUMPTION],
            damaged=-r[MovementReason.DAMAGE],
            filled=-(r[MovementReason.ORDER_FILL] + r[MovementReason.BACKORDER_FILL]),
            lost=-r[MovementReason.TRANSFER_LOSS],
        )
    return flows


def flows_from_records(s: Session, tally: Tally) -> dict[str, Flow]:
    """The same figures without reading a single movement: stock levels, transfers, orders, reorders, the tally."""
    sku_of = dict(s.execute(select(Item.id, Item.sku)).all())
    on_hand: Counter[str] = Counter()
    for item_id, quantity in s.execute(select(StockLevel.item_id, StockLevel.on_hand)):
        on_hand[sku_of[item_id]] += quantity
    in_transit: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    for t in s.scalars(select(Transfer).where(Transfer.status.in_([TransferStatus.SHIPPED, TransferStatus.RECEIVED]))):
        if t.status == TransferStatus.SHIPPED:
            in_transit[sku_of[t.item_id]] += t.quantity
        else:
            lost[sku_of[t.item_id]] += t.quantity - t.quantity_received
    filled: Counter[str] = Counter()
    for item_id, quantity in s.execute(select(Order.item_id, Order.filled_quantity)):
        filled[sku_of[item_id]] += quantity
    for item_id, quantity in s.execute(select(Backorder.item_id, Backorder.fulfilled)):
        filled[sku_of[item_id]] += quantity
    purchased: Counter[str] = Counter()
    for item_id, quantity in s.execute(
        select(Reorder.item_id, Reorder.quantity_received).where(Reorder.status == ReorderStatus.RECEIVED)
    ):
        purchased[sku_of[item_id]] += quantity
    return {
        sku: Flow(
            outside=tally.receipts[sku] + purchased[sku],
            adjusted=tally.adjusted[sku],
            on_hand=on_hand[sku],
            in_transit=in_transit[sku],
            consumed=tally.consumed[sku],
            damaged=tally.damaged[sku],
            filled=filled[sku],
            lost=lost[sku],
        )
        for sku in SKUS
    }


def check_books(s: Session, tally: Tally) -> None:
    """Per item conservation, per (site, item) the ledger, per transfer and backorder their movements."""
    from_ledger, from_records = flows_from_ledger(s), flows_from_records(s, tally)
    for sku in SKUS:
        books = f"{sku}\n  ledger:  {from_ledger[sku]}\n  records: {from_records[sku]}"
        assert from_records[sku].balanced, books
        assert from_ledger[sku] == from_records[sku], books
        assert from_ledger[sku].balanced, books

    # The workers' own account of deliveries, shipments and losses agrees with the records.
    purchased = {sku: f.outside - tally.receipts[sku] for sku, f in from_records.items()}
    assert {sku: n for sku, n in purchased.items() if n} == +tally.purchased
    shipped: Counter[str] = Counter()
    for sku, quantity in s.execute(
        select(Item.sku, Transfer.quantity)
        .join(Item, Item.id == Transfer.item_id)
        .where(Transfer.status.in_([TransferStatus.SHIPPED, TransferStatus.RECEIVED]))
    ):
        shipped[sku] += quantity
    assert +shipped == +tally.shipped
    assert {sku: f.lost for sku, f in from_records.items() if f.lost} == +tally.lost

    # On hand equals the ledger for every (site, item); stock is never negative, not even between movements.
    running: Counter[tuple[int, int]] = Counter()
    for site_id, item_id, quantity, movement_id in s.execute(
        select(Movement.site_id, Movement.item_id, Movement.quantity, Movement.id).order_by(Movement.id)
    ):
        running[(site_id, item_id)] += quantity
        assert running[(site_id, item_id)] >= 0, f"movement {movement_id} takes ({site_id}, {item_id}) below zero"
    reserved_out: Counter[tuple[int, int]] = Counter()
    for site_id, item_id, quantity in s.execute(
        select(Transfer.from_site_id, Transfer.item_id, Transfer.quantity).where(
            Transfer.status == TransferStatus.APPROVED
        )
    ):
        reserved_out[(site_id, item_id)] += quantity
    levels = s.scalars(select(StockLevel)).all()
    assert len(levels) == len(SITES) * len(SKUS)
    for level in levels:
        pair = (level.site_id, level.item_id)
        assert level.on_hand == running[pair], (pair, level.on_hand, running[pair])
        assert 0 <= level.reserved <= level.on_hand, (pair, level.on_hand, level.reserved)
        assert level.reserved == reserved_out[pair], (pair, level.reserved, reserved_out[pair])
    assert set(running) <= {(level.site_id, level.item_id) for level in levels}

    # Every transfer's movements match its state; a closed one shipped = received + lost.
    moved: dict[int, Counter[MovementReason]] = defaultdict(Counter)
    for transfer_id, reason, quantity in s.execute(
        select(Movement.transfer_id, Movement.reason, Movement.quantity).where(Movement.transfer_id.is_not(None))
    ):
        moved[transfer_id][MovementReason(reason)] += quantity
    for t in s.scalars(select(Transfer)):
        m = moved[t.id]
        out, came, lost = (
            -m[MovementReason.TRANSFER_OUT],
            m[MovementReason.TRANSFER_IN],
            -m[MovementReason.TRANSFER_LOSS],
        )
        assert set(m) <= {MovementReason.TRANSFER_OUT, MovementReason.TRANSFER_IN, MovementReason.TRANSFER_LOSS}, m
        if t.status == TransferStatus.RECEIVED:
            assert out == came == t.quantity == t.quantity_received + lost, (t.id, out, came, lost, t.quantity)
        elif t.status == TransferStatus.SHIPPED:
            assert (out, came, lost, t.quantity_received) == (t.quantity, 0, 0, None), t.id
        else:
            assert (out, came, lost, t.quantity_received) == (0, 0, 0, None), (t.id, t.status)

    # Every suggestion serves backorders of its own item at its own recipient.
    for kind, rows in (
        (
            "transfer",
            select(
                Transfer.id, Transfer.to_site_id, Transfer.item_id, Backorder.id, Backorder.site_id, Backorder.item_id
            )
            .join(TransferAllocation, TransferAllocation.transfer_id == Transfer.id)
            .join(Backorder, Backorder.id == TransferAllocation.backorder_id),
        ),
        (
            "reorder",
            select(Reorder.id, Reorder.site_id, Reorder.item_id, Backorder.id, Backorder.site_id, Backorder.item_id)
            .join(ReorderAllocation, ReorderAllocation.reorder_id == Reorder.id)
            .join(Backorder, Backorder.id == ReorderAllocation.backorder_id),
        ),
    ):
        wrong = [row for row in s.execute(rows) if (row[1], row[2]) != (row[4], row[5])]
        assert wrong == [], f"{kind} (id, site, item) serving a backorder (id, site, item) elsewhere: {wrong}"

    # Every backorder: filled by its own movements, covered exactly by what is on its way to it.
    fills: Counter[int] = Counter()
    order_fills: Counter[int] = Counter()
    for backorder_id, order_id, reason, quantity in s.execute(
        select(Movement.backorder_id, Movement.order_id, Movement.reason, Movement.quantity).where(
            Movement.reason.in_([MovementReason.BACKORDER_FILL, MovementReason.ORDER_FILL])
        )
    ):
        if reason == MovementReason.BACKORDER_FILL:
            fills[backorder_id] -= quantity
        else:
            order_fills[order_id] -= quantity
    on_its_way: Counter[int] = Counter()
    for backorder_id, quantity in s.execute(
        select(TransferAllocation.backorder_id, TransferAllocation.quantity)
        .join(Transfer, Transfer.id == TransferAllocation.transfer_id)
        .where(Transfer.status.in_(COMMITTED))
    ):
        on_its_way[backorder_id] += quantity
    for backorder_id, quantity in s.execute(
        select(ReorderAllocation.backorder_id, ReorderAllocation.quantity)
        .join(Reorder, Reorder.id == ReorderAllocation.reorder_id)
        .where(Reorder.status == ReorderStatus.ORDERED)
    ):
        on_its_way[backorder_id] += quantity
    for b in s.scalars(select(Backorder)):
        assert b.fulfilled == fills[b.id], (b.id, b.fulfilled, fills[b.id])
        assert b.covered == on_its_way[b.id], (b.id, b.covered, on_its_way[b.id])
        assert 0 <= b.fulfilled + b.covered <= b.quantity, b.id
        assert (b.status == BackorderStatus.FULFILLED) == (b.fulfilled == b.quantity), (b.id, b.status)
    backordered = dict(s.execute(select(Backorder.order_id, Backorder.quantity)).all())
    for o in s.scalars(select(Order)):
        assert o.filled_quantity == order_fills[o.id], (o.id, o.filled_quantity, order_fills[o.id])
        assert o.quantity == o.filled_quantity + backordered.get(o.id, 0), o.id


def report(outcomes: Counter[tuple[str, str]], seconds: float, dialect: str) -> str:
    lines = [f"conservation under random load: seed {SEED} ({dialect}, {seconds:.1f} s)"]
    for kind in sorted({k for k, _ in outcomes}):
        parts = ", ".join(f"{outcome} {n}" for (k, outcome), n in sorted(outcomes.items()) if k == kind)
        lines.append(f"  {kind:<18} {parts}")
    return "\n".join(lines)


@pytest.mark.slow
def test_no_unit_appears_or_vanishes_under_random_concurrent_load(db: Database) -> None:
    print(f"\nSTOCKPOOL_LOAD_SEED={SEED}")
    tally = build_world(db, random.Random(SEED))
    workers = [Worker(db, k) for k in range(WORKERS)]
    threads = [threading.Thread(target=w.run, name=f"worker-{w.number}") for w in workers]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    seconds = time.perf_counter() - started
    assert not any(thread.is_alive() for thread in threads), f"a worker is stuck (seed {SEED})"

    outcomes: Counter[tuple[str, str]] = Counter()
    for worker in workers:
        outcomes.update(worker.outcomes)
        tally.add(worker.tally)
    print(report(outcomes, seconds, db.engine.dialect.name))
    failures = [w.failure for w in workers if w.failure]
    assert failures == [], f"seed {SEED}:\n" + "\n".join(failures)
    assert outcomes.total() == WORKERS * OPERATIONS

    # Every kind of operation really happened, losses in transit included.
    done: Counter[str] = Counter()
    for (kind, outcome), n in outcomes.items():
        if outcome in (DONE, DONE_WITH_LOSS):
            done[kind] += n
    thin = {kind: done[kind] for kind in workers[0].operations if done[kind] < MIN_DONE}
    assert thin == {}, f"too few successes to prove anything (seed {SEED})"
    assert outcomes[("receive_transfer", DONE_WITH_LOSS)] >= MIN_DONE
    assert outcomes[("receive_transfer", DONE)] >= MIN_DONE

    with db.reading() as s:
        check_books(s, tally)
        assert audit(s) == []
