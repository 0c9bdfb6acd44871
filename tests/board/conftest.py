"""The board in a real browser: Debian's Chromium driven by Playwright, against a real server (uvicorn in a thread
of this process, real HTTP and websockets) over the test database loaded with the demo network.

Every page may reach this server only: any request to another host is refused and fails the test (the board works
offline). Screenshots go to test-artefacts/board/ (STOCKPOOL_ARTEFACTS to move them), kept by CI as artefacts.
Chromium's path: STOCKPOOL_CHROMIUM (default /usr/bin/chromium); without it the tests fail, as CI must run them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright

from models.db import Database
from pooling.demo import DemoTokens, load_demo
from tests.api.conftest import serving

CHROMIUM = os.environ.get("STOCKPOOL_CHROMIUM", "/usr/bin/chromium")
ARTEFACTS = Path(os.environ.get("STOCKPOOL_ARTEFACTS", Path(__file__).parents[2] / "test-artefacts")) / "board"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module: Playwright's sync API keeps an event loop running in this thread while it is
    started, which would break later tests that call asyncio.run."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (or set STOCKPOOL_CHROMIUM)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def board_server(migrated: Database) -> Iterator[str]:
    with serving(migrated) as base:
        yield base


@pytest.fixture
def demo(db: Database) -> DemoTokens:
    """The demo network, fresh for each test: two regions, a morning's orders, tokens of its coordinator (north)
    and of both ends of the largest transfer north's rebalance plans."""
    tokens = load_demo(db)
    assert tokens is not None
    return tokens


@dataclass
class Boards:
    """Opens pages of the board, each in its own browser context (its own session storage: its own sign-in)."""

    browser: Browser
    base: str
    contexts: list[BrowserContext] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def open(self, token: str | None = None, viewport: dict[str, int] | None = None, path: str = "/board") -> Page:
        here = urlsplit(self.base).netloc

        def only_this_server(route: Route) -> None:
            url = route.request.url
            if urlsplit(url).netloc == here or url.startswith(("data:", "blob:")):
                route.continue_()
            else:
                self.refused.append(url)
                route.abort("internetdisconnected")

        context = self.browser.new_context(viewport=viewport or DESKTOP)
        context.set_default_timeout(TIMEOUT_MS)
        context.route("**/*", only_this_server)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.goto(f"{self.base}{path}")
        if token is not None:
            sign_in(page, token)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def sign_in(page: Page, token: str) -> None:
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


@pytest.fixture
def boards(browser: Browser, board_server: str, demo: DemoTokens) -> Iterator[Boards]:
    opened = Boards(browser, board_server)
    try:
        yield opened
    finally:
        opened.close()
    assert opened.refused == [], f"the board asked other hosts: {opened.refused}"
    assert opened.page_errors == [], f"scripts failed in the page: {opened.page_errors}"


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """Save a screenshot of the whole page as test-artefacts/board/<test>-<name>.png."""

    def screenshot(page: Page, name: str) -> Path:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTEFACTS / f"{request.node.name}-{name}.png".replace("/", "_")
        page.screenshot(path=str(path), full_page=True)
        return path

    return screenshot
