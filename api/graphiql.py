"""GraphiQL from the app itself: its page and every file that page loads, so the editor works on a closed network.

The files are vendored from the npm registry with their licences in api/static/graphiql/ (VENDOR.md says which);
`/static/...` serves that folder, gzip-compressed.
"""

from __future__ import annotations

from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from api.observe import ObservedGraphQL

STATIC = Path(__file__).parent / "static"
PAGE = (STATIC / "graphiql" / "index.html").read_text(encoding="utf-8")


class GraphQLView(ObservedGraphQL):
    """Strawberry's view (observed for the metrics), with a GraphiQL page that loads nothing from elsewhere
    (Strawberry's uses a CDN)."""

    @property
    def graphql_ide_html(self) -> str:
        return PAGE


def static_files() -> ASGIApp:
    return GZipMiddleware(StaticFiles(directory=STATIC), minimum_size=1024)
