"""Issue 15's full round, in three browsers: the coordinator runs a dry run, saves the plan, approves two
suggestions and rejects one with a reason; the sending site ships one in its view; the receiving site receives it
with one unit lost in its view; then the coordinator's key figures (updated live) and the ledger agree."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from models.db import Database
from pooling.audit import audit
from pooling.demo import DemoTokens
from tests.api.conftest import Client
from tests.board.conftest import Boards
from tests.board.test_coordinator import distinct, label, suggestions, transfer

KPIS = """query($region: String!, $since: DateTime) { kpis(region: $region, since: $since) { unitsPooled } }"""
BACKORDERS = """query($region: String!) {
  backorders(region: $region, status: [OPEN, PARTIALLY_COVERED, COVERED], first: 500) {
    edges { node { reference open site { code } item { sku } } }
  }
}"""
RECEIVED = """id status quantity quantityReceived quantityLost receivedAt"""


def test_the_full_round_from_plan_to_shelf(
    boards: Boards, demo: DemoTokens, db: Database, shoot: Callable[[Page, str], Path]
) -> None:
    api = Client(boards.base, demo.coordinator)

    # The coordinator: dry run, save the plan, approve two (one of them the sender's to the site), reject one.
    coordinator = boards.open(demo.coordinator)
    plan = coordinator.locator("#plan")
    plan.get_by_role("button", name="Dry run").click()
    expect(coordinator.locator("#plan-diff")).to_contain_text("added, 0 removed, 0 changed")
    plan.get_by_role("button", name="Save plan").click()
    expect(plan).to_contain_text("Current plan saved")
    saved = suggestions(api, demo.region)
    ours = [t for t in saved if (t["fromSite"]["code"], t["toSite"]["code"]) == (demo.sender_code, demo.site_code)]
    shipped = max(ours, key=lambda t: t["quantity"])  # the demo's largest transfer: sender to site
    other, rejected = distinct([t for t in saved if label(t) != label(shipped)], 2)
    for t in (shipped, other):
        coordinator.get_by_label(label(t), exact=True).check()
    plan.get_by_role("button", name="Approve 2 selected").click()
    expect(coordinator.get_by_role("status").filter(has_text="Approved 2 suggestions")).to_be_visible()
    coordinator.get_by_label(label(rejected), exact=True).check()
    coordinator.get_by_label("Reason for rejecting").first.fill("the donor keeps it for a study")
    coordinator.locator("#suggestions-reject").click()
    expect(coordinator.get_by_role("status").filter(has_text="Rejected 1 suggestion")).to_be_visible()
    assert [transfer(api, t["id"])["status"] for t in (shipped, other, rejected)] == [
        "APPROVED",
        "APPROVED",
        "REJECTED",
    ]
    assert transfer(api, rejected["id"])["history"][-1]["note"] == "the donor keeps it for a study"
    pooled_card = coordinator.locator('#kpis [data-field="unitsPooled"]')
    pooled_before = units_pooled(api, coordinator, demo.region)
    expect(pooled_card).to_have_text(str(pooled_before))

    # The sending site ships it in its view, while the receiving site's page is open.
    site = boards.open(demo.site)
    expect(site.locator("#live")).to_have_text("live")
    sender = boards.open(demo.sender)
    ship_the_transfer(sender, shipped)  # returns once the page says it is shipped
    assert transfer(api, shipped["id"])["status"] == "SHIPPED"
    shoot(sender, "sender")
    # Live on the coordinator's map: now in transit.
    on_map = coordinator.locator("#map tbody tr").filter(has_text=shipped["item"]["sku"])
    expect(on_map.filter(has_text=demo.sender_code).filter(has_text="in transit")).to_have_count(1)

    # The receiving site receives it with one unit lost, in its view (the Receive button came live).
    receive_the_transfer(site, shipped, shipped["quantity"] - 1)  # returns once the page says it is received
    node = f"query($id: ID!) {{ node(id: $id) {{ ... on Transfer {{ {RECEIVED} }} }} }}"
    received = api.gql(node, {"id": shipped["id"]})["node"]
    assert received["status"] == "RECEIVED"
    assert (received["quantityReceived"], received["quantityLost"]) == (shipped["quantity"] - 1, 1)
    shoot(site, "site")

    # The coordinator's card (updated live, no reload) shows what the API counts: the units that arrived.
    pooled = units_pooled(api, coordinator, demo.region)
    assert pooled - pooled_before == received["quantityReceived"]
    expect(pooled_card).to_have_text(str(pooled))
    shoot(coordinator, "coordinator")

    # Its backorders table (live too) shows what is still open at the receiver: the lost unit.
    waiting = api.gql(BACKORDERS, {"region": demo.region})["backorders"]["edges"]
    served = [
        e["node"]
        for e in waiting
        if (e["node"]["site"]["code"], e["node"]["item"]["sku"]) == (demo.site_code, shipped["item"]["sku"])
    ]
    assert served and sum(b["open"] for b in served) >= 1  # the lost unit is waiting again
    for backorder in served:
        row = coordinator.locator("#backorders tbody tr").filter(has_text=backorder["reference"])
        expect(row.locator("td").nth(7)).to_have_text(str(backorder["open"]))  # the "Open" column
    # And the ledger holds (what `stockpool check` runs).
    with db.reading() as session:
        assert audit(session) == []


def units_pooled(api: Client, page: Page, region: str) -> int:
    """The API's unitsPooled over the card's period (the last 30 days, the page's default)."""
    since = page.evaluate("new Date(Date.now() - 30 * 86400000).toISOString()")
    return api.gql(KPIS, {"region": region, "since": since})["kpis"]["unitsPooled"]  # type: ignore[no-any-return]


def ship_the_transfer(page: Page, t: dict[str, Any]) -> None:
    """The sender's "What to ship": the transfer's Ship button; returns once the page says it shipped."""
    to_ship = page.get_by_role("region", name="What to ship")
    name = f"Ship {t['quantity']} {t['item']['sku']} to {t['toSite']['code']}"
    to_ship.get_by_role("button", name=name, exact=True).click()
    expect(page.locator("#toast")).to_contain_text(f"Shipped {t['quantity']}")
    expect(to_ship.get_by_role("button", name=name, exact=True)).to_have_count(0)


def receive_the_transfer(page: Page, t: dict[str, Any], quantity: int) -> None:
    """The receiver's "What is coming": the quantity received, then Receive; returns once the page says so."""
    coming = page.get_by_role("region", name="What is coming")
    what = f"{t['quantity']} {t['item']['sku']} from {t['fromSite']['code']}"
    receive = coming.get_by_role("button", name=f"Receive {what}")
    expect(receive).to_be_visible()  # live: it was shipped while the page was open, or before
    coming.get_by_label(f"Quantity received, {what}").fill(str(quantity))
    receive.click()
    expect(page.locator("#toast")).to_contain_text(f"Received {quantity} of {t['quantity']} {t['item']['sku']}")
    expect(receive).to_have_count(0)
