"""The API load generator (`stockpool bench-api`): a tiny run against a real server process, checked for behaviour.

Timings are never asserted (the machine is shared); what must hold is that every request was answered without
error, the counts add up, and what the clients say they placed is exactly what the database holds, ledger clean.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api.benchmarks.load import PAGE, PAGE_SIZE, PLACE, run_load
from api.benchmarks.operations import APPROVE_10, STOCK_LEVELS, TRANSFERS, run_operations
from api.benchmarks.operations import PLACE as PLACE_ORDER
from api.cli import main
from models import Backorder, Movement, MovementReason, Order, Site, StockLevel, Transfer, TransferStatus
from models.db import Database
from pooling.audit import audit

SITES, ITEMS, STOCK = 3, 200, 1  # one unit per shelf: orders of 2-3 units fill part and backorder the rest


def test_a_small_load_run_is_answered_in_full_and_lands_in_the_ledger(db: Database, database_url: str) -> None:
    report = run_load(
        database_url, clients=4, seconds=2, sites=SITES, items=ITEMS, warmup=0.5, read_share=0.3, stock=STOCK
    )

    assert report.requests_failed == 0 and report.total_errors == 0 and report.server_errors == 0, report.error_samples
    assert report.requests_answered == report.requests_sent > 0
    place, page = report.operations[PLACE], report.operations[PAGE]
    assert place.requests > 0 and page.requests > 0
    assert report.total_requests == place.requests + page.requests <= report.requests_sent
    assert report.total_rps == pytest.approx(report.total_requests / report.seconds)
    for stats in (place, page):
        assert 0 < stats.p50_ms <= stats.p90_ms <= stats.p99_ms <= stats.max_ms
    assert report.rows_per_page == PAGE_SIZE  # 200 items per site: every page is a full 100 rows
    assert report.stock_levels == SITES * ITEMS
    assert report.server_workers == 1 and report.dialect == db.engine.dialect.name

    with db.reading() as s:
        sites = s.scalars(select(Site.id).where(Site.region == report.region)).all()
        assert len(sites) == SITES
        orders = s.execute(
            select(func.count(), func.sum(Order.quantity), func.sum(Order.filled_quantity)).where(
                Order.site_id.in_(sites), Order.reference.like(f"{report.run_id}-%")
            )
        ).one()
        assert tuple(orders) == (report.orders_placed, report.units_ordered, report.units_filled)
        assert s.scalar(select(func.count()).select_from(Order)) == report.orders_placed
        backorders = s.scalar(select(func.count()).select_from(Backorder).where(Backorder.site_id.in_(sites)))
        assert backorders == report.backorders
        assert 0 < report.units_filled < report.units_ordered  # both paths ran: from the shelf and backordered
        on_hand = s.scalar(select(func.sum(StockLevel.on_hand)).where(StockLevel.site_id.in_(sites)))
        assert on_hand == SITES * ITEMS * STOCK - report.units_filled
        assert s.scalar(select(func.min(StockLevel.on_hand))) >= 0
        fills = s.scalar(select(func.count()).where(Movement.reason == MovementReason.ORDER_FILL))
        assert fills == s.scalar(select(func.count()).where(Order.filled_quantity > 0))
        assert report.table().count("\n") > 5 and PLACE in report.table() and PAGE in report.table()
        assert audit(s) == []


@pytest.mark.parametrize(
    "arguments", [["--clients", "0"], ["--seconds", "0"], ["--read-share", "1.5"], ["--think-ms", "-1"]]
)
def test_the_command_refuses_nonsense_before_touching_the_database(arguments: list[str], db: Database) -> None:
    assert main(["--database-url", db.url, "bench-api", *arguments]) == 2
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Site)) == 0
        assert audit(s) == []


def test_cpu_per_operation_and_its_floor_are_measured_and_the_floor_changes_nothing(
    db: Database, database_url: str
) -> None:
    report = run_operations(database_url, requests=3, sites=3, items=10)

    assert list(report.operations) == [STOCK_LEVELS, TRANSFERS, PLACE_ORDER, APPROVE_10]
    for cost in report.operations.values():
        assert cost.statements > 0 and cost.requests >= 1
        assert cost.server_cpu_ms is not None and cost.server_cpu_ms >= 0
        assert cost.floor_http_sql_ms is not None and cost.floor_graphql_ms > 0
        assert cost.floor_ms == pytest.approx(cost.floor_http_sql_ms + cost.floor_graphql_ms)
        assert cost.ratio == pytest.approx(cost.server_cpu_ms / cost.floor_ms)
    assert report.table().count("\n") >= 5
    with db.reading() as s:
        # The floor replayed each placeOrder and approval many times, always rolled back: only the GraphQL
        # requests (one recorded, five to warm up, three measured) placed orders, and the ledger is clean.
        placed = s.scalar(select(func.count()).where(Order.reference.like(f"{report.run_id}-op-%")))
        assert placed == 1 + 5 + 3
        approved = s.scalar(select(func.count()).where(Transfer.status == TransferStatus.APPROVED))
        assert approved == 10 * (1 + min(5, 2) + report.operations[APPROVE_10].requests)
        assert audit(s) == []
