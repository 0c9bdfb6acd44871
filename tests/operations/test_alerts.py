"""Alerts through the real operations: each kind raised when its condition starts and closed when it ends, never
duplicated (two concurrent transactions included), with its ALERT_RAISED / ALERT_CLOSED events written in the same
transaction; the kinds that time alone starts through the sweep with a controlled clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import (
    Alert,
    AlertKind,
    AlertSeverity,
    DemandClass,
    Event,
    EventKind,
    Forecast,
    Item,
    MovementReason,
    PlanMode,
    Priority,
    Reorder,
    Site,
    Transfer,
    utcnow,
)
from models.db import Database
from pooling import alerts, orders, rebalance, reorders, stock, transfers
from pooling.alerts import AlertSettings
from tests.factories import build_network, receive

SETTINGS = AlertSettings(
    suggestion_age=timedelta(hours=24),
    overdue_grace=timedelta(hours=12),
    backorder_rate_threshold=0.5,
    backorder_rate_period=timedelta(days=7),
    backorder_rate_min_orders=3,
)
SECOND = timedelta(seconds=1)


@pytest.fixture(autouse=True)
def settings() -> Iterator[AlertSettings]:
    alerts.configure(SETTINGS)
    yield SETTINGS
    alerts.configure(None)


@pytest.fixture
def network(db: Database) -> Database:
    build_network(
        db,
        sites={"LAB-N": "west", "LAB-S": "west", "LAB-E": "east"},
        items={"RGT": "10.00", "SWB": "1.00"},
        lanes=[("LAB-N", "LAB-S", "1.00", 6)],
    )
    return db


def open_alerts(db: Database, kind: AlertKind | None = None) -> list[Alert]:
    with db.reading() as s:
        query = select(Alert).where(Alert.closed_at.is_(None)).order_by(Alert.id)
        return list(s.scalars(query if kind is None else query.where(Alert.kind == kind)))


def kinds_open(db: Database) -> list[AlertKind]:
    return sorted(a.kind for a in open_alerts(db))


def check_outbox(db: Database) -> None:
    """Every alert has exactly one ALERT_RAISED event, every closed one exactly one ALERT_CLOSED, and no event
    names an alert that does not exist: written with the change, in its transaction."""
    with db.reading() as s:
        alerts_by_id = {a.id: a for a in s.scalars(select(Alert))}
        raised = s.scalars(select(Event.alert_id).where(Event.kind == EventKind.ALERT_RAISED)).all()
        closed = s.scalars(select(Event.alert_id).where(Event.kind == EventKind.ALERT_CLOSED)).all()
    assert sorted(raised) == sorted(alerts_by_id)
    assert sorted(closed) == sorted(pk for pk, a in alerts_by_id.items() if a.closed_at is not None)


def count(db: Database, kind: AlertKind) -> int:
    with db.reading() as s:
        return int(s.scalar(select(func.count()).select_from(Alert).where(Alert.kind == kind)) or 0)


def test_stock_level_alerts_start_and_end_with_the_stock(network: Database) -> None:
    db = network
    with db.transaction() as s:
        stock.set_stock_policy(s, "LAB-N", "RGT", safety_stock=5, reorder_point=8)
    # A policy set on an empty shelf: below the reorder point, and stocked out.
    assert kinds_open(db) == [AlertKind.BELOW_REORDER_POINT, AlertKind.STOCKOUT]
    receive(db, "LAB-N", "RGT", 10)
    assert kinds_open(db) == []
    with db.transaction() as s:
        stock.record_movement(s, "LAB-N", "RGT", -3, MovementReason.CONSUMPTION)
    (below,) = open_alerts(db)
    assert (below.kind, below.severity) == (AlertKind.BELOW_REORDER_POINT, AlertSeverity.WARNING)
    assert "LAB-N" in below.message and "RGT" in below.message and "reorder point of 8" in below.message
    with db.transaction() as s:
        stock.record_movement(s, "LAB-N", "RGT", -1, MovementReason.CONSUMPTION)
    assert kinds_open(db) == [AlertKind.BELOW_REORDER_POINT]  # still open: the same alert, not a second one
    assert open_alerts(db)[0].id == below.id
    with db.transaction() as s:
        stock.record_movement(s, "LAB-N", "RGT", -6, MovementReason.CONSUMPTION)
    assert kinds_open(db) == [AlertKind.BELOW_REORDER_POINT, AlertKind.STOCKOUT]
    (stockout,) = open_alerts(db, AlertKind.STOCKOUT)
    assert stockout.severity == AlertSeverity.CRITICAL
    receive(db, "LAB-N", "RGT", 20)
    assert kinds_open(db) == []
    assert count(db, AlertKind.BELOW_REORDER_POINT) == 2 and count(db, AlertKind.STOCKOUT) == 2
    check_outbox(db)


def test_a_site_without_a_policy_or_a_wait_is_not_stocked_out(network: Database) -> None:
    receive(network, "LAB-N", "RGT", 1)
    with network.transaction() as s:
        stock.record_movement(s, "LAB-N", "RGT", -1, MovementReason.CONSUMPTION)
    assert kinds_open(network) == []


def add_forecast(db: Database, site: str, sku: str, daily_mean: float) -> None:
    with db.transaction() as s:
        site_id = s.scalar(select(Site.id).where(Site.code == site))
        item_id = s.scalar(select(Item.id).where(Item.sku == sku))
        s.add(
            Forecast(
                site_id=site_id,
                item_id=item_id,
                demand_class=DemandClass.SMOOTH,
                method="SES",
                history_days=90,
                daily_mean=daily_mean,
                daily_std_dev=0.5,
                lead_time_days=10,
                service_level=0.95,
                safety_stock=0,
                reorder_point=0,
                order_up_to=0,
            )
        )


def test_stockout_risk_follows_the_forecast_and_the_supplier_lead_time(network: Database) -> None:
    db = network
    with db.reading() as s:
        lead_days = s.scalar(select(Item.supplier_lead_time_days).where(Item.sku == "RGT"))
    assert lead_days is not None
    rate = 2.0
    enough = int(rate * lead_days)  # covers exactly the lead time at the forecast rate
    receive(db, "LAB-N", "RGT", enough - 1)
    add_forecast(db, "LAB-N", "RGT", rate)  # a new forecast is a change the hook sees
    (risk,) = open_alerts(db)
    assert (risk.kind, risk.severity) == (AlertKind.STOCKOUT_RISK, AlertSeverity.WARNING)
    assert f"{lead_days}-day supplier lead time" in risk.message
    receive(db, "LAB-N", "RGT", 1)
    assert kinds_open(db) == []
    with db.transaction() as s:
        stock.record_movement(s, "LAB-N", "RGT", -1, MovementReason.CONSUMPTION)
    assert kinds_open(db) == [AlertKind.STOCKOUT_RISK]
    check_outbox(db)


def test_a_critical_backorder_alerts_until_covered_and_a_normal_one_does_not(network: Database) -> None:
    db = network
    receive(db, "LAB-N", "RGT", 40)
    with db.transaction() as s:
        orders.place_order(s, "LAB-S", "SWB", 3, Priority.NORMAL)
    assert AlertKind.CRITICAL_BACKORDER_UNCOVERED not in kinds_open(db)
    with db.transaction() as s:
        placed = orders.place_order(s, "LAB-S", "RGT", 12, Priority.CRITICAL, reference="req-9")
        assert placed.backorder is not None
        backorder_id = placed.backorder.id
    (uncovered,) = open_alerts(db, AlertKind.CRITICAL_BACKORDER_UNCOVERED)
    assert uncovered.backorder_id == backorder_id and uncovered.severity == AlertSeverity.CRITICAL
    assert "req-9" in uncovered.message and "12 of 12" in uncovered.message
    with db.transaction() as s:
        plan = rebalance.rebalance(s, "west", PlanMode.POOL_FIRST, skus=["RGT"], dry_run=False)
        ids = [t.id for t in plan.transfers]
    with db.transaction() as s:
        transfers.approve_transfers(s, ids)
    assert open_alerts(db, AlertKind.CRITICAL_BACKORDER_UNCOVERED) == []
    with db.transaction() as s:
        transfers.cancel_transfer(s, ids[0], "courier strike")
    assert [a.backorder_id for a in open_alerts(db, AlertKind.CRITICAL_BACKORDER_UNCOVERED)] == [backorder_id]
    check_outbox(db)


def test_transfer_alerts_through_the_sweep_with_a_controlled_clock(network: Database, settings: AlertSettings) -> None:
    db = network
    receive(db, "LAB-N", "RGT", 40)
    with db.transaction() as s:
        orders.place_order(s, "LAB-S", "RGT", 12, Priority.HIGH)
    with db.transaction() as s:
        (transfer_id,) = [t.id for t in rebalance.rebalance(s, "west", dry_run=False, skus=["RGT"]).transfers]

    def sweep_at(moment: object) -> list[AlertKind]:
        with db.transaction() as s:
            alerts.sweep(s, now=moment)  # type: ignore[arg-type]
        return sorted(a.kind for a in open_alerts(db) if a.transfer_id == transfer_id)

    with db.reading() as s:
        created = s.get_one(Transfer, transfer_id).created_at
    assert sweep_at(created + settings.suggestion_age - SECOND) == []
    assert sweep_at(created + settings.suggestion_age + SECOND) == [AlertKind.SUGGESTION_AWAITING_APPROVAL]
    assert sweep_at(created + settings.suggestion_age + 2 * SECOND) == [AlertKind.SUGGESTION_AWAITING_APPROVAL]
    assert count(db, AlertKind.SUGGESTION_AWAITING_APPROVAL) == 1  # swept twice, raised once
    (awaiting,) = open_alerts(db, AlertKind.SUGGESTION_AWAITING_APPROVAL)
    assert awaiting.severity == AlertSeverity.INFO and "approve or reject" in awaiting.message
    with db.transaction() as s:
        transfers.approve_transfers(s, [transfer_id])
    assert open_alerts(db, AlertKind.SUGGESTION_AWAITING_APPROVAL) == []  # closed by the approval's own commit

    with db.reading() as s:
        transfer = s.get_one(Transfer, transfer_id)
        handling = timedelta(hours=s.get_one(Site, transfer.from_site_id).handling_time_hours)
        lead = timedelta(hours=transfer.lane.lead_time_hours)
        approved = transfer.approved_at
    assert approved is not None
    assert sweep_at(approved + handling - SECOND) == []
    assert sweep_at(approved + handling + SECOND) == [AlertKind.TRANSFER_WAITING_TO_SHIP]
    due = approved + handling + lead + settings.overdue_grace
    assert sweep_at(due - SECOND) == [AlertKind.TRANSFER_WAITING_TO_SHIP]
    assert sweep_at(due + SECOND) == [AlertKind.TRANSFER_OVERDUE, AlertKind.TRANSFER_WAITING_TO_SHIP]
    (overdue,) = open_alerts(db, AlertKind.TRANSFER_OVERDUE)
    assert overdue.site_id == transfer.to_site_id and "receive it" in overdue.message
    (waiting,) = open_alerts(db, AlertKind.TRANSFER_WAITING_TO_SHIP)
    assert waiting.site_id == transfer.from_site_id and "ship it" in waiting.message

    with db.transaction() as s:
        transfers.ship_transfer(s, transfer_id)
    assert sweep_at(utcnow()) == []  # shipped just now: neither waiting nor overdue
    with db.reading() as s:
        shipped = s.get_one(Transfer, transfer_id).shipped_at
    assert shipped is not None
    assert sweep_at(shipped + lead + settings.overdue_grace - SECOND) == []
    assert sweep_at(shipped + lead + settings.overdue_grace + SECOND) == [AlertKind.TRANSFER_OVERDUE]
    with db.transaction() as s:
        transfers.receive_transfer(s, transfer_id, 12)
    assert [a for a in open_alerts(db) if a.transfer_id == transfer_id] == []
    check_outbox(db)


def test_reorder_alerts_through_the_sweep(network: Database, settings: AlertSettings) -> None:
    db = network
    with db.transaction() as s:
        orders.place_order(s, "LAB-S", "SWB", 5, Priority.NORMAL)
    with db.transaction() as s:
        (reorder_id,) = [r.id for r in rebalance.rebalance(s, "west", dry_run=False).reorders]

    def sweep_at(moment: object) -> list[AlertKind]:
        with db.transaction() as s:
            alerts.sweep(s, now=moment)  # type: ignore[arg-type]
        return sorted(a.kind for a in open_alerts(db) if a.reorder_id == reorder_id)

    with db.reading() as s:
        created = s.get_one(Reorder, reorder_id).created_at
    assert sweep_at(created + settings.suggestion_age + SECOND) == [AlertKind.SUGGESTION_AWAITING_APPROVAL]
    with db.transaction() as s:
        reorders.approve_reorders(s, [reorder_id])
    assert [a for a in open_alerts(db) if a.reorder_id == reorder_id] == []
    with db.reading() as s:
        reorder = s.get_one(Reorder, reorder_id)
        due = reorder.ordered_at + timedelta(days=reorder.item.supplier_lead_time_days) + settings.overdue_grace
    assert sweep_at(due - SECOND) == []
    assert sweep_at(due + SECOND) == [AlertKind.REORDER_OVERDUE]
    assert sweep_at(due + 2 * SECOND) == [AlertKind.REORDER_OVERDUE]
    assert count(db, AlertKind.REORDER_OVERDUE) == 1
    with db.transaction() as s:
        reorders.receive_reorder(s, reorder_id, 5)
    assert [a for a in open_alerts(db) if a.reorder_id == reorder_id] == []
    check_outbox(db)


def test_a_superseded_suggestion_closes_its_alert(network: Database, settings: AlertSettings) -> None:
    db = network
    with db.transaction() as s:
        orders.place_order(s, "LAB-S", "SWB", 5, Priority.NORMAL)
    with db.transaction() as s:
        rebalance.rebalance(s, "west", dry_run=False)
    with db.transaction() as s:
        alerts.sweep(s, now=utcnow() + settings.suggestion_age + SECOND)
    assert kinds_open(db).count(AlertKind.SUGGESTION_AWAITING_APPROVAL) == 1
    with db.transaction() as s:
        rebalance.rebalance(s, "west", dry_run=False)  # the old suggestion is superseded in bulk
    assert AlertKind.SUGGESTION_AWAITING_APPROVAL not in kinds_open(db)
    check_outbox(db)


def test_a_regions_backorder_rate_over_the_threshold(network: Database, settings: AlertSettings) -> None:
    db = network
    receive(db, "LAB-N", "RGT", 5)
    with db.transaction() as s:
        orders.place_order(s, "LAB-N", "RGT", 1)  # filled
        orders.place_order(s, "LAB-S", "RGT", 1)  # backordered: 1 of 2, under the minimum of 3 orders
    assert open_alerts(db, AlertKind.BACKORDER_RATE_HIGH) == []
    with db.transaction() as s:
        orders.place_order(s, "LAB-S", "SWB", 1)  # 2 of 3 backordered: 67% > 50%
    (high,) = open_alerts(db, AlertKind.BACKORDER_RATE_HIGH)
    assert (high.region, high.site_id, high.severity) == ("west", None, AlertSeverity.WARNING)
    assert "2 of 3" in high.message and "50%" in high.message
    with db.transaction() as s:
        orders.place_order(s, "LAB-E", "SWB", 1)  # another region: west's alert stays one
    assert [a.region for a in open_alerts(db, AlertKind.BACKORDER_RATE_HIGH)] == ["west"]
    with db.transaction() as s:
        for _ in range(2):
            orders.place_order(s, "LAB-N", "RGT", 1)  # filled: 2 of 5 = 40%
    assert open_alerts(db, AlertKind.BACKORDER_RATE_HIGH) == []
    with db.transaction() as s:
        orders.place_order(s, "LAB-S", "SWB", 1)
        orders.place_order(s, "LAB-S", "SWB", 1)  # 4 of 7 = 57%
    assert len(open_alerts(db, AlertKind.BACKORDER_RATE_HIGH)) == 1
    with db.transaction() as s:  # a week later, the period holds no order: the rate is no longer high
        alerts.sweep(s, now=utcnow() + settings.backorder_rate_period + SECOND)
    assert open_alerts(db, AlertKind.BACKORDER_RATE_HIGH) == []
    check_outbox(db)


def test_raise_alert_for_a_disabled_webhook_is_idempotent_while_open(network: Database) -> None:
    db = network
    with db.transaction() as s:
        first = alerts.raise_alert(
            s, AlertKind.WEBHOOK_DISABLED, "webhook:7", "Webhook to https://x.example was disabled.", region="west"
        )
        again = alerts.raise_alert(s, AlertKind.WEBHOOK_DISABLED, "webhook:7", "again", region="west")
    assert first is not None and again is None
    with db.transaction() as s:
        assert alerts.close_alert(s, AlertKind.WEBHOOK_DISABLED, "webhook:7")
        assert not alerts.close_alert(s, AlertKind.WEBHOOK_DISABLED, "webhook:7")
    with db.transaction() as s:
        assert alerts.raise_alert(s, AlertKind.WEBHOOK_DISABLED, "webhook:7", "disabled again") not in (None, first)
    check_outbox(db)


def test_an_alert_and_its_event_roll_back_together(network: Database) -> None:
    db = network
    with pytest.raises(RuntimeError), db.transaction() as s:
        assert alerts.raise_alert(s, AlertKind.WEBHOOK_DISABLED, "webhook:1", "disabled") is not None
        raise RuntimeError("the change fails after the alert was raised")
    with pytest.raises(RuntimeError), db.transaction() as s:
        stock.set_stock_policy(s, "LAB-N", "RGT", safety_stock=5, reorder_point=8)
        s.flush()
        raise RuntimeError("the change fails before its commit")
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 0
        assert s.scalar(select(func.count()).select_from(Event)) == 0


def test_the_database_refuses_a_second_open_alert_with_the_same_key(network: Database) -> None:
    with pytest.raises(IntegrityError), network.transaction() as s:
        for _ in range(2):
            s.add(
                Alert(
                    kind=AlertKind.STOCKOUT,
                    severity=AlertSeverity.CRITICAL,
                    severity_rank=3,
                    subject="level:1:1",
                    open_key="STOCKOUT:level:1:1",
                    message="m",
                )
            )
        s.flush()


@pytest.mark.parametrize("how", ["raise_alert", "rules"])
def test_two_concurrent_transactions_open_one_alert(network: Database, how: str) -> None:
    """The second transaction evaluates while the first has raised the alert but not committed; on PostgreSQL its
    insert waits on the first's uncommitted key, then does nothing (on SQLite the write lock serialises them)."""
    db = network
    with db.transaction() as s:
        level = stock.set_stock_policy(s, "LAB-N", "RGT", safety_stock=0, reorder_point=0)
        pair = (level.site_id, level.item_id)
        # Below the reorder point from the next policy change on; the rule alone is run below, hook aside.
        level.reorder_point = 5
        s.flush()
        alerts.close_alert(s, AlertKind.BELOW_REORDER_POINT, alerts.level_subject(*pair))

    def act(session: object) -> int | None:
        if how == "raise_alert":
            return alerts.raise_alert(session, AlertKind.STOCKOUT, alerts.level_subject(*pair), "m")  # type: ignore[arg-type]
        alerts.evaluate_levels(session, [pair])  # type: ignore[arg-type]
        return None

    with db.transaction() as s:  # start from nothing open
        for alert in s.scalars(select(Alert).where(Alert.closed_at.is_(None))):
            alerts.close_alert(s, alert.kind, alert.subject)
    started, results, failures = threading.Event(), {}, []
    finished: dict[str, float] = {}

    def second() -> None:
        started.wait()
        try:
            with db.transaction() as s:
                results["second"] = act(s)
                finished["second"] = time.monotonic()
        except Exception as error:  # pragma: no cover - reported below
            failures.append(error)

    thread = threading.Thread(target=second)
    thread.start()
    with db.transaction() as s:
        results["first"] = act(s)
        started.set()
        time.sleep(0.5)  # the second transaction is now waiting on this one
        finished["first"] = time.monotonic()  # the moment before this commit: the second cannot finish before it
    thread.join(timeout=30)
    assert finished["second"] >= finished["first"]  # it could not get past the first's uncommitted alert
    assert failures == []
    kind = AlertKind.STOCKOUT if how == "raise_alert" else AlertKind.BELOW_REORDER_POINT
    assert len(open_alerts(db, kind)) == 1
    if how == "raise_alert":
        assert results["first"] is not None and results["second"] is None
    check_outbox(db)


def test_settings_come_from_the_environment_with_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SUGGESTION_AGE", "OVERDUE_GRACE", "BACKORDER_RATE", "BACKORDER_RATE_PERIOD", "SWEEP_EVERY"):
        monkeypatch.delenv(f"STOCKPOOL_ALERT_{name}", raising=False)
    monkeypatch.delenv("STOCKPOOL_ALERT_BACKORDER_RATE_MIN_ORDERS", raising=False)
    assert AlertSettings.from_environment() == AlertSettings()
    monkeypatch.setenv("STOCKPOOL_ALERT_SUGGESTION_AGE", "90m")
    monkeypatch.setenv("STOCKPOOL_ALERT_OVERDUE_GRACE", "2d")
    monkeypatch.setenv("STOCKPOOL_ALERT_BACKORDER_RATE", "0.35")
    monkeypatch.setenv("STOCKPOOL_ALERT_BACKORDER_RATE_MIN_ORDERS", "4")
    monkeypatch.setenv("STOCKPOOL_ALERT_SWEEP_EVERY", "30")
    read = AlertSettings.from_environment()
    assert (read.suggestion_age, read.overdue_grace, read.sweep_every) == (
        timedelta(minutes=90),
        timedelta(days=2),
        timedelta(seconds=30),
    )
    assert (read.backorder_rate_threshold, read.backorder_rate_min_orders) == (0.35, 4)
    for name, bad in (("SUGGESTION_AGE", "soon"), ("BACKORDER_RATE", "1.5"), ("BACKORDER_RATE_MIN_ORDERS", "0")):
        monkeypatch.setenv(f"STOCKPOOL_ALERT_{name}", bad)
        with pytest.raises(ValueError, match=f"STOCKPOOL_ALERT_{name}"):
            AlertSettings.from_environment()
        monkeypatch.delenv(f"STOCKPOOL_ALERT_{name}")
