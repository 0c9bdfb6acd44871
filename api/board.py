"""`/board`: the coordinators' and sites' web page. A client of the public GraphQL API only (what it shows follows
the token's role and scope exactly); every file it loads is served by this app from api/static/board/, so it
works on a closed network. No build step: plain ES modules, one vendored library (vendor/VENDOR.md)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

PAGE = Path(__file__).parent / "static" / "board" / "index.html"

# Nothing from elsewhere: scripts, styles, pictures and connections (HTTP and the events websocket) to this origin.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


async def board(_: Request) -> Response:
    return HTMLResponse(
        PAGE.read_text(encoding="utf-8"),
        headers={"Content-Security-Policy": POLICY, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
