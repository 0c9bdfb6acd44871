"""The site's view in a real browser: a coordinator's approval (through the API) appears live in the sender's "What
to ship"; the sender ships it (a double click ships once); the receiver receives it with one unit lost; the stock
levels, the transfer and the ledger agree, read back through the API and the database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from api.graphql.base import pk_of
from models import Forecast, Item, Movement, MovementReason, Role, Site
from models.db import Database
from pooling import forecasts
from pooling.access import create_token
from pooling.audit import audit
from pooling.demo import DemoTokens
from tests.api.conftest import Client
from tests.board.conftest import ARTEFACTS, PHONE, Boards

PLAN = """mutation Plan($region: String!) {
  rebalance(input: {region: $region, dryRun: false}) {
    plan { transfers { id quantity fromSite { code } toSite { code } item { sku } } }
    errors { code message }
  }
}"""
APPROVE = """mutation Approve($ids: [ID!]!) {
  approveTransfers(input: {ids: $ids}) { transfers { id status } errors { code message } }
}"""
SHIP = """mutation Ship($id: ID!) { shipTransfer(input: {id: $id}) { transfer { status } errors { message } } }"""
TRANSFER = """query T($id: ID!) { node(id: $id) { ... on Transfer {
  status quantity quantityReceived quantityLost shippedAt receivedAt } } }"""
LEVEL = """query L($site: String!, $sku: String!) {
  stockLevels(site: $site, sku: $sku) { edges { node { onHand reserved available incoming } } }
}"""
FILLED = """query B($site: String!) {
  backorders(site: $site, first: 500) { edges { node { id fulfilled item { sku } } } }
}"""


def planned_transfer(base: str, demo: DemoTokens) -> dict[str, Any]:
    """The coordinator saves a plan of the demo region; its largest transfer from the sender to the site."""
    saved = Client(base, demo.coordinator).gql(PLAN, {"region": demo.region})["rebalance"]
    assert saved["errors"] == []
    candidates = [
        t
        for t in saved["plan"]["transfers"]
        if (t["fromSite"]["code"], t["toSite"]["code"]) == (demo.sender_code, demo.site_code)
    ]
    assert candidates, "the demo plans a transfer from the sender to the site"
    return max(candidates, key=lambda t: t["quantity"])


def approve(base: str, demo: DemoTokens, transfer: dict[str, Any]) -> None:
    approved = Client(base, demo.coordinator).gql(APPROVE, {"ids": [transfer["id"]]})["approveTransfers"]
    assert approved["errors"] == [] and approved["transfers"][0]["status"] == "APPROVED"


def level(client: Client, site: str, sku: str) -> dict[str, int]:
    (edge,) = client.gql(LEVEL, {"site": site, "sku": sku})["stockLevels"]["edges"]
    return edge["node"]  # type: ignore[no-any-return]


def filled(client: Client, site: str, sku: str) -> int:
    edges = client.gql(FILLED, {"site": site})["backorders"]["edges"]
    return sum(e["node"]["fulfilled"] for e in edges if e["node"]["item"]["sku"] == sku)


def moves_of(db: Database, transfer_id: str) -> dict[tuple[MovementReason, int], int]:
    """The ledger's movements of one transfer: (reason, quantity) -> how many such rows."""
    pk = pk_of(transfer_id, "Transfer", "id")
    with db.transaction() as s:
        rows = s.execute(
            select(Movement.reason, Movement.quantity, func.count())
            .where(Movement.transfer_id == pk)
            .group_by(Movement.reason, Movement.quantity)
        ).all()
    return {(reason, quantity): count for reason, quantity, count in rows}


def ship_button(page: Page, transfer: dict[str, Any]) -> Any:
    name = f"Ship {transfer['quantity']} {transfer['item']['sku']} to {transfer['toSite']['code']}"
    return page.get_by_role("region", name="What to ship").get_by_role("button", name=name)


def no_page_overflow(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width  # type: ignore[index]


def test_an_approval_appears_live_and_a_double_click_on_ship_ships_once(
    boards: Boards, board_server: str, db: Database, demo: DemoTokens, shoot: Callable[[Page, str], Path]
) -> None:
    admin = Client(board_server, demo.admin)
    transfer = planned_transfer(board_server, demo)
    sku, quantity = transfer["item"]["sku"], transfer["quantity"]
    before = level(admin, demo.sender_code, sku)

    page = boards.open(demo.sender)
    expect(page.locator("#live")).to_have_text("live")
    to_ship = page.get_by_role("region", name="What to ship")
    expect(to_ship).to_contain_text("Nothing to ship.")
    approve(board_server, demo, transfer)  # elsewhere: the page is not reloaded
    expect(ship_button(page, transfer)).to_be_visible()
    assert level(admin, demo.sender_code, sku)["reserved"] == before["reserved"] + quantity
    shoot(page, "to-ship")

    ship_button(page, transfer).dblclick()
    expect(page.locator("#toast")).to_contain_text(f"Shipped {quantity}")
    expect(ship_button(page, transfer)).to_have_count(0)
    expect(to_ship).to_contain_text("Nothing to ship.")

    shipped = admin.gql(TRANSFER, {"id": transfer["id"]})["node"]
    assert shipped["status"] == "SHIPPED" and shipped["shippedAt"]
    after = level(admin, demo.sender_code, sku)
    assert (after["onHand"], after["reserved"]) == (before["onHand"] - quantity, before["reserved"])
    assert moves_of(db, transfer["id"]) == {(MovementReason.TRANSFER_OUT, -quantity): 1}  # once
    with db.transaction() as s:
        assert audit(s) == []


def test_the_receiver_receives_with_one_unit_lost_and_the_ledger_agrees(
    boards: Boards, board_server: str, db: Database, demo: DemoTokens, shoot: Callable[[Page, str], Path]
) -> None:
    admin = Client(board_server, demo.admin)
    transfer = planned_transfer(board_server, demo)
    sku, quantity, sender = transfer["item"]["sku"], transfer["quantity"], demo.sender_code
    approve(board_server, demo, transfer)

    page = boards.open(demo.site)
    expect(page.locator("#live")).to_have_text("live")
    coming = page.get_by_role("region", name="What is coming")
    expect(coming.get_by_role("row").filter(has_text=sku).filter(has_text="approved, not shipped yet")).to_be_visible()
    receive = coming.get_by_role("button", name=f"Receive {quantity} {sku} from {sender}")
    expect(receive).to_have_count(0)  # nothing to receive before it ships

    shipped = Client(board_server, demo.sender).gql(SHIP, {"id": transfer["id"]})["shipTransfer"]
    assert shipped["errors"] == []
    expect(receive).to_be_visible()  # live: the sender shipped
    before = level(admin, demo.site_code, sku)
    filled_before = filled(admin, demo.site_code, sku)

    received = coming.get_by_label(f"Quantity received, {quantity} {sku} from {sender}")
    expect(received).to_have_value(str(quantity))  # the default: all of it
    received.fill(str(quantity + 1))  # more than was sent: refused beside the row, nothing sent
    receive.click()
    expect(coming.get_by_role("alert")).to_contain_text(f"from 0 to {quantity}")
    assert admin.gql(TRANSFER, {"id": transfer["id"]})["node"]["status"] == "SHIPPED"
    received.fill(str(quantity - 1))
    expect(coming).to_contain_text("1 lost")
    shoot(page, "receiving")
    receive.click()
    expect(page.locator("#toast")).to_contain_text(f"Received {quantity - 1} of {quantity} {sku}")
    expect(page.locator("#toast")).to_contain_text("1 recorded as lost")
    expect(receive).to_have_count(0)
    shoot(page, "received")

    done = admin.gql(TRANSFER, {"id": transfer["id"]})["node"]
    assert (done["status"], done["quantityReceived"], done["quantityLost"]) == ("RECEIVED", quantity - 1, 1)
    moves = moves_of(db, transfer["id"])
    assert moves == {
        (MovementReason.TRANSFER_OUT, -quantity): 1,
        (MovementReason.TRANSFER_IN, quantity): 1,
        (MovementReason.TRANSFER_LOSS, -1): 1,
    }
    # What arrived is on the shelf, less what went straight to the site's backorders.
    newly_filled = filled(admin, demo.site_code, sku) - filled_before
    after = level(admin, demo.site_code, sku)
    assert after["onHand"] == before["onHand"] + quantity - 1 - newly_filled
    assert after["incoming"] == before["incoming"] - quantity
    with db.transaction() as s:
        assert audit(s) == []


def test_the_site_view_shows_stored_forecasts_and_fits_a_phone(
    boards: Boards, board_server: str, db: Database, demo: DemoTokens, shoot: Callable[[Page, str], Path]
) -> None:
    with db.transaction() as s:
        forecasts.recompute(s, region=demo.region, apply=False, actor="test")
        site = s.scalars(select(Site).where(Site.code == demo.site_code)).one()
        stored = {
            sku: f"{mean:.2f}/day"
            for sku, mean in s.execute(
                select(Item.sku, Forecast.daily_mean).join(Item).where(Forecast.site_id == site.id)
            )
        }
    assert stored
    transfer = planned_transfer(board_server, demo)
    approve(board_server, demo, transfer)
    Client(board_server, demo.sender).gql(SHIP, {"id": transfer["id"]})
    page = boards.open(demo.site, viewport=PHONE)
    coming = page.get_by_role("region", name="What is coming")
    expect(coming.get_by_role("button", name=f"Receive {transfer['quantity']}")).to_be_visible()
    stock = page.get_by_role("region", name="Stock levels")
    for sku, shown in sorted(stored.items())[:3]:
        expect(stock.get_by_role("row").filter(has_text=sku)).to_contain_text(shown)
    no_page_overflow(page)
    shoot(page, "phone")
    desktop = boards.open(demo.site)
    expect(desktop.get_by_role("region", name="What is coming").get_by_role("button")).not_to_have_count(0)
    no_page_overflow(desktop)
    shoot(desktop, "desktop")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    desktop.screenshot(path=str(ARTEFACTS / "site-view-1280x800.png"))  # the first screen (README's docs/board.png)


REORDERS = """mutation Plan($region: String!) {
  rebalance(input: {region: $region, dryRun: false}) {
    plan { reorders { id quantity site { code } item { sku } } }
    errors { message }
  }
}"""
ORDER = """mutation O($ids: [ID!]!) {
  approveReorders(input: {ids: $ids}) { reorders { status } errors { message } }
}"""
REORDER = """query R($id: ID!) { node(id: $id) { ... on Reorder { status quantityReceived } } }"""


def test_a_site_receives_an_ordered_reorder(boards: Boards, board_server: str, db: Database, demo: DemoTokens) -> None:
    coordinator = Client(board_server, demo.coordinator)
    plan = coordinator.gql(REORDERS, {"region": demo.region})["rebalance"]["plan"]
    assert plan["reorders"], "the demo's plan buys something"
    reorder = max(plan["reorders"], key=lambda r: (r["quantity"], r["id"]))
    ordered = coordinator.gql(ORDER, {"ids": [reorder["id"]]})["approveReorders"]
    assert ordered["errors"] == [] and ordered["reorders"][0]["status"] == "ORDERED"
    site, sku, quantity = reorder["site"]["code"], reorder["item"]["sku"], reorder["quantity"]
    with db.transaction() as s:
        _, token = create_token(s, f"{site} bench", Role.SITE, site=site)

    page = boards.open(token)
    coming = page.get_by_role("region", name="What is coming")
    coming.get_by_role("button", name=f"Receive {quantity} {sku} from the supplier").click()
    expect(page.locator("#toast")).to_contain_text(f"Received {quantity} of {quantity} {sku} from the supplier.")
    expect(coming.get_by_role("button", name=f"Receive {quantity} {sku} from the supplier")).to_have_count(0)

    done = coordinator.gql(REORDER, {"id": reorder["id"]})["node"]
    assert (done["status"], done["quantityReceived"]) == ("RECEIVED", quantity)
    pk = pk_of(reorder["id"], "Reorder", "id")
    with db.transaction() as s:
        moves = s.execute(select(Movement.reason, Movement.quantity).where(Movement.reorder_id == pk)).all()
        assert [tuple(m) for m in moves] == [(MovementReason.PURCHASE_RECEIPT, quantity)]
        assert audit(s) == []
