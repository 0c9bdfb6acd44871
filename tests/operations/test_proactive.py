"""Proactive rebalancing through the real operations: one test per rule of issue 13 (parts 4 and 5), and a
REPLENISH transfer and reorder through their whole lifecycle."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, update

from models import (
    DemandClass,
    Forecast,
    Item,
    LineReason,
    Plan,
    PlanMode,
    Priority,
    ShareRule,
    Site,
    StockLevel,
    UnmetReason,
)
from models.db import Database
from pooling import orders, rebalance, reorders, sharing, transfers
from pooling.audit import audit
from tests.factories import build_network, receive

SITES = {"LAB-N": "west", "LAB-S": "west", "LAB-E": "west", "LAB-T": "west"}


def policy(db: Database, site: str, sku: str, *, safety: int = 0, reorder_point: int = 0, up_to: int = 0) -> None:
    """A stock level's policy typed in (the forecast's job when its mode is FORECAST)."""
    with db.transaction() as s:
        site_id = s.scalar(select(Site.id).where(Site.code == site))
        item_id = s.scalar(select(Item.id).where(Item.sku == sku))
        s.execute(
            update(StockLevel)
            .where(StockLevel.site_id == site_id, StockLevel.item_id == item_id)
            .values(safety_stock=safety, reorder_point=reorder_point, order_up_to=up_to)
        )


def stocked(db: Database, site: str, sku: str, units: int, **levels: int) -> None:
    if units:
        receive(db, site, sku, units)
    else:
        receive(db, site, sku, 1)
        with db.transaction() as s:
            orders.place_order(s, site, sku, 1, Priority.NORMAL)
    policy(db, site, sku, **levels)


def plan_of(db: Database, *, proactive: bool = True, mode: PlanMode = PlanMode.POOL_FIRST) -> Plan:
    with db.transaction() as s:
        plan = rebalance.rebalance(s, "west", mode, dry_run=True, proactive=proactive)
        for t in plan.transfers:
            _ = (t.from_site.code, t.to_site.code)
        return plan


def moves(plan: Plan, reason: LineReason = LineReason.REPLENISH) -> dict[tuple[str, str], int]:
    return {(t.from_site.code, t.to_site.code): t.quantity for t in plan.transfers if t.reason == reason}


def bought(plan: Plan, reason: LineReason = LineReason.REPLENISH) -> dict[str, int]:
    return {r.site.code: r.quantity for r in plan.reorders if r.reason == reason}


def test_a_replenish_transfer_and_reorder_go_through_their_lifecycle(db: Database) -> None:
    build_network(db, SITES, {"RGT-001": "42.50", "SWB-010": "0.80"}, lanes=[("LAB-N", "LAB-S", "1.20", 6)])
    stocked(db, "LAB-N", "RGT-001", 40, safety=10, reorder_point=15)
    stocked(db, "LAB-S", "RGT-001", 2, reorder_point=8, up_to=20)
    stocked(db, "LAB-T", "SWB-010", 0, reorder_point=5, up_to=10)  # nobody has swabs: reordered

    reactive = plan_of(db, proactive=False)
    assert (reactive.transfers, reactive.reorders, reactive.units_proactive) == ([], [], 0)
    planned = plan_of(db)
    assert moves(planned) == {("LAB-N", "LAB-S"): 18} and bought(planned) == {"LAB-T": 10}
    assert planned.units_proactive == 28

    with db.transaction() as s:
        saved = rebalance.rebalance(s, "west", dry_run=False, proactive=True)
        (move,) = saved.transfers
        (order,) = saved.reorders
        assert (saved.units_proactive, move.reason, order.reason) == (28, LineReason.REPLENISH, LineReason.REPLENISH)
        move_id, order_id = move.id, order.id
    with db.transaction() as s:
        transfers.approve_transfers(s, [move_id])
        reorders.approve_reorders(s, [order_id])
    with db.transaction() as s:
        # A LOW order placed while the units travel: it backorders, and the arrival fills it first.
        placed = orders.place_order(s, "LAB-S", "RGT-001", 10, Priority.LOW)
        assert placed.backorder is not None and placed.backorder.quantity == 8
        backorder_id = placed.backorder.id
        transfers.ship_transfer(s, move_id)
    with db.transaction() as s:
        transfers.receive_transfer(s, move_id, 18)
        reorders.receive_reorder(s, order_id, 10)
    with db.reading() as s:
        from models import Backorder

        assert s.get(Backorder, backorder_id).fulfilled == 8
        levels = {(lv.site.code, lv.item.sku): (lv.on_hand, lv.reserved) for lv in s.scalars(select(StockLevel))}
        assert levels[("LAB-S", "RGT-001")] == (10, 0) and levels[("LAB-N", "RGT-001")] == (22, 0)
        assert levels[("LAB-T", "SWB-010")] == (10, 0)
        assert audit(s) == []
    # Restored: nothing more to replenish.
    assert plan_of(db).units_proactive == 0


def test_a_low_backorder_beats_any_replenishment(db: Database) -> None:
    build_network(
        db, SITES, {"RGT-001": "42.50"}, lanes=[("LAB-N", "LAB-S", "2.00", 48), ("LAB-N", "LAB-T", "0.10", 1)]
    )
    stocked(db, "LAB-N", "RGT-001", 10)
    stocked(db, "LAB-T", "RGT-001", 0, reorder_point=8, up_to=10)
    with db.transaction() as s:
        orders.place_order(s, "LAB-S", "RGT-001", 8, Priority.LOW)
    for mode in PlanMode:
        planned = plan_of(db, mode=mode)
        assert moves(planned, LineReason.BACKORDER) == {("LAB-N", "LAB-S"): 8}
        assert moves(planned) == {("LAB-N", "LAB-T"): 2} and bought(planned) == {"LAB-T": 8}


def test_never_is_never_shipped_and_an_item_rule_wins_over_the_default(db: Database) -> None:
    build_network(
        db,
        SITES,
        {"RGT-001": "42.50"},
        lanes=[("LAB-N", "LAB-S", "1.00", 6), ("LAB-E", "LAB-S", "5.00", 6)],
        purchasable=False,
    )
    stocked(db, "LAB-N", "RGT-001", 40)
    stocked(db, "LAB-E", "RGT-001", 5)
    with db.transaction() as s:
        orders.place_order(s, "LAB-S", "RGT-001", 10, Priority.CRITICAL)
        sharing.set_sharing_policy(s, "LAB-N", "RGT-001", ShareRule.NEVER)
        sharing.set_sharing_policy(s, "LAB-E", None, ShareRule.NEVER)
        sharing.set_sharing_policy(s, "LAB-E", "RGT-001", ShareRule.SURPLUS)
    planned = plan_of(db)
    assert moves(planned, LineReason.BACKORDER) == {("LAB-E", "LAB-S"): 5}
    (unmet,) = planned.unmet
    assert (unmet.site.code, unmet.quantity, unmet.reason) == ("LAB-S", 5, UnmetReason.SHARING_POLICY)


def test_keep_days_of_cover_is_kept_and_units_per_plan_capped(db: Database) -> None:
    build_network(db, SITES, {"RGT-001": "42.50"}, lanes=[("LAB-N", "LAB-S", "1.00", 6)], purchasable=False)
    stocked(db, "LAB-N", "RGT-001", 40)
    with db.transaction() as s:
        site_id, item_id = (s.scalar(select(Site.id).where(Site.code == "LAB-N")), s.scalar(select(Item.id)))
        s.add(
            Forecast(
                site_id=site_id,
                item_id=item_id,
                demand_class=DemandClass.SMOOTH,
                method="SES",
                history_days=90,
                daily_mean=2.0,
                daily_std_dev=1.0,
                lead_time_days=10,
                service_level=0.95,
                safety_stock=0,
                reorder_point=0,
                order_up_to=0,
            )
        )
        orders.place_order(s, "LAB-S", "RGT-001", 30, Priority.CRITICAL)
        sharing.set_sharing_policy(s, "LAB-N", None, ShareRule.SURPLUS, keep_days_of_cover=14)
    planned = plan_of(db)
    assert moves(planned, LineReason.BACKORDER) == {("LAB-N", "LAB-S"): 40 - 2 * 14}
    assert [(u.quantity, u.reason) for u in planned.unmet] == [(18, UnmetReason.SHARING_POLICY)]
    with db.transaction() as s:
        sharing.set_sharing_policy(s, "LAB-N", None, ShareRule.SURPLUS, keep_days_of_cover=14, max_units_per_plan=5)
    assert moves(plan_of(db), LineReason.BACKORDER) == {("LAB-N", "LAB-S"): 5}


def test_a_move_below_the_threshold_is_not_suggested(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # 30.00 a unit to move a 42.50 item: over half its price, so replenishment buys it (a backorder still pools).
    build_network(
        db, SITES, {"RGT-001": "42.50"}, lanes=[("LAB-N", "LAB-S", "30.00", 6), ("LAB-N", "LAB-T", "30.00", 6)]
    )
    stocked(db, "LAB-N", "RGT-001", 40)
    stocked(db, "LAB-S", "RGT-001", 0, reorder_point=5, up_to=6)
    with db.transaction() as s:
        orders.place_order(s, "LAB-T", "RGT-001", 3, Priority.LOW)
    planned = plan_of(db)
    assert moves(planned, LineReason.BACKORDER) == {("LAB-N", "LAB-T"): 3}
    assert moves(planned) == {} and bought(planned) == {"LAB-S": 6}
    monkeypatch.setenv("STOCKPOOL_REPLENISH_COST_SHARE", "0.9")  # the global threshold
    assert moves(plan_of(db)) == {("LAB-N", "LAB-S"): 6}
    monkeypatch.delenv("STOCKPOOL_REPLENISH_COST_SHARE")
    with db.transaction() as s:
        s.execute(update(Item).values(replenish_cost_share=Decimal("0.75")))  # the item's own threshold
    assert moves(plan_of(db)) == {("LAB-N", "LAB-S"): 6}


def test_replenishment_never_takes_a_donor_below_its_reorder_point(db: Database) -> None:
    build_network(db, SITES, {"RGT-001": "42.50"}, lanes=[("LAB-N", "LAB-S", "1.00", 6), ("LAB-N", "LAB-T", "1.00", 6)])
    stocked(db, "LAB-N", "RGT-001", 20, safety=5, reorder_point=15)
    stocked(db, "LAB-S", "RGT-001", 0, reorder_point=10, up_to=18)
    planned = plan_of(db)
    assert moves(planned) == {("LAB-N", "LAB-S"): 5} and bought(planned) == {"LAB-S": 13}
    with db.transaction() as s:
        orders.place_order(s, "LAB-T", "RGT-001", 15, Priority.LOW)  # a backorder may take it to safety stock
    planned = plan_of(db)
    assert moves(planned, LineReason.BACKORDER) == {("LAB-N", "LAB-T"): 15}
    assert moves(planned) == {} and bought(planned) == {"LAB-S": 18}


def test_the_nightly_command_rebalances_proactively_when_told(
    db: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from api.cli import main as stockpool

    build_network(db, SITES, {"RGT-001": "42.50"}, lanes=[("LAB-N", "LAB-S", "1.20", 6)])
    stocked(db, "LAB-N", "RGT-001", 40, safety=10, reorder_point=15)
    stocked(db, "LAB-S", "RGT-001", 2, reorder_point=8, up_to=20)
    runs = {}
    for name, flags, environment in (
        ("default", [], None),
        ("flag", ["--proactive"], None),
        ("nightly default", [], "1"),
        ("overridden", ["--reactive"], "1"),
    ):
        if environment is None:
            monkeypatch.delenv("STOCKPOOL_PROACTIVE", raising=False)
        else:
            monkeypatch.setenv("STOCKPOOL_PROACTIVE", environment)
        assert stockpool(["--database-url", db.url, "rebalance", "--region", "west", "--json", *flags]) == 0
        (region,) = json.loads(capsys.readouterr().out)["regions"]
        runs[name] = region["unitsProactive"]
    assert runs == {"default": 0, "flag": 18, "nightly default": 18, "overridden": 0}
