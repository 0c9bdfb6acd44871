"""The board's files: served by the app, nothing from another host, vendored files unchanged (VENDOR.md)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx

BOARD = Path(__file__).parents[2] / "api" / "static" / "board"


def test_vendored_files_are_the_ones_vendor_md_names() -> None:
    table = (BOARD / "vendor" / "VENDOR.md").read_text()
    rows = re.findall(r"^\| (\S+\.js) \|.*\| ([0-9a-f]{64}) \|$", table, flags=re.MULTILINE)
    assert rows
    for name, digest in rows:
        assert hashlib.sha256((BOARD / "vendor" / name).read_bytes()).hexdigest() == digest, name


def test_the_page_and_its_files_come_from_the_app(board_server: str) -> None:
    page = httpx.get(f"{board_server}/board")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert re.findall(r"https?://", page.text) == []
    loaded = re.findall(r'(?:src|href)="([^"]*)"', page.text)
    assert all(url.startswith(("/static/board/", "/board", "data:", "#")) for url in loaded), loaded
    scripts = sorted(BOARD.rglob("*.js")) + sorted(BOARD.rglob("*.css"))
    for path in scripts:
        url = f"/static/board/{path.relative_to(BOARD).as_posix()}"
        answer = httpx.get(f"{board_server}{url}")
        assert answer.status_code == 200, url
        if "vendor" not in url:
            assert re.findall(r"https?://", answer.text) == [], url  # our own code names no other host
