"""`kpis` over HTTP: fractions, received units only, scope like every other query, a period and a per-site list."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from models.db import Database
from tests.api.conftest import Client, clients_by_role, operations
from tests.factories import build_network, receive

FIGURES = """
query K($region: String, $since: DateTime, $until: DateTime) {
  kpis(region: $region, since: $since, until: $until) {
    ordersPlaced ordersBackordered backorderRate fillRate openBackorderUnits unitsPooled unitsReordered
    pooledShare savings
    sites { site { code region } ordersPlaced ordersBackordered backorderRate fillRate unitsPooled savings }
  }
}
"""


@pytest.fixture
def world(db: Database, server: str, admin: Client) -> dict[str, Client]:
    """west: N (40 of X) -> S; east: E. S orders 10 (all backordered), N ships them, 2 are lost on the way."""
    build_network(db, {"N": "west", "S": "west", "E": "east"}, {"X": "10.00"}, [("N", "S", "1.00", 6)])
    receive(db, "N", "X", 40)
    clients = clients_by_role(db, server, admin)
    done(clients["s"], "PlaceOrder", input={"site": "S", "sku": "X", "quantity": 10})
    done(clients["n"], "PlaceOrder", input={"site": "N", "sku": "X", "quantity": 5})
    (transfer,) = done(clients["west"], "Rebalance", input={"region": "west", "dryRun": False})["plan"]["transfers"]
    done(clients["west"], "ApproveTransfers", input={"ids": [transfer["id"]]})
    done(clients["n"], "ShipTransfer", input={"id": transfer["id"]})
    done(clients["s"], "ReceiveTransfer", input={"id": transfer["id"], "quantityReceived": 8})
    return clients


def done(client: Client, name: str, **variables: Any) -> dict[str, Any]:
    """An example mutation that must succeed: its payload."""
    (answer,) = client.op(name, **variables).values()
    assert answer["errors"] == [], answer
    return answer  # type: ignore[no-any-return]


def kpis(client: Client, document: str = FIGURES, **variables: Any) -> dict[str, Any]:
    return client.gql(document, variables)["kpis"]  # type: ignore[no-any-return]


def refusal(client: Client, document: str = FIGURES, **variables: Any) -> dict[str, Any]:
    response = client.post(document, variables)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None, body
    return body  # type: ignore[no-any-return]


def test_rates_are_fractions_and_only_received_units_are_pooled_or_saved(world: dict[str, Client]) -> None:
    west = world["west"].op("Figures", region="west")["kpis"]  # the contract's operation
    assert (west["ordersPlaced"], west["ordersBackordered"]) == (2, 1)
    assert west["backorderRate"] == 0.5  # a fraction, like fillRate and pooledShare
    assert west["fillRate"] == pytest.approx(5 / 15)
    assert (west["unitsPooled"], west["unitsReordered"], west["pooledShare"]) == (8, 0, 1.0)  # 10 shipped, 8 arrived
    assert west["openBackorderUnits"] == 2  # the lost units are open again
    assert Decimal(west["savings"]) == Decimal("70.00")  # 8 received * 10.00 - 10 shipped * 1.00


def test_each_site_has_its_figures_and_a_site_token_sees_its_own(world: dict[str, Client]) -> None:
    sites = {row["site"]["code"]: row for row in kpis(world["west"])["sites"]}  # no region: the coordinator's own
    assert list(sites) == ["N", "S"]
    assert (sites["N"]["ordersPlaced"], sites["N"]["fillRate"], sites["N"]["unitsPooled"]) == (1, 1.0, 0)
    assert (sites["S"]["ordersPlaced"], sites["S"]["backorderRate"], sites["S"]["unitsPooled"]) == (1, 1.0, 8)
    assert Decimal(sites["S"]["savings"]) == Decimal("70.00")
    everywhere = kpis(world["admin"])
    assert [row["site"]["code"] for row in everywhere["sites"]] == ["E", "N", "S"]
    assert everywhere["ordersPlaced"] == 2
    mine = kpis(world["s"], region="west")
    assert mine["ordersPlaced"] == 2  # the region's figures...
    assert [row["site"]["code"] for row in mine["sites"]] == ["S"]  # ...but no sister site's own


def test_a_region_outside_the_callers_scope_is_not_found_like_a_missing_one(world: dict[str, Client]) -> None:
    figures = operations()["Figures"]  # the contract's operation
    for caller, region in (("west", "east"), ("east", "west"), ("n", "east"), ("e", "west")):
        other = refusal(world[caller], figures, region=region)
        missing = refusal(world[caller], figures, region="nowhere")
        assert other["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert other["errors"][0]["message"] == f"No region {region!r}."
        assert {**other["errors"][0], "message": ""} == {**missing["errors"][0], "message": ""}
    assert refusal(world["admin"], figures, region="nowhere")["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert kpis(world["admin"], figures, region="east")["ordersPlaced"] == 0


def test_a_period_selects_what_happened_in_it(world: dict[str, Client]) -> None:
    assert kpis(world["west"], since="2000-01-01T00:00:00Z")["ordersPlaced"] == 2
    assert kpis(world["west"], until="2000-01-01T00:00:00Z")["ordersPlaced"] == 0
    later = kpis(world["west"], since="2999-01-01T00:00:00+01:00")
    assert (later["ordersPlaced"], later["unitsPooled"], Decimal(later["savings"])) == (0, 0, Decimal(0))
    backwards = refusal(world["west"], since="2026-02-01T00:00:00Z", until="2026-01-01T00:00:00Z")
    assert backwards["errors"][0]["extensions"]["code"] == "INVALID"
    assert backwards["errors"][0]["message"] == "until must be later than since."
    naive = refusal(world["west"], since="2026-02-01T00:00:00")
    assert naive["errors"][0]["message"] == "since needs a time zone (for example ...Z)."
