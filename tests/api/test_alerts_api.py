"""Expected dates and alerts over HTTP: the definitions computed here from the lane, site and item values; alerts
scoped like the records (Python and SQL rules agree), a Node, most severe first; bad arguments are typed errors."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from api.auth import Caller
from api.graphql import scope
from api.graphql.base import global_id
from models import Alert, AlertKind, Item, Lane, Priority, Reorder, Role, Site, Transfer, utcnow
from models.db import Database
from pooling import alerts, orders, rebalance, reorders, stock, transfers
from tests.api.conftest import Client, clients_by_role
from tests.factories import build_network, receive

BACKORDER = """
query B($id: ID!) {
  node(id: $id) {
    ... on Backorder {
      status open covered expectedBy
      coveredBy { quantity expectedAt transfer { id } reorder { id } }
    }
  }
}
"""
RECORD = """
query R($id: ID!) {
  node(id: $id) {
    ... on Transfer { status expectedAt approvedAt shippedAt leadTimeHours fromSite { handlingTimeHours } }
    ... on Reorder { reorderStatus: status expectedAt orderedAt item { supplierLeadTimeDays } }
    ... on Alert { id kind site { code } }
  }
}
"""
DRY_RUN = """
mutation D($input: RebalanceInput!) {
  rebalance(input: $input) {
    plan { transfers { expectedAt leadTimeHours } reorders { expectedAt } }
    errors { code }
  }
}
"""
ALERTS = """
query A($region: String, $site: String, $first: Int, $after: String) {
  alerts(region: $region, site: $site, first: $first, after: $after) {
    edges { cursor node { id kind severity site { code } transfer { id } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
HANDLING_HOURS = 9


def at(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@pytest.fixture
def world(db: Database, server: str, admin: Client) -> dict[str, Client]:
    """west: N (12 of X, handling 9 h) -> S (6 h lane); east: E."""
    build_network(db, {"N": "west", "S": "west", "E": "east"}, {"X": "10.00"}, [("N", "S", "1.00", 6)])
    with db.transaction() as s:
        s.scalars(select(Site).where(Site.code == "N")).one().handling_time_hours = HANDLING_HOURS
    receive(db, "N", "X", 12)
    return clients_by_role(db, server, admin)


def test_expected_times_follow_their_definitions(db: Database, world: dict[str, Client]) -> None:
    west, south = world["west"], world["s"]
    with db.transaction() as s:
        placed = orders.place_order(s, "S", "X", 20, Priority.CRITICAL)
        assert placed.backorder is not None
        backorder = global_id("Backorder", placed.backorder.id)
    with db.reading() as s:
        lane_hours = s.scalars(select(Lane.lead_time_hours)).one()
        handling = s.scalars(select(Site.handling_time_hours).where(Site.code == "N")).one()
        lead_days = s.scalars(select(Item.supplier_lead_time_days)).one()
    assert handling == HANDLING_HOURS

    # A suggestion: when it would arrive if approved now.
    before = utcnow()
    plan = west.gql(DRY_RUN, {"input": {"region": "west", "dryRun": True}})["rebalance"]["plan"]
    after = utcnow()
    (suggested,) = plan["transfers"]
    (bought,) = plan["reorders"]
    travel = timedelta(hours=handling + lane_hours)
    assert before + travel <= at(suggested["expectedAt"]) <= after + travel  # type: ignore[operator]
    assert before + timedelta(days=lead_days) <= at(bought["expectedAt"]) <= after + timedelta(days=lead_days)  # type: ignore[operator]

    with db.transaction() as s:
        saved = rebalance.rebalance(s, "west", dry_run=False)
        (transfer_id,), (reorder_id,) = [t.id for t in saved.transfers], [r.id for r in saved.reorders]
    status = south.gql(BACKORDER, {"id": backorder})["node"]
    assert status == {"status": "OPEN", "open": 20, "covered": 0, "expectedBy": None, "coveredBy": []}

    with db.transaction() as s:
        transfers.approve_transfers(s, [transfer_id])
    with db.reading() as s:
        approved_at = s.get_one(Transfer, transfer_id).approved_at
    assert approved_at is not None
    transfer_due = approved_at + timedelta(hours=handling) + timedelta(hours=lane_hours)
    status = south.gql(BACKORDER, {"id": backorder})["node"]
    assert (status["open"], status["covered"], status["expectedBy"]) == (8, 12, None)  # 8 units still uncovered
    (line,) = status["coveredBy"]
    assert (line["quantity"], at(line["expectedAt"])) == (12, transfer_due)
    assert line["transfer"] == {"id": global_id("Transfer", transfer_id)} and line["reorder"] is None

    with db.transaction() as s:
        reorders.approve_reorders(s, [reorder_id])
    with db.reading() as s:
        ordered_at = s.get_one(Reorder, reorder_id).ordered_at
    assert ordered_at is not None
    reorder_due = ordered_at + timedelta(days=lead_days)
    status = south.gql(BACKORDER, {"id": backorder})["node"]
    assert status["open"] == 0
    assert sorted((c["quantity"], at(c["expectedAt"])) for c in status["coveredBy"]) == [
        (8, reorder_due),
        (12, transfer_due),
    ]
    assert at(status["expectedBy"]) == max(transfer_due, reorder_due)
    reorder = south.gql(RECORD, {"id": global_id("Reorder", reorder_id)})["node"]
    assert at(reorder["expectedAt"]) == at(reorder["orderedAt"]) + timedelta(  # type: ignore[operator]
        days=reorder["item"]["supplierLeadTimeDays"]
    )

    node = south.gql(RECORD, {"id": global_id("Transfer", transfer_id)})["node"]
    assert at(node["expectedAt"]) == at(node["approvedAt"]) + timedelta(  # type: ignore[operator]
        hours=node["fromSite"]["handlingTimeHours"] + node["leadTimeHours"]
    )
    with db.transaction() as s:
        transfers.ship_transfer(s, transfer_id)
    node = south.gql(RECORD, {"id": global_id("Transfer", transfer_id)})["node"]
    assert at(node["expectedAt"]) == at(node["shippedAt"]) + timedelta(hours=node["leadTimeHours"])  # type: ignore[operator]
    with db.transaction() as s:
        transfers.receive_transfer(s, transfer_id, 12)
    status = south.gql(BACKORDER, {"id": backorder})["node"]
    assert [c["reorder"] for c in status["coveredBy"]] == [{"id": global_id("Reorder", reorder_id)}]
    assert at(status["expectedBy"]) == reorder_due


def alerts_world(db: Database) -> None:
    """Open alerts at N (west), S (west), E (east), a west transfer's, and the west region's."""
    with db.transaction() as s:
        for site in ("N", "S", "E"):
            stock.set_stock_policy(s, site, "X", safety_stock=0, reorder_point=50)  # below it everywhere
        orders.place_order(s, "S", "X", 5, Priority.CRITICAL)
    with db.transaction() as s:
        (transfer_id,) = [t.id for t in rebalance.rebalance(s, "west", dry_run=False).transfers]
    with db.transaction() as s:
        transfers.approve_transfers(s, [transfer_id])
    with db.transaction() as s:
        alerts.sweep(s, now=utcnow() + timedelta(days=2))  # waiting to ship, and overdue
        alerts.raise_alert(s, AlertKind.WEBHOOK_DISABLED, "webhook:1", "Hook disabled.", region="west")


def listed(client: Client, **variables: Any) -> list[dict[str, Any]]:
    return [e["node"] for e in client.gql(ALERTS, variables)["alerts"]["edges"]]


def test_alerts_are_scoped_like_the_records(db: Database, world: dict[str, Client]) -> None:
    alerts_world(db)
    with db.reading() as s:
        every = s.scalars(select(Alert)).all()
        rows = [a for a in every if a.closed_at is None]
        sites = {site.code: site for site in s.scalars(select(Site))}
        transfer = s.scalars(select(Transfer)).one()
        callers = [Caller(1, "admin", Role.ADMIN)]
        callers += [Caller(2, r, Role.COORDINATOR, region=r) for r in ("west", "east", "nowhere")]
        callers += [Caller(3, c, Role.SITE, site_id=x.id, site_code=c, region=x.region) for c, x in sites.items()]
        for caller in callers:  # the rule's two forms pick the same alerts
            in_sql = set(s.scalars(select(Alert.id).where(scope.visible_alerts(caller))))
            assert in_sql == {a.id for a in every if scope.may_see_alert(s, caller, a)}, caller.name
    by_kind = {a.kind for a in rows}
    assert {AlertKind.TRANSFER_WAITING_TO_SHIP, AlertKind.TRANSFER_OVERDUE, AlertKind.BELOW_REORDER_POINT} <= by_kind

    everything = listed(world["admin"], first=500)
    assert len(everything) == len(rows)
    north = listed(world["n"])
    # N sees its own site's alerts and those of the transfer it sends (the overdue one is S's, about that transfer).
    assert {a["site"]["code"] for a in north} == {"N", "S"}
    assert all(a["site"]["code"] == "N" or a["transfer"] == {"id": global_id("Transfer", transfer.id)} for a in north)
    assert {a["site"]["code"] for a in listed(world["e"])} == {"E"}
    west = listed(world["west"])
    assert {a["site"]["code"] if a["site"] else None for a in west} == {"N", "S", None}
    assert {a["site"]["code"] for a in listed(world["east"])} == {"E"}
    assert {a["site"]["code"] for a in listed(world["west"], site="S")} == {"S"}

    # node(id:) answers an alert to whoever may see it, null to anyone else (as for a missing one).
    east_alert = next(a for a in everything if a["site"] and a["site"]["code"] == "E")
    assert world["e"].gql(RECORD, {"id": east_alert["id"]})["node"] == {
        "id": east_alert["id"],
        "kind": east_alert["kind"],
        "site": {"code": "E"},
    }
    assert world["n"].gql(RECORD, {"id": east_alert["id"]})["node"] is None
    assert world["west"].gql(RECORD, {"id": east_alert["id"]})["node"] is None


def test_most_severe_first_and_pages_walk_them_all(db: Database, world: dict[str, Client]) -> None:
    alerts_world(db)
    whole = listed(world["admin"], first=500)
    ranks = [{"CRITICAL": 3, "WARNING": 2, "INFO": 1}[a["severity"]] for a in whole]
    assert ranks == sorted(ranks, reverse=True) and len(set(ranks)) >= 2
    walked, after = [], None
    while True:
        page = world["admin"].gql(ALERTS, {"first": 2, "after": after})["alerts"]
        walked += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == whole


@pytest.mark.parametrize(
    ("who", "variables", "code"),
    [
        ("admin", {"site": "NOPE"}, "NOT_FOUND"),
        ("admin", {"region": "nowhere"}, "NOT_FOUND"),
        ("west", {"region": "east"}, "NOT_FOUND"),
        ("west", {"site": "E"}, "NOT_FOUND"),
        ("n", {"site": "S"}, "NOT_FOUND"),
        ("admin", {"first": -1}, "INVALID"),
        ("admin", {"first": 501}, "INVALID"),
        ("admin", {"after": "not-a-cursor"}, "INVALID"),
    ],
)
def test_bad_arguments_are_typed_errors(
    db: Database, world: dict[str, Client], who: str, variables: dict[str, Any], code: str
) -> None:
    response = world[who].post(ALERTS, variables)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None and [e["extensions"]["code"] for e in body["errors"]] == [code]
    assert "Traceback" not in response.text


CREATE_SITE = """
mutation C($input: CreateSiteInput!) {
  createSite(input: $input) { site { code handlingTimeHours } errors { field code message } }
}
"""


@pytest.mark.parametrize("hours", [-1, 24 * 366 + 1])
def test_a_handling_time_out_of_range_is_refused_and_nothing_stored(
    db: Database, world: dict[str, Client], hours: int
) -> None:
    made = world["admin"].gql(
        CREATE_SITE, {"input": {"code": "W", "name": "W", "region": "west", "handlingTimeHours": hours}}
    )
    assert made["createSite"]["site"] is None
    assert [(e["field"], e["code"]) for e in made["createSite"]["errors"]] == [("handlingTimeHours", "INVALID")]
    with db.reading() as s:
        assert s.scalar(select(Site.id).where(Site.code == "W")) is None
    made = world["admin"].gql(CREATE_SITE, {"input": {"code": "W", "name": "W", "region": "west"}})
    assert made["createSite"]["site"] == {"code": "W", "handlingTimeHours": 4}
