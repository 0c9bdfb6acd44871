"""Signing in and out: the token decides the view; it is kept for this tab only, and a bad one is refused."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, Route, expect

from pooling.demo import DemoTokens
from tests.board.conftest import Boards, sign_in


def test_a_coordinator_signs_in_sees_the_region_and_signs_out(
    boards: Boards, demo: DemoTokens, shoot: Callable[[Page, str], Path]
) -> None:
    page = boards.open()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    sign_in(page, demo.coordinator)
    expect(page.locator("#who")).to_contain_text(f"region {demo.region}")
    expect(page.locator("body")).to_have_attribute("data-role", "COORDINATOR")
    expect(page.locator("#live")).to_have_text("live")  # the events subscription is open
    shoot(page, "coordinator")
    # A reload keeps the sign-in (session storage); signing out forgets the token.
    page.reload()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("Object.keys(sessionStorage)") == []
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_site_token_opens_the_site_view(boards: Boards, demo: DemoTokens) -> None:
    page = boards.open(demo.site)
    expect(page.locator("#who")).to_contain_text(demo.site_code)
    expect(page.locator("body")).to_have_attribute("data-role", "SITE")


def test_a_bad_token_is_refused_with_a_message(boards: Boards, demo: DemoTokens) -> None:
    page = boards.open()
    page.get_by_label("API token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    assert page.evaluate("Object.keys(sessionStorage)") == []


def test_signing_out_while_the_view_loads_leaves_nothing_behind(boards: Boards, demo: DemoTokens) -> None:
    """The view's module arrives after the sign-out: it is not shown and does not go live (and no script fails,
    which the `boards` fixture checks)."""
    page = boards.open()
    held: list[Route] = []
    page.route("**/static/board/js/site.js", lambda route: held.append(route))
    page.get_by_label("API token").fill(demo.site)
    page.get_by_role("button", name="Sign in").click()
    deadline = time.monotonic() + 30
    while not held and time.monotonic() < deadline:  # the site's view is on its way (its module held)
        page.wait_for_timeout(20)
    assert len(held) == 1
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    with page.expect_response("**/static/board/js/site.js"):
        held[0].continue_()
    page.evaluate("import('/static/board/js/site.js')")  # the module has run, and so has what awaited it
    expect(page.locator("#view > *")).to_have_count(0)
    expect(page.locator("#live")).to_have_text("offline")
    assert page.evaluate("Object.keys(sessionStorage)") == []
