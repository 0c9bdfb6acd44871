"""A SITE token's board shows its own site only: no other site's backorders, Ship and Receive only for its own
transfers (and its own reorders), no plan or approval controls — checked in the page (by role) and in every answer
the page received from the API, against what an ADMIN reads of the same network."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, Response, expect

from pooling.demo import DemoTokens
from tests.api.conftest import Client
from tests.board.conftest import Boards

PLAN = """mutation Plan($region: String!) {
  rebalance(input: {region: $region, dryRun: false}) { plan { transfers { id } reorders { id } } errors { message } }
}"""
APPROVE = """mutation A($ids: [ID!]!) { approveTransfers(input: {ids: $ids}) { errors { message } } }"""
ORDER = """mutation O($ids: [ID!]!) { approveReorders(input: {ids: $ids}) { errors { message } } }"""
SHIP = """mutation S($id: ID!) { shipTransfer(input: {id: $id}) { errors { message } } }"""
OPEN = """{
  transfers(status: [APPROVED, SHIPPED], first: 500) { edges { node {
    id status quantity fromSite { code } toSite { code } item { sku } } } }
  reorders(status: [ORDERED], first: 500) { edges { node { quantity site { code } item { sku } } } }
  backorders(status: [OPEN, PARTIALLY_COVERED, COVERED], first: 500) { edges { node { site { code } } } }
}"""
PLAN_WORDS = re.compile(r"\b(approve|reject|dry run|save plan|rebalance|select)\b", re.IGNORECASE)
PLAN_OPERATIONS = ("rebalance", "approveTransfers", "rejectTransfers", "approveReorders", "rejectReorders", "plans")


def round_in_progress(base: str, demo: DemoTokens, ship: bool) -> dict[str, Any]:
    """The coordinator saves a plan and approves all of it (and with `ship` every transfer ships): the region then
    has transfers between many sites and ordered reorders. What an ADMIN reads of it."""
    coordinator, admin = Client(base, demo.coordinator), Client(base, demo.admin)
    plan = coordinator.gql(PLAN, {"region": demo.region})["rebalance"]["plan"]
    transfers, reorders = [t["id"] for t in plan["transfers"]], [r["id"] for r in plan["reorders"]]
    assert coordinator.gql(APPROVE, {"ids": transfers})["approveTransfers"]["errors"] == []
    if reorders:
        assert coordinator.gql(ORDER, {"ids": reorders})["approveReorders"]["errors"] == []
    for transfer in transfers if ship else []:
        assert admin.gql(SHIP, {"id": transfer})["shipTransfer"]["errors"] == []
    return admin.gql(OPEN)


def nodes(answer: dict[str, Any], field: str) -> list[dict[str, Any]]:
    return [edge["node"] for edge in answer[field]["edges"]]


def walk(value: Any, key: str | None = None) -> Iterator[tuple[str | None, Any]]:
    """Every (key, value) in a JSON answer, depth first."""
    yield key, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v, key)


def labels(page: Page, pattern: str) -> list[str]:
    found = page.get_by_role("button", name=re.compile(pattern)).evaluate_all(
        "buttons => buttons.map(b => b.getAttribute('aria-label') || b.textContent)"
    )
    return sorted(found)


@pytest.mark.parametrize("who", ["site", "sender"])
def test_a_site_token_sees_its_own_site_only_and_no_plan_controls(
    boards: Boards, board_server: str, demo: DemoTokens, who: str
) -> None:
    token, own = (demo.site, demo.site_code) if who == "site" else (demo.sender, demo.sender_code)
    # The receiver's transfers in have shipped (Receive); the sender's are approved (Ship).
    network = round_in_progress(board_server, demo, ship=who == "site")
    transfers, reorders = nodes(network, "transfers"), nodes(network, "reorders")
    # The check means something: others' transfers and backorders exist, to be kept out of this site's page.
    assert any(own not in (t["fromSite"]["code"], t["toSite"]["code"]) for t in transfers)
    assert any(b["site"]["code"] != own for b in nodes(network, "backorders"))

    answers: list[Response] = []
    page = boards.open()
    page.on("response", lambda r: answers.append(r) if r.url.endswith("/graphql") else None)
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#view section[data-loads]")).to_have_count(5)  # every part answered

    # The page: Ship for its approved transfers out, Receive for its shipped transfers in and ordered reorders.
    ships = [
        f"Ship {t['quantity']} {t['item']['sku']} to {t['toSite']['code']}"
        for t in transfers
        if t["status"] == "APPROVED" and t["fromSite"]["code"] == own
    ]
    receipts = [
        f"Receive {t['quantity']} {t['item']['sku']} from {t['fromSite']['code']}"
        for t in transfers
        if t["status"] == "SHIPPED" and t["toSite"]["code"] == own
    ]
    receipts += [
        f"Receive {r['quantity']} {r['item']['sku']} from the supplier" for r in reorders if r["site"]["code"] == own
    ]
    assert ships or receipts, "the round gives this site something to ship or receive"
    assert labels(page, "^Ship") == sorted(ships)
    assert labels(page, "^Receive") == sorted(receipts)
    for role in ("button", "checkbox", "textbox", "combobox"):
        controls = page.get_by_role(role).evaluate_all(
            "els => els.map(e => e.getAttribute('aria-label') || e.textContent || e.placeholder || '')"
        )
        assert not [c for c in controls if PLAN_WORDS.search(c)], (role, controls)

    # The network: what the page asked, and every answer it received.
    assert answers
    for response in answers:
        sent = json.loads(response.request.post_data or "{}").get("query", "")
        assert not any(re.search(rf"\b{name}\b", sent) for name in PLAN_OPERATIONS), sent
        for key, value in walk(response.json().get("data")):
            if isinstance(value, dict) and "fromSite" in value and "toSite" in value:
                assert own in (value["fromSite"]["code"], value["toSite"]["code"]), value
            if key == "backorders" and isinstance(value, dict):
                assert {e["node"]["site"]["code"] for e in value["edges"]} <= {own}, value
            if key == "reorders" and isinstance(value, dict):
                assert {e["node"]["site"]["code"] for e in value["edges"]} <= {own}, value
            assert key not in ("plans", "rebalance", "kpis", "lending"), key
