"""Each scope rule in its two forms: `may_see_x` on a row and `visible_x` in SQL pick the same records."""

from __future__ import annotations

from sqlalchemy import select

from api.auth import Caller
from api.graphql import scope
from models import Backorder, Plan, Priority, Reorder, Role, Site, Transfer
from models.db import Database
from pooling import orders, rebalance
from tests.factories import build_network, receive

RULES = (
    (Backorder, scope.may_see_backorder, scope.visible_backorders),
    (Transfer, scope.may_see_transfer, scope.visible_transfers),
    (Reorder, scope.may_see_reorder, scope.visible_reorders),
    (Plan, scope.may_see_plan, scope.visible_plans),
)


def test_python_and_sql_forms_agree(db: Database) -> None:
    build_network(
        db,
        {"A": "west", "B": "west", "C": "east", "D": "east"},
        {"X": "20.00", "Y": "5.00"},
        [("A", "B", "1.00", 6), ("C", "D", "1.00", 6)],
    )
    receive(db, "A", "X", 10)
    receive(db, "C", "X", 10)
    with db.transaction() as s:
        for code in ("B", "D"):
            orders.place_order(s, code, "X", 6, Priority.HIGH)
            orders.place_order(s, code, "Y", 3)
        for region in ("west", "east"):
            rebalance.rebalance(s, region, dry_run=False)
    with db.transaction() as s:
        sites = {site.code: site for site in s.scalars(select(Site))}
        callers = [Caller(1, "admin", Role.ADMIN)]
        callers += [Caller(2, region, Role.COORDINATOR, region=region) for region in ("west", "east", "nowhere")]
        callers += [
            Caller(3, code, Role.SITE, site_id=site.id, site_code=code, region=site.region)
            for code, site in sites.items()
        ]
        for model, may_see, visible in RULES:
            rows = s.scalars(select(model)).all()
            assert len(rows) >= 2, model.__name__
            for caller in callers:
                in_sql = set(s.scalars(select(model.id).where(visible(caller))))
                assert in_sql == {row.id for row in rows if may_see(caller, row)}, (model.__name__, caller.name)
