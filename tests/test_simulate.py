"""`stockpool simulate`: short simulations through the real operations, on the test database (SQLite or
PostgreSQL). No expected figures written by hand: runs are compared with each other and with the ledger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from models import Forecast, Order, Plan, PolicyMode, StockLevel
from models.base import clock_at, utcnow
from models.db import Database
from pooling.simulation.compare import Comparison, check_policies, simulate
from pooling.simulation.run import DEMAND, FORECAST_FROM, START, moment
from pooling.simulation.world import draw_world


def short(db: Database, seeds: list[int], policies: list[str], days: int = 8) -> Comparison:
    return simulate(db, days, 4, 5, seeds, policies)


def test_the_world_is_the_seed_s_alone_and_has_what_the_issue_names() -> None:
    a, b, other = draw_world(3, 60, 8, 30), draw_world(3, 60, 8, 30), draw_world(4, 60, 8, 30)
    assert np.array_equal(a.demand, b.demand) and np.array_equal(a.supplier_days, b.supplier_days)
    assert a.lanes == b.lanes and not np.array_equal(a.demand, other.demand)
    assert set(np.unique(a.demand_class)) == {0, 1, 2}  # smooth, intermittent, lumpy
    assert a.delayed.any() and (a.loss_fraction > 0).any()
    spike = slice(a.spike_start, a.spike_start + 7)
    assert a.demand[spike, a.spike_site].mean() > a.demand[:, a.spike_site].mean()
    lead_hours = [hours for *_, hours in a.lanes]
    assert min(lead_hours) < max(lead_hours)  # lead times (and costs) follow the distances


def test_the_clock_sets_what_the_operations_stamp() -> None:
    with clock_at(moment(3, 12)):
        assert utcnow() == START + timedelta(days=3, hours=12)
    assert utcnow() > START + timedelta(days=365)
    with pytest.raises(ValueError, match="naive"), clock_at(datetime(2025, 1, 1)):
        pass


def test_a_seed_gives_the_same_table_twice(db: Database) -> None:
    first = short(db, [5], ["none", "nearest", "reactive"])
    second = short(db, [5], ["none", "nearest", "reactive"])  # the earlier simulation's database is emptied first
    assert [r.metrics for r in first.runs] == [r.metrics for r in second.runs]
    assert [r.daily for r in first.runs] == [r.daily for r in second.runs]
    assert first.breaches == second.breaches == ()
    with db.reading() as s:  # the operations stamped the simulated days, not today
        first_order, last_order = s.execute(select(func.min(Order.created_at), func.max(Order.created_at))).one()
        plans = s.scalars(select(Plan.created_at)).all()
    assert moment(0, DEMAND) <= first_order <= last_order <= moment(7, DEMAND)
    assert plans and all(moment(0, 0) <= at <= moment(8, 0) for at in plans)


def test_pooling_waits_less_than_no_pooling_on_the_same_demand(db: Database) -> None:
    seeds = [1, 2, 3]
    c = simulate(db, 21, 5, 6, seeds, ["none", "reactive"])
    assert c.breaches == ()
    none, reactive = c.values("none", "backorder-days"), c.values("reactive", "backorder-days")
    assert sum(none) > 0, "the worlds must make backorders for the comparison to mean anything"
    assert sum(reactive) < sum(none), list(zip(seeds, none, reactive, strict=True))
    assert sum(c.values("reactive", "units pooled")) > 0 == sum(c.values("none", "units pooled"))
    # Every policy saw the same demand: the same units were asked for, day by day.
    for seed in seeds:
        asked = {r.policy: r.daily["demand"] for r in c.runs if r.seed == seed}
        assert asked["none"] == asked["reactive"]


def test_unknown_policies_are_refused_before_anything_runs() -> None:
    assert check_policies(["none", "nearest", "reactive", "proactive", "none"]) == (
        "none",
        "nearest",
        "reactive",
        "proactive",
    )
    with pytest.raises(ValueError, match="unknown policy 'bogus'"):
        check_policies(["none", "bogus"])


def test_proactive_forecasts_the_simulated_history_and_follows_it(db: Database) -> None:
    c = simulate(db, FORECAST_FROM + 2, 3, 4, [2], ["proactive"])
    assert c.breaches == ()
    with db.reading() as s:
        forecasts = s.scalars(select(Forecast)).all()
        modes = set(s.scalars(select(StockLevel.policy_mode)).all())
        plans = s.scalars(select(Plan)).all()
    assert modes == {PolicyMode.FORECAST} and forecasts and len(plans) == FORECAST_FROM + 2
    # Computed on the simulated day, from the simulated history (day 0 to that day), not from today's.
    assert {f.computed_at.date() for f in forecasts} == {moment(FORECAST_FROM, 0).date()}
    assert {f.history_days for f in forecasts} == {FORECAST_FROM + 1}


def test_the_command_prints_json_writes_the_report_and_leaves_a_clean_ledger(db: Database, tmp_path: Path) -> None:
    report = tmp_path / "sim.html"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    simulated = subprocess.run(
        [
            sys.executable, "-m", "api.cli", "simulate", "--days", "4", "--sites", "3", "--items", "3",
            "--seeds", "2", "--policies", "none,reactive", "--database-url", db.url, "--json", "--report", str(report),
        ],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert simulated.returncode == 0, simulated.stderr
    document = json.loads(simulated.stdout)
    assert document["ledger"] == {"ok": True, "breaches": []}
    assert set(document["table"]) == {"none", "reactive"} and document["seeds"] == [1, 2]
    assert document["table"]["none"]["fill rate"]["low"] <= document["table"]["none"]["fill rate"]["mean"]
    page = report.read_text()
    assert "Plotly.newPlot" in page and "https://" not in page.split("<script>")[0]
    checked = subprocess.run(
        [sys.executable, "-m", "api.cli", "check"],
        env={**env, "DATABASE_URL": db.url}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout

    refused = subprocess.run(
        [sys.executable, "-m", "api.cli", "simulate", "--policies", "none,bogus", "--database-url", db.url],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 2 and "unknown policy 'bogus'" in refused.stderr
