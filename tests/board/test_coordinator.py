"""The coordinator's view in a real browser: dry run, save the plan, approve and reject suggestions; a double click
applies once; a second browser sees the approval live; a refused approval is shown beside its row and changes
nothing; phone width; keyboard. Every outcome is checked through the API, not only on the page."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import APIResponse, Page, Request, Route, expect

from pooling.demo import DemoTokens
from tests.api.conftest import Client
from tests.board.conftest import PHONE, Boards, sign_in

TRANSFER = """id status quantity reason fromSite { code } toSite { code } item { sku }
  history { action note }"""

SUGGESTED = f"""query($region: String!) {{
  transfers(region: $region, status: [SUGGESTED], first: 500) {{ edges {{ node {{ {TRANSFER} }} }} }}
}}"""

NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on Transfer {{ {TRANSFER} }} }} }}"

REBALANCE = """mutation($input: RebalanceInput!) {
  rebalance(input: $input) {
    plan { transfers { quantity fromSite { code } toSite { code } item { sku } }
           reorders { quantity site { code } item { sku } } }
    errors { message }
  }
}"""

REORDERS = """query($region: String!) {
  reorders(region: $region, status: [SUGGESTED], first: 500) {
    edges { node { id quantity item { sku } site { code } } }
  }
}"""

NODE_REORDER = "query($id: ID!) { node(id: $id) { ... on Reorder { status } } }"

LEVEL = """query($site: String!, $sku: String!) {
  stockLevels(site: $site, sku: $sku) { edges { node { onHand reserved available } } }
}"""

CONSUME = """mutation($site: String!, $sku: String!, $quantity: Int!) {
  recordMovement(input: { site: $site, sku: $sku, quantity: $quantity, reason: CONSUMPTION }) {
    errors { message }
  }
}"""


def label(t: dict[str, Any]) -> str:
    """The page's name for a suggestion (js/coordinator/plan.js `describe`), the label of its checkbox."""
    restock = " (restock)" if t["reason"] == "REPLENISH" else ""
    return f"Select {t['quantity']} {t['item']['sku']} from {t['fromSite']['code']} to {t['toSite']['code']}{restock}"


def suggestions(api: Client, region: str) -> list[dict[str, Any]]:
    return [e["node"] for e in api.gql(SUGGESTED, {"region": region})["transfers"]["edges"]]


def transfer(api: Client, id: str) -> dict[str, Any]:
    return api.gql(NODE, {"id": id})["node"]  # type: ignore[no-any-return]


def distinct(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """n suggestions whose checkbox labels are unique on the page (largest first, as a coordinator would pick)."""
    counts = Counter(label(t) for t in rows)
    chosen = [t for t in sorted(rows, key=lambda t: -t["quantity"]) if counts[label(t)] == 1][:n]
    assert len(chosen) == n, f"the plan has fewer than {n} distinguishable suggestions"
    return chosen


def planned_lines(api: Client, region: str) -> int:
    """How many (from, to, sku) lines a dry run plans, asked of the API (nothing is saved)."""
    plan = api.gql(REBALANCE, {"input": {"region": region, "dryRun": True}})["rebalance"]["plan"]
    keys = {(t["fromSite"]["code"], t["toSite"]["code"], t["item"]["sku"]) for t in plan["transfers"]}
    keys |= {("supplier", r["site"]["code"], r["item"]["sku"]) for r in plan["reorders"]}
    return len(keys)


def save_plan(api: Client, region: str) -> None:
    payload = api.gql(REBALANCE, {"input": {"region": region, "dryRun": False}})["rebalance"]
    assert payload["errors"] == []


def mutations_sent(page: Page, name: str) -> list[Request]:
    """Collects the page's POSTs of a mutation (by its field name) from now on."""
    sent: list[Request] = []

    def seen(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/graphql"):
            body = json.loads(request.post_data or "{}")
            if f"{name}(" in body.get("query", ""):
                sent.append(request)

    page.on("request", seen)
    return sent


def test_a_coordinator_dry_runs_saves_the_plan_approves_and_rejects(
    boards: Boards, demo: DemoTokens, shoot: Callable[[Page, str], Path]
) -> None:
    api = Client(boards.base, demo.coordinator)
    page = boards.open(demo.coordinator)
    watcher = boards.open(demo.coordinator)  # a second browser of the same coordinator, never reloaded
    plan = page.locator("#plan")
    expect(plan).to_contain_text("No plan is current")

    # Dry run: nothing is current, so every line the API plans is "added"; nothing is saved.
    lines = planned_lines(api, demo.region)
    plan.get_by_role("button", name="Dry run").click()
    expect(page.locator("#plan-diff")).to_contain_text(f"{lines} added, 0 removed, 0 changed")
    expect(page.locator("#plan-diff tbody tr")).to_have_count(lines)
    assert suggestions(api, demo.region) == []

    # Save: the suggestions of the saved plan are the page's rows; the diff of a new dry run is empty.
    plan.get_by_role("button", name="Save plan").click()
    expect(plan).to_contain_text("Current plan saved")
    saved = suggestions(api, demo.region)
    assert saved
    expect(plan.locator("tbody input[type=checkbox]")).to_have_count(len(saved))
    plan.get_by_role("button", name="Dry run").click()
    expect(page.locator("#plan-diff")).to_contain_text("0 added, 0 removed, 0 changed")
    shoot(page, "plan")

    # Approve two with a double click: one request, each approved once.
    first, second, third = distinct(saved, 3)
    expect(watcher.get_by_label(label(first), exact=True)).to_be_visible()  # the watcher has them before
    approvals = mutations_sent(page, "approveTransfers")
    page.get_by_label(label(first), exact=True).check()
    page.get_by_label(label(second), exact=True).check()
    page.get_by_role("button", name="Approve 2 selected").dblclick()
    expect(page.get_by_role("status").filter(has_text="Approved 2 suggestions")).to_be_visible()
    expect(page.get_by_label(label(first), exact=True)).to_have_count(0)
    assert len(approvals) == 1
    for t in (first, second):
        after = transfer(api, t["id"])
        assert after["status"] == "APPROVED"
        assert [h["action"] for h in after["history"]].count("APPROVED") == 1

    # Reject one with a reason: kept in its history.
    page.get_by_label(label(third), exact=True).check()
    page.get_by_label("Reason for rejecting").first.fill("courier strike on that lane")
    page.locator("#suggestions-reject").click()
    expect(page.get_by_role("status").filter(has_text="Rejected 1 suggestion")).to_be_visible()
    rejected = transfer(api, third["id"])
    assert rejected["status"] == "REJECTED"
    assert rejected["history"][-1]["action"] == "REJECTED"
    assert rejected["history"][-1]["note"] == "courier strike on that lane"
    left = suggestions(api, demo.region)
    assert {t["id"] for t in left} == {t["id"] for t in saved} - {first["id"], second["id"], third["id"]}
    expect(plan.locator("tbody input[type=checkbox]")).to_have_count(len(left))

    # The plan's reorder, approved in "Reorders to approve": ordered from the supplier.
    waiting = [e["node"] for e in api.gql(REORDERS, {"region": demo.region})["reorders"]["edges"]]
    assert waiting, "the saved plan has no reorder"
    reorder = waiting[0]
    reorders = page.locator("#reorders")
    name = f"Select reorder of {reorder['quantity']} {reorder['item']['sku']} for {reorder['site']['code']}"
    reorders.get_by_label(name, exact=True).first.check()
    reorders.get_by_role("button", name="Approve 1 selected").click()
    expect(page.get_by_role("status").filter(has_text="Approved 1 reorder")).to_be_visible()
    assert api.gql(NODE_REORDER, {"id": reorder["id"]})["node"]["status"] == "ORDERED"
    expect(reorders.locator("tbody input[type=checkbox]")).to_have_count(len(waiting) - 1)

    # Live: the second browser, never reloaded, lost the decided rows and shows the approved ones on its map.
    for t in (first, second, third):
        expect(watcher.get_by_label(label(t), exact=True)).to_have_count(0)
    map_rows = watcher.locator("#map tbody tr")
    for t in (first, second):
        expect(
            map_rows.filter(has_text=t["fromSite"]["code"])
            .filter(has_text=t["item"]["sku"])
            .filter(has_text="approved")
        ).not_to_have_count(0)
    expect(watcher.locator("#plan tbody input[type=checkbox]")).to_have_count(len(left))
    shoot(watcher, "live")


def test_a_plan_saved_while_the_page_loads_appears_without_a_reload(boards: Boards, demo: DemoTokens) -> None:
    """The page reads the plan, then goes live. A plan saved in between must still appear: here the page's plan
    reads reach the server before the save and their answers reach the page after it. The page subscribes after
    the `eventCursor` it read before loading, so the PLAN_SAVED it did not see live comes first. (Subscribed
    "from now" once loaded, the page showed no plan until reloaded: CI met this on a busy machine.)"""
    api = Client(boards.base, demo.coordinator)
    held: list[tuple[Route, APIResponse]] = []
    saved: list[dict[str, Any]] = []

    def answer_after_the_save(route: Route) -> None:
        asked = route.request.post_data or ""
        if not saved and ("BoardCurrentPlan" in asked or "BoardSuggestions" in asked):
            held.append((route, route.fetch()))  # read now, before the save; answered after it
        else:
            route.continue_()

    page = boards.open()
    page.route("**/graphql", answer_after_the_save)
    sign_in(page, demo.coordinator)
    deadline = time.monotonic() + 30
    while len(held) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert len(held) == 2, "the page did not read its plan"
    api.gql(REBALANCE, {"input": {"region": demo.region, "dryRun": False}})
    saved.extend(suggestions(api, demo.region))
    assert saved
    for route, response in held:
        route.fulfill(response=response)
    expect(page.locator("#plan")).to_contain_text("Current plan saved")
    expect(page.locator("#plan tbody input[type=checkbox]")).to_have_count(len(saved))


def test_a_refused_approval_is_shown_beside_its_row_and_changes_nothing(
    boards: Boards, demo: DemoTokens, shoot: Callable[[Page, str], Path]
) -> None:
    api = Client(boards.base, demo.coordinator)
    admin = Client(boards.base, demo.admin)
    save_plan(api, demo.region)
    saved = suggestions(api, demo.region)
    doomed, fine = distinct(saved, 2)
    page = boards.open(demo.coordinator)
    expect(page.get_by_label(label(doomed), exact=True)).to_be_visible()

    # Meanwhile the donor uses everything it had available.
    where = {"site": doomed["fromSite"]["code"], "sku": doomed["item"]["sku"]}
    level = api.gql(LEVEL, where)["stockLevels"]["edges"][0]["node"]
    assert level["available"] > 0
    consumed = admin.gql(CONSUME, {**where, "quantity": -level["available"]})["recordMovement"]
    assert consumed["errors"] == []
    before = api.gql(LEVEL, where)["stockLevels"]["edges"][0]["node"]

    page.get_by_label(label(doomed), exact=True).check()
    page.get_by_label(label(fine), exact=True).check()
    page.get_by_role("button", name="Approve 2 selected").click()
    message = page.locator(f'#plan tr[data-message-for="{doomed["id"]}"]')
    expect(message).to_contain_text("to spare now")
    expect(message).to_contain_text(doomed["id"])
    # Beside the row it concerns: the row just above the message is the refused transfer's.
    expect(message.locator("xpath=preceding-sibling::tr[1]").get_by_label(label(doomed), exact=True)).to_be_visible()
    expect(page.locator("#plan tr.message-row")).to_have_count(1)
    # Nothing changed: every suggestion is still suggested, the donor's stock is as it was after the consumption.
    assert {t["id"] for t in suggestions(api, demo.region)} == {t["id"] for t in saved}
    assert transfer(api, fine["id"])["status"] == "SUGGESTED"
    assert api.gql(LEVEL, where)["stockLevels"]["edges"][0]["node"] == before
    expect(page.get_by_label(label(fine), exact=True)).to_be_checked()  # the selection is kept, to retry without it
    shoot(page, "refused")


def test_the_view_fits_a_phone_and_works_with_the_keyboard(
    boards: Boards, demo: DemoTokens, shoot: Callable[[Page, str], Path]
) -> None:
    api = Client(boards.base, demo.coordinator)
    save_plan(api, demo.region)
    saved = suggestions(api, demo.region)
    count = len(saved)
    desktop = boards.open(demo.coordinator)
    expect(desktop.locator("#plan tbody input[type=checkbox]")).to_have_count(count)
    expect(desktop.locator("#map svg path.arrow")).not_to_have_count(0)
    shoot(desktop, "desktop")

    phone = boards.open(demo.coordinator, viewport=PHONE)
    expect(phone.locator("#plan tbody input[type=checkbox]")).to_have_count(count)
    expect(phone.locator("#map svg path.arrow")).not_to_have_count(0)
    width = phone.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide at phone width"
    shoot(phone, "phone")

    # The map has an accessible name and description.
    expect(desktop.get_by_role("img", name="Map of region")).to_have_attribute("aria-describedby", "map-svg-desc")
    expect(desktop.locator("#map-svg-desc")).to_contain_text(f"{count} suggested")

    # Keyboard: Tab reaches the main controls, each with an accessible name.
    wanted = ["Period", "Dry run", "Save plan", "Approve 0 selected", "Reason for rejecting", "Reject 0 selected"]
    reached: list[str] = []
    desktop.locator("body").focus()
    for _ in range(60):
        desktop.keyboard.press("Tab")
        name = desktop.evaluate(
            """() => { const e = document.activeElement;
                 return e.getAttribute('aria-label') || (e.labels && e.labels[0] && e.labels[0].textContent.trim())
                        || e.textContent.trim(); }"""
        )
        reached.append(name)
        if all(any(w in r for r in reached) for w in wanted):
            break
    missing = [w for w in wanted if not any(w in r for r in reached)]
    assert missing == [], f"not reached with Tab: {missing} (reached {reached})"
    # "Select all" selects the rows that match the filter (here: one item's suggestions), and only those.
    sku = max(saved, key=lambda t: t["quantity"])["item"]["sku"]
    matching = [t for t in saved if t["item"]["sku"] == sku]
    desktop.get_by_label("Filter suggestions").fill(sku)
    expect(desktop.locator("#plan tbody input[type=checkbox]")).to_have_count(len(matching))
    desktop.locator("#plan").get_by_role("button", name="Select all").click()
    expect(desktop.get_by_role("button", name=f"Approve {len(matching)} selected")).to_be_visible()
    for t in matching:
        expect(desktop.get_by_label(label(t), exact=True)).to_be_checked()
    desktop.locator("#plan").get_by_role("button", name="Clear selection").click()
    desktop.get_by_label("Filter suggestions").fill("")
    # Selecting with the keyboard: Space on a focused checkbox, then the button names the count.
    desktop.locator("#plan tbody input[type=checkbox]").first.focus()
    desktop.keyboard.press("Space")
    expect(desktop.get_by_role("button", name="Approve 1 selected")).to_be_visible()
