"""The demo network: loaded once through the operations, tokens that work, and a morning worth rebalancing."""

from __future__ import annotations

from sqlalchemy import func, select

from models import Backorder, BackorderStatus, Item, Plan, Role, Site
from models.db import Database
from pooling import rebalance, reorders, transfers
from pooling.access import authenticate
from pooling.audit import audit
from pooling.backorders import HAS_OPEN
from pooling.demo import REGIONS, DemoTokens, load_demo
from tests.conftest import empty
from tests.factories import build_network


def test_demo_loads_once_with_working_tokens(db: Database) -> None:
    tokens = load_demo(db)
    assert isinstance(tokens, DemoTokens)
    assert tokens.region == REGIONS[0]
    with db.reading() as s:
        admin, coordinator, site = (authenticate(s, t) for t in (tokens.admin, tokens.coordinator, tokens.site))
        assert admin is not None and admin.role == Role.ADMIN
        assert coordinator is not None and (coordinator.role, coordinator.region) == (Role.COORDINATOR, tokens.region)
        assert site is not None and site.role == Role.SITE
        lab = s.get(Site, site.site_id)
        assert lab is not None and (lab.code, lab.region) == (tokens.site_code, tokens.region)
        waiting = s.scalar(
            select(func.count(Backorder.id)).where(Backorder.site_id == lab.id, Backorder.status.in_(HAS_OPEN))
        )
        assert waiting
        sender = authenticate(s, tokens.sender)
        assert sender is not None and sender.role == Role.SITE and sender.site_id != site.site_id
        donor = s.get(Site, sender.site_id)
        assert donor is not None and (donor.code, donor.region) == (tokens.sender_code, tokens.region)
        assert {r for (r,) in s.execute(select(Site.region).distinct())} == set(REGIONS)
        assert (s.scalar(select(func.count(Site.id))) or 0) >= 10
        assert (s.scalar(select(func.count(Item.id))) or 0) >= 25
        assert not all(s.scalars(select(Item.purchasable)))
        sites_with_backorders = s.scalar(
            select(func.count(func.distinct(Backorder.site_id))).where(Backorder.status.in_(HAS_OPEN))
        )
        assert (sites_with_backorders or 0) >= 4
        assert audit(s) == []
        counts = [s.scalar(select(func.count(model.id))) for model in (Site, Item, Backorder)]

    assert load_demo(db) is None
    with db.reading() as s:
        assert [s.scalar(select(func.count(model.id))) for model in (Site, Item, Backorder)] == counts


def test_demo_is_the_same_every_time(db: Database) -> None:
    def snapshot() -> list[tuple]:
        with db.reading() as s:
            return [
                tuple(row)
                for row in s.execute(
                    select(Backorder.site_id, Backorder.item_id, Backorder.quantity, Backorder.priority).order_by(
                        Backorder.id
                    )
                )
            ]

    load_demo(db)
    first = snapshot()
    empty(db)
    load_demo(db)
    assert snapshot() == first


def test_demo_refuses_a_database_with_sites(db: Database) -> None:
    build_network(db, {"A": "west"}, {"X": "1.00"})
    assert load_demo(db) is None
    with db.reading() as s:
        assert s.scalar(select(func.count(Site.id))) == 1
        assert s.scalar(select(func.count(Item.id))) == 1


def test_each_region_rebalances_into_transfers_and_reorders(db: Database) -> None:
    load_demo(db)
    for region in REGIONS:
        with db.reading() as s:
            plan = rebalance.rebalance(s, region, dry_run=True)
            assert plan.units_by_transfer > 0
            assert plan.transfers
            for transfer in plan.transfers:
                assert sum(a.quantity for a in transfer.allocations) == transfer.quantity
                for allocation in transfer.allocations:
                    backorder = s.get(Backorder, allocation.backorder_id)
                    assert backorder is not None and backorder.site_id == transfer.to_site.id
            assert plan.units_by_reorder > 0 and plan.reorders  # something nobody in the region can spare
            assert plan.transfer_cost + plan.reorder_cost < plan.all_external_cost
            assert s.scalar(select(func.count(Plan.id))) == 0  # a dry run saves nothing


def test_approving_the_demo_plans_clears_the_backorders(db: Database) -> None:
    load_demo(db)
    for region in REGIONS:
        with db.transaction() as s:
            plan = rebalance.rebalance(s, region, dry_run=False, actor="coordinator")
            transfer_ids = [t.id for t in plan.transfers]
            shipped = {t.id: t.quantity for t in plan.transfers}
            reorder_ids = [r.id for r in plan.reorders]
            ordered = {r.id: r.quantity for r in plan.reorders}
            unmet = {(u.site_id, u.item_id) for u in plan.unmet}
        with db.transaction() as s:
            transfers.approve_transfers(s, transfer_ids)
            reorders.approve_reorders(s, reorder_ids)
        with db.reading() as s:
            waiting = s.execute(
                select(Backorder.site_id, Backorder.item_id, Backorder.status)
                .join(Site, Site.id == Backorder.site_id)
                .where(Site.region == region, Backorder.status != BackorderStatus.FULFILLED)
            ).all()
            for site_id, item_id, status in waiting:
                assert status == BackorderStatus.COVERED or (site_id, item_id) in unmet
        for transfer_id in transfer_ids:
            with db.transaction() as s:
                transfers.ship_transfer(s, transfer_id)
            with db.transaction() as s:
                transfers.receive_transfer(s, transfer_id, shipped[transfer_id])
        for reorder_id in reorder_ids:
            with db.transaction() as s:
                reorders.receive_reorder(s, reorder_id, ordered[reorder_id])
        with db.reading() as s:
            left = s.execute(
                select(Backorder.site_id, Backorder.item_id)
                .join(Site, Site.id == Backorder.site_id)
                .where(Site.region == region, Backorder.status != BackorderStatus.FULFILLED)
            ).all()
            assert {tuple(row) for row in left} <= unmet
    with db.reading() as s:
        assert audit(s) == []
