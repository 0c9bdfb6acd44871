"""GraphiQL on a closed network: the page and every file it loads come from the app, and the editor renders in a
real headless Chromium that may reach nothing but this server.

Chromium is Debian's (`apt-get install -y chromium`), driven by Playwright (a dev extra); its path can be set with
STOCKPOOL_CHROMIUM. Without it the test fails, as CI must run it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Route, sync_playwright

CHROMIUM = os.environ.get("STOCKPOOL_CHROMIUM", "/usr/bin/chromium")
HTML = {"Accept": "text/html,application/xhtml+xml"}
ME = "{ me { name } }"
ANSWERED = "() => document.querySelector('.result-window .CodeMirror')?.CodeMirror.getValue().includes('test admin')"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (or set STOCKPOOL_CHROMIUM)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


def test_the_page_names_no_other_host(server: str) -> None:
    page = httpx.get(f"{server}/graphql", headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert re.findall(r"https?://", page.text) == []  # no CDN, nothing absolute
    loaded = re.findall(r'(?:src|href)="([^"]*)"', page.text)
    assert loaded and all(url.startswith(("/static/graphiql/", "data:")) for url in loaded), loaded
    for url in loaded:
        if url.startswith("/static/"):
            asset = httpx.get(f"{server}{url}", headers={"Accept-Encoding": "gzip"})
            assert asset.status_code == 200, url
            assert asset.headers.get("content-encoding") == "gzip", url  # 4 MB of files, about 1 MB on the wire


def test_the_editor_renders_and_runs_a_query_with_every_other_host_cut_off(
    server: str, tokens: dict[str, str], browser: Browser
) -> None:
    here = urlsplit(server).netloc
    refused: list[str] = []
    failed: list[str] = []

    def only_this_server(route: Route) -> None:
        if urlsplit(route.request.url).netloc == here or route.request.url.startswith("data:"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    context = browser.new_context()
    try:
        context.route("**/*", only_this_server)
        page = context.new_page()
        page.on("requestfailed", lambda request: failed.append(request.url))
        page.goto(f"{server}/graphql", wait_until="load")
        # The query editor exists only once React and GraphiQL have run (the page itself holds "Loading…").
        page.wait_for_selector(".graphiql-container .graphiql-query-editor .CodeMirror", timeout=60_000)
        # Type a query and the token (in the headers editor), run it: the answer comes back into the page.
        page.evaluate("q => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(q)", ME)
        page.get_by_text("Headers", exact=True).click()
        headers = page.locator(".graphiql-editor-tool .CodeMirror >> visible=true")
        headers.evaluate(
            "(e, h) => e.CodeMirror.setValue(h)", json.dumps({"Authorization": f"Bearer {tokens['admin']}"})
        )
        page.click(".graphiql-execute-button")
        page.wait_for_function(ANSWERED, timeout=60_000)
        answer = page.evaluate("document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()")
        assert json.loads(answer) == {"data": {"me": {"name": "test admin"}}}
    finally:
        context.close()
    assert refused == [] and failed == []


def test_the_static_folder_serves_nothing_outside_it(server: str) -> None:
    assert httpx.get(f"{server}/static/graphiql/LICENSE.graphiql").status_code == 200
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/graphiql/nothing.js"):
        assert httpx.get(f"{server}{path}").status_code == 404, path
