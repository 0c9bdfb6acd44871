"""Demand history, forecasts and stock policies on the database: history read in bulk equals the rows read one by
one; policies set from forecasts write their history and events; bad input changes nothing."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select, update

from models import (
    Alert,
    AlertKind,
    Event,
    EventKind,
    Forecast,
    HistoryEntry,
    Item,
    Movement,
    MovementReason,
    Order,
    PolicyMode,
    Priority,
    Site,
    StockLevel,
    utcnow,
)
from models.db import Database
from pooling import forecasts, orders, positions, stock
from pooling.audit import audit
from pooling.demand import demand_history, window_start
from pooling.demo import load_demo
from pooling.errors import ErrorCode
from tests.factories import build_network
from tests.operations.test_rules import refused

DAYS = 30


def _backdate(db: Database, days_ago: int, operation: object) -> None:
    """Run an operation (a function of the session) in its own transaction, then move what it wrote back in time."""
    with db.transaction() as s:
        last_order = s.scalar(select(func.max(Order.id))) or 0
        last_move = s.scalar(select(func.max(Movement.id))) or 0
        operation(s)  # type: ignore[operator]
        s.flush()
        moment = utcnow().replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=days_ago)
        s.execute(update(Order).where(Order.id > last_order).values(created_at=moment))
        s.execute(update(Movement).where(Movement.id > last_move).values(created_at=moment))


def _random_history(db: Database, seed: int) -> None:
    """Receipts, consumption and orders (some larger than the shelf) at two sites and two items over DAYS days."""
    rng = random.Random(seed)
    for days_ago in range(DAYS + 5, -1, -1):  # some before the window too
        for site in ("A", "B"):
            for sku in ("X", "Y"):
                roll = rng.random()
                if roll < 0.15:
                    amount = rng.randint(5, 30)
                    _backdate(
                        db,
                        days_ago,
                        lambda s, a=amount, si=site, sk=sku: stock.record_movement(
                            s, si, sk, a, MovementReason.RECEIPT
                        ),
                    )
                elif roll < 0.4:
                    amount = rng.randint(1, 12)
                    _backdate(
                        db,
                        days_ago,
                        lambda s, a=amount, si=site, sk=sku: orders.place_order(s, si, sk, a, Priority.NORMAL),
                    )
                elif roll < 0.6:
                    with db.reading() as s:
                        level = s.scalar(
                            select(StockLevel).join(Site).join(Item).where(Site.code == site, Item.sku == sku)
                        )
                    if level is not None and level.available > 0:
                        amount = -rng.randint(1, level.available)
                        _backdate(
                            db,
                            days_ago,
                            lambda s, a=amount, si=site, sk=sku: stock.record_movement(
                                s, si, sk, a, MovementReason.CONSUMPTION
                            ),
                        )


@pytest.fixture
def network(db: Database) -> Database:
    build_network(db, {"A": "west", "B": "west", "C": "east"}, {"X": "2.00", "Y": "3.00"})
    return db


def test_history_in_bulk_equals_the_rows_read_one_by_one(network: Database) -> None:
    db = network
    _random_history(db, seed=3)
    with db.reading() as s:
        history = demand_history(s, DAYS)
        start = window_start(DAYS)
        asked: dict[tuple[int, int, int], float] = {}
        for o in s.scalars(select(Order)):
            day = (o.created_at - start).days
            if day >= 0:
                asked[(o.site_id, o.item_id, day)] = asked.get((o.site_id, o.item_id, day), 0) + o.quantity
        end_of_day: dict[tuple[int, int], list[int]] = {}
        for m in s.scalars(select(Movement).order_by(Movement.id)):
            day = (m.created_at - start).days
            if m.reason == MovementReason.CONSUMPTION and day >= 0:
                key = (m.site_id, m.item_id, day)
                asked[key] = asked.get(key, 0) - m.quantity
            shelf = end_of_day.setdefault((m.site_id, m.item_id), [0] * DAYS)
            for d in range(max(day, 0), DAYS):
                shelf[d] += m.quantity
    assert asked, "the scenario asked for something"
    series = {(int(a), int(b)): i for i, (a, b) in enumerate(zip(history.site_ids, history.item_ids, strict=True))}
    assert set(series) == {(site, item) for site, item, _ in asked}
    for (site, item), row in series.items():
        expected = [asked.get((site, item, d), 0) for d in range(DAYS)]
        assert history.demand[row].tolist() == expected
        shelf = end_of_day.get((site, item), [0] * DAYS)
        assert history.stockout[row].tolist() == [units <= 0 for units in shelf]


def test_a_stock_level_without_history_is_no_demand_and_keeps_its_numbers(network: Database) -> None:
    db = network
    with db.transaction() as s:
        stock.set_stock_policy(s, "A", "X", 4, 6, "test", order_up_to=9)
    with db.transaction() as s:
        level = stock.set_stock_policy(s, "A", "X", actor="test", mode=PolicyMode.FORECAST, service_level=0.97)
        assert (level.safety_stock, level.reorder_point, level.order_up_to) == (4, 6, 9)
        assert (level.policy_mode, level.service_level) == (PolicyMode.FORECAST, 0.97)
    with db.reading() as s:
        site, item = s.scalars(select(Site).where(Site.code == "A")).one(), s.scalars(select(Item)).first()
        assert item is not None
        found = forecasts.series_forecast(s, site, item)
    assert (found.demand_class.value, found.method, found.daily_mean) == ("NO_DEMAND", "ZERO", 0.0)
    assert found.backtest_error is None and found.projected_stockout_at is None
    with db.transaction() as s:
        done = forecasts.recompute(s, apply=True)
    assert done.policies_changed == 0
    with db.reading() as s:
        level = s.scalars(select(StockLevel)).one()
        assert (level.safety_stock, level.reorder_point, level.order_up_to) == (4, 6, 9)
        assert s.scalar(select(Forecast.method)) == "ZERO"


def test_a_forecast_policy_is_set_from_the_forecast_with_its_history_and_event(network: Database) -> None:
    db = network
    _random_history(db, seed=5)
    with db.transaction() as s:
        level = stock.set_stock_policy(s, "A", "X", actor="alice", mode=PolicyMode.FORECAST, service_level=0.98)
        before_numbers = (level.safety_stock, level.reorder_point, level.order_up_to)
    with db.reading() as s:
        site = s.scalars(select(Site).where(Site.code == "A")).one()
        item = s.scalars(select(Item).where(Item.sku == "X")).one()
        found = forecasts.series_forecast(s, site, item)
        level = s.scalars(select(StockLevel).where(StockLevel.site_id == site.id, StockLevel.item_id == item.id)).one()
        assert found.demand_class.value != "NO_DEMAND" and found.service_level == 0.98
        assert (
            (level.safety_stock, level.reorder_point, level.order_up_to)
            == (
                found.safety_stock,
                found.reorder_point,
                found.order_up_to,
            )
            == before_numbers
        )
        entry = s.scalars(
            select(HistoryEntry).where(HistoryEntry.record_kind == "stock_level", HistoryEntry.record_id == level.id)
        ).one()
        assert (entry.actor, entry.action) == ("alice", "POLICY_CHANGED")
        assert entry.old is not None and entry.new is not None
        assert (entry.old["policy_mode"], entry.new["policy_mode"]) == ("MANUAL", "FORECAST")
        assert entry.new["service_level"] == 0.98
        event = s.scalars(select(Event).where(Event.kind == EventKind.STOCK_POLICY_CHANGED)).one()
        assert (event.kind, event.region, event.site_id, event.item_id) == (
            EventKind.STOCK_POLICY_CHANGED,
            "west",
            site.id,
            item.id,
        )
        assert audit(s) == []


def test_the_bulk_round_applies_forecast_policies_only_and_agrees_with_the_single_forecast(
    network: Database,
) -> None:
    db = network
    _random_history(db, seed=8)
    with db.transaction() as s:
        stock.set_stock_policy(s, "A", "X", 1, 2, "test")  # MANUAL: left alone
        stock.set_stock_policy(s, "B", "Y", 1, 2, "test")
    with db.transaction() as s:  # FORECAST from now on, numbers wiped behind the service's back
        s.execute(
            update(StockLevel)
            .where(StockLevel.site_id == s.scalar(select(Site.id).where(Site.code == "B")))
            .values(policy_mode=PolicyMode.FORECAST, safety_stock=0, reorder_point=0, order_up_to=0)
        )
    policy_events = select(func.count(Event.id)).where(Event.kind == EventKind.STOCK_POLICY_CHANGED)
    with db.reading() as s:
        events_before = s.scalar(policy_events)
    with db.transaction() as s:
        done = forecasts.recompute(s, region="west", apply=True)
    with db.reading() as s:
        stored = {(f.site.code, f.item.sku): f for f in s.scalars(select(Forecast))}
        assert done.series == len(stored) > 0
        changed = 0
        for level in s.scalars(select(StockLevel)):
            f = stored.get((level.site.code, level.item.sku))
            single = forecasts.series_forecast(s, level.site, level.item)
            if f is not None:
                assert (f.method, f.safety_stock, f.reorder_point, f.order_up_to) == (
                    single.method,
                    single.safety_stock,
                    single.reorder_point,
                    single.order_up_to,
                )
                assert f.daily_mean == pytest.approx(single.daily_mean)
            if level.policy_mode == PolicyMode.FORECAST and f is not None and f.demand_class.value != "NO_DEMAND":
                assert (level.safety_stock, level.reorder_point, level.order_up_to) == (
                    f.safety_stock,
                    f.reorder_point,
                    f.order_up_to,
                )
                changed += (f.safety_stock, f.reorder_point, f.order_up_to) != (0, 0, 0)
            elif (level.site.code, level.item.sku) == ("A", "X"):
                assert (level.safety_stock, level.reorder_point) == (1, 2)
        assert done.policies_changed == changed
        assert s.scalar(policy_events) == (events_before or 0) + changed
        assert audit(s) == []
    with db.transaction() as s:
        assert forecasts.recompute(s, region="west", apply=True).policies_changed == 0


@pytest.mark.parametrize(
    ("arguments", "code", "field"),
    [
        ({"mode": PolicyMode.FORECAST, "service_level": 0.5}, ErrorCode.INVALID, "service_level"),
        ({"mode": PolicyMode.FORECAST, "service_level": 1.0}, ErrorCode.INVALID, "service_level"),
        ({"mode": PolicyMode.FORECAST, "service_level": -2.0}, ErrorCode.INVALID, "service_level"),
        ({"mode": PolicyMode.FORECAST, "service_level": float("nan")}, ErrorCode.INVALID, "service_level"),
        ({"mode": PolicyMode.FORECAST, "safety_stock": 3}, ErrorCode.INVALID, "safety_stock"),
        ({"safety_stock": 3}, ErrorCode.INVALID, "reorder_point"),
        ({"safety_stock": -1, "reorder_point": 2}, ErrorCode.INVALID_QUANTITY, "safety_stock"),
        ({"safety_stock": 1, "reorder_point": 10**12}, ErrorCode.INVALID_QUANTITY, "reorder_point"),
        ({"safety_stock": 1, "reorder_point": 5, "order_up_to": 4}, ErrorCode.INVALID, "order_up_to"),
        ({"safety_stock": 1, "reorder_point": 5, "order_up_to": -4}, ErrorCode.INVALID_QUANTITY, "order_up_to"),
        ({"site": "NOPE", "safety_stock": 1, "reorder_point": 2}, ErrorCode.NOT_FOUND, "site"),
        ({"sku": "NOPE", "safety_stock": 1, "reorder_point": 2}, ErrorCode.NOT_FOUND, "sku"),
        ({"sku": "NOPE", "mode": PolicyMode.FORECAST}, ErrorCode.NOT_FOUND, "sku"),
    ],
)
def test_bad_policies_are_refused_and_change_nothing(
    network: Database, arguments: dict[str, object], code: ErrorCode, field: str
) -> None:
    db = network
    _backdate(db, 3, lambda s: orders.place_order(s, "A", "X", 4, Priority.NORMAL))
    site, sku = arguments.pop("site", "A"), arguments.pop("sku", "X")
    refused(db, lambda s: stock.set_stock_policy(s, site, sku, actor="test", **arguments), code, field)  # type: ignore[arg-type]


@pytest.mark.parametrize("days", [0, -5, 10**6])
def test_bad_days_are_refused_and_change_nothing(network: Database, days: int) -> None:
    refused(network, lambda s: forecasts.recompute(s, history_days=days), ErrorCode.INVALID, "history_days")
    refused(network, lambda s: forecasts.recompute(s, review_days=days or -1), ErrorCode.INVALID, "review_days")


def _cli(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db.url}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_the_commands_forecast_and_policies(network: Database) -> None:
    db = network
    _random_history(db, seed=13)
    with db.transaction() as s:
        stock.set_stock_policy(s, "A", "Y", actor="test", mode=PolicyMode.FORECAST)
        s.execute(update(StockLevel).where(StockLevel.policy_mode == PolicyMode.FORECAST).values(reorder_point=0))
    shown = _cli(db, "policies", "--json")
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    by_region = {r["region"]: r for r in document["regions"]}
    assert not document["applied"] and by_region["west"]["policiesToChange"] >= 1
    with db.reading() as s:
        assert s.scalar(select(func.count(Forecast.id))) == 0  # shown, not kept
    made = _cli(db, "forecast", "--region", "west", "--json")
    assert made.returncode == 0, made.stderr
    (west,) = json.loads(made.stdout)["regions"]
    assert west["series"] == sum(west["byClass"].values()) > 0
    applied = _cli(db, "policies", "--apply")
    assert applied.returncode == 0 and "FORECAST stock policies changed" in applied.stdout
    with db.reading() as s:
        assert s.scalar(select(func.min(StockLevel.reorder_point)).where(StockLevel.policy_mode == PolicyMode.FORECAST))
    assert _cli(db, "forecast", "--history-days", "0").returncode == 2


def test_the_demo_has_a_history_that_forecasts_show(db: Database) -> None:
    load_demo(db)
    with db.transaction() as s:
        done = forecasts.recompute(s, apply=False)
    assert done.series > 100
    assert done.by_class["SMOOTH"] and (done.by_class["INTERMITTENT"] + done.by_class["LUMPY"])
    with db.reading() as s:
        assert audit(s) == []
        oldest = s.scalar(select(func.min(Movement.created_at)))
        assert oldest is not None and oldest < datetime.now(UTC) - timedelta(days=80)
        assert np.isfinite(s.scalar(select(func.avg(Forecast.backtest_error))) or np.nan)


def test_the_nightly_commit_applies_forecast_policies_first(network: Database) -> None:
    db = network
    _random_history(db, seed=21)
    with db.transaction() as s:
        stock.set_stock_policy(s, "B", "X", actor="test", mode=PolicyMode.FORECAST)
        s.execute(update(StockLevel).where(StockLevel.policy_mode == PolicyMode.FORECAST).values(reorder_point=0))
    nightly = _cli(db, "rebalance", "--region", "west", "--commit", "--json")
    assert nightly.returncode in (0, 3), nightly.stderr
    (west,) = json.loads(nightly.stdout)["regions"]
    assert west["forecast"]["series"] > 0 and west["forecast"]["policiesChanged"] >= 1
    with db.reading() as s:
        level = s.scalars(select(StockLevel).where(StockLevel.policy_mode == PolicyMode.FORECAST)).one()
        stored = s.scalars(
            select(Forecast).where(Forecast.site_id == level.site_id, Forecast.item_id == level.item_id)
        ).one()
        assert level.reorder_point == stored.reorder_point > 0
        entry = s.scalars(
            select(HistoryEntry)
            .where(HistoryEntry.record_kind == "stock_level", HistoryEntry.record_id == level.id)
            .order_by(HistoryEntry.id.desc())
        ).first()
        assert entry is not None and (entry.actor, entry.action) == ("nightly", "POLICY_CHANGED")


def test_the_round_raises_and_closes_stockout_risk_from_the_new_forecasts(network: Database) -> None:
    """Forecasts are written in bulk (past the commit hook): the round itself evaluates their levels' alerts."""
    db = network
    _random_history(db, seed=3)
    with db.transaction() as s:
        forecasts.recompute(s, apply=False)
    with db.reading() as s:
        at_risk = set()
        for f in s.scalars(select(Forecast)):
            level = s.scalar(select(StockLevel).where(StockLevel.site_id == f.site_id, StockLevel.item_id == f.item_id))
            assert level is not None
            position = level.available + positions.incoming(s, [(f.site_id, f.item_id)]).get((f.site_id, f.item_id), 0)
            if f.daily_mean > 0 and position < f.daily_mean * f.item.supplier_lead_time_days:
                at_risk.add((f.site_id, f.item_id))
        risky = s.execute(
            select(Alert.site_id, Alert.item_id).where(Alert.kind == AlertKind.STOCKOUT_RISK, Alert.closed_at.is_(None))
        ).all()
        assert at_risk and set(risky) == at_risk
    with db.transaction() as s:  # plenty arrives everywhere: the next round closes them all
        for site, sku in (("A", "X"), ("A", "Y"), ("B", "X"), ("B", "Y")):
            stock.record_movement(s, site, sku, 10_000, MovementReason.RECEIPT)
    with db.transaction() as s:
        forecasts.recompute(s, apply=False)
    with db.reading() as s:
        still = select(func.count(Alert.id)).where(Alert.kind == AlertKind.STOCKOUT_RISK, Alert.closed_at.is_(None))
        assert s.scalar(still) == 0
