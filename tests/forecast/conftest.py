"""Pure numeric tests of `pooling.forecasting`: no database, so they run on the SQLite pass of CI only."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("STOCKPOOL_TEST_DATABASE_URL"):
        skip = pytest.mark.skip(reason="pure numeric, no database: run once, on the SQLite pass")
        for item in items:
            if "tests/forecast/" in str(item.path).replace(os.sep, "/"):
                item.add_marker(skip)
