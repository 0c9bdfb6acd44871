"""The board works with no internet: with every request to another host refused, the page loads, signs in, goes
live and changes something; nothing was refused, and every file, request and websocket it used is this server's."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from pooling.demo import DemoTokens
from tests.api.conftest import Client
from tests.board.conftest import Boards
from tests.board.test_site import SHIP, TRANSFER, approve, planned_transfer


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.replace('ws', 'http')}://{parts.netloc}"


def record(page: Page, urls: list[str]) -> None:
    page.on("request", lambda request: urls.append(request.url))
    page.on("websocket", lambda socket: urls.append(socket.url))


def test_the_board_works_with_other_hosts_blocked_and_uses_this_origin_only(
    boards: Boards, board_server: str, demo: DemoTokens
) -> None:
    transfer = planned_transfer(board_server, demo)
    approve(board_server, demo, transfer)
    assert Client(board_server, demo.sender).gql(SHIP, {"id": transfer["id"]})["shipTransfer"]["errors"] == []

    used: list[str] = []
    page = boards.open()
    record(page, used)
    page.reload()  # the page's own files, recorded from the start
    page.get_by_label("API token").fill(demo.site)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#live")).to_have_text("live")  # the events websocket is open
    sku, quantity = transfer["item"]["sku"], transfer["quantity"]
    page.get_by_role("button", name=f"Receive {quantity} {sku} from {demo.sender_code}").click()
    expect(page.locator("#toast")).to_contain_text(f"Received {quantity} of {quantity} {sku}")
    received = Client(board_server, demo.admin).gql(TRANSFER, {"id": transfer["id"]})["node"]
    assert (received["status"], received["quantityReceived"]) == ("RECEIVED", quantity)  # the page did work

    coordinator = boards.open()
    record(coordinator, used)
    coordinator.reload()
    coordinator.get_by_label("API token").fill(demo.coordinator)
    coordinator.get_by_role("button", name="Sign in").click()
    expect(coordinator.locator("#live")).to_have_text("live")
    expect(coordinator.locator("#view > *")).not_to_have_count(0)

    # Every file the page loaded (scripts, styles, the vendored client), every request and the websocket: here.
    files = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    here = origin(board_server)
    assert any(url.endswith("/static/board/js/site.js") for url in files), files
    assert any(url.endswith("/static/board/vendor/graphql-ws.min.js") for url in files), files
    assert [url for url in files + used if origin(url) != here and not url.startswith("data:")] == []
    assert any(url.startswith("ws") for url in used)
    assert boards.refused == [] and boards.page_errors == []


def test_a_request_to_another_host_is_refused_and_seen(boards: Boards, demo: DemoTokens) -> None:
    """The guards themselves: the page's own scripts may not reach another host (its Content-Security-Policy), and
    the browser is refused anything elsewhere and lists it (the `boards` fixture fails a test that asked)."""
    page = boards.open(demo.site)
    outcome = page.evaluate("fetch('http://example.invalid/x').then(() => 'answered', () => 'refused')")
    assert outcome == "refused"
    with pytest.raises(PlaywrightError):
        page.goto("http://example.invalid/y")
    assert boards.refused == ["http://example.invalid/y"]
    boards.refused.clear()  # asked on purpose here: not a failure of this test
