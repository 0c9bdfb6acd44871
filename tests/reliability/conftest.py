"""The reliability suite talks to the same real uvicorn server as tests/api (one per test session)."""

from tests.api.conftest import admin, server, tokens  # noqa: F401 - fixtures shared with tests/api
