"""`stockpool bench` on a tiny network: it runs, the saved plan equals the pure solver's, the ledger holds."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from api.cli import main
from models import Backorder, Plan, PlanStatus, Site, StockLevel, Transfer
from models.db import Database
from pooling.audit import audit


def test_bench_runs_end_to_end_and_matches_the_pure_solver(
    db: Database, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--database-url",
            database_url,
            "bench",
            "--sites",
            "12",
            "--items",
            "15",
            "--lanes",
            "knn:4",
            "--seed",
            "3",
            "--json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["same_plan_as_raw_solver"] is True
    for stage in ("load", "read", "solve", "write", "raw_solve_1_process", "raw_solve_all_cores", "greedy"):
        assert report["seconds"][stage] >= 0
    optimal, greedy = report["optimal"], report["greedy"]
    assert optimal["units_requested"] == greedy["units_requested"] == report_units(db)
    # Pooling first: no plan pools more units than the optimal one.
    assert optimal["units_by_transfer"] >= greedy["units_by_transfer"]
    with db.reading() as s:
        assert s.scalar(select(func.count(Site.id))) == 12
        assert s.scalar(select(func.count(StockLevel.id))) == 12 * 15
        plan = s.scalar(select(Plan).where(Plan.status == PlanStatus.CURRENT))
        assert plan is not None and plan.units_by_transfer == optimal["units_by_transfer"]
        saved = s.scalar(select(func.sum(Transfer.quantity)).where(Transfer.plan_id == plan.id))
        assert saved == optimal["units_by_transfer"]
        assert audit(s) == []


def report_units(db: Database) -> int:
    with db.reading() as s:
        return int(s.scalar(select(func.sum(Backorder.quantity))) or 0)


def test_bench_refuses_a_database_that_has_data(
    db: Database, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--database-url", database_url, "bench", "--sites", "3", "--items", "2", "--lanes", "dense"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2
    assert "empty database" in capsys.readouterr().err
