"""`stockpool bench --history-days`: runs at a small size and reports every series it forecast."""

from __future__ import annotations

import json

import pytest

from api.cli import main


def test_the_forecast_bench_reports_its_figures(capsys: pytest.CaptureFixture[str], tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/bench.db"
    assert (
        main(["--database-url", url, "bench", "--history-days", "60", "--sites", "7", "--items", "200", "--json"]) == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["series"] == 7 * 10
    assert sum(report["by_class"].values()) == sum(report["by_method"].values()) == report["series"]
    assert report["seconds"]["forecast_and_policies"] > 0 and report["peak_rss_mb"] > 0


@pytest.mark.parametrize("days", ["0", "-3", "100000"])
def test_bad_history_days_are_a_usage_error(days: str, tmp_path: object) -> None:
    assert main(["--database-url", f"sqlite:///{tmp_path}/bench.db", "bench", "--history-days", days]) == 2
