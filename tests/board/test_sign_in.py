"""Signing in and out: the token decides the view; it is kept for this tab only, and a bad one is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

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
