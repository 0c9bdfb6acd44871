"""`stockpool rebalance`: dry runs, commits, auto-approval policies, JSON, exit codes, one run per region at a time."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.cli import main as stockpool
from models import Plan, PlanMode, PlanStatus, Priority, Reorder, ReorderStatus, StockLevel, Transfer, TransferStatus
from models.db import Database
from pooling import network, orders
from pooling.audit import audit
from pooling.nightly import run_region
from tests.factories import build_network, receive


@pytest.fixture
def region(db: Database) -> Database:
    """west: donors A (cheap lane, 1.00) and B (dear lane, 3.00) for C; CRITICAL and LOW backorders at C; an
    unbuyable item nobody holds at C too (unmet)."""
    build_network(
        db,
        {"A": "west", "B": "west", "C": "west"},
        {"X": "20.00", "Y": "50.00"},
        [("A", "C", "1.00", 6), ("B", "C", "3.00", 6)],
    )
    with db.transaction() as s:
        network.create_item(s, "Z", "unobtainium", "5.00", purchasable=False)
    receive(db, "A", "X", 4)
    receive(db, "B", "X", 4)
    with db.transaction() as s:
        orders.place_order(s, "C", "X", 5, Priority.CRITICAL)
        orders.place_order(s, "C", "X", 3, Priority.LOW)
        orders.place_order(s, "C", "Y", 2)
    return db


def rebalance(db: Database, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = stockpool(["--database-url", db.url, "rebalance", "--region", "west", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def count(db: Database, model: type, *where: object) -> int:
    with db.reading() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_dry_run_saves_nothing(region: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = rebalance(region, capsys)
    assert code == 0 and document["saved"] is False
    (west,) = document["regions"]
    assert (west["unitsByTransfer"], west["unitsByReorder"], west["unitsUnmet"]) == (8, 2, 0)
    assert count(region, Plan) == count(region, Transfer) == 0


def test_json_figures_equal_the_saved_plan_and_a_commit_supersedes(region: Database, capsys) -> None:
    _code, document = rebalance(region, capsys, "--commit")
    (west,) = document["regions"]
    with region.reading() as s:
        plan = s.get(Plan, west["planId"])
        assert (plan.units_requested, plan.units_by_transfer, plan.units_by_reorder, plan.units_unmet) == (
            west["unitsRequested"],
            west["unitsByTransfer"],
            west["unitsByReorder"],
            west["unitsUnmet"],
        )
        assert f"{plan.transfer_cost:.2f}" == west["transferCost"] and f"{plan.reorder_cost:.2f}" == west["reorderCost"]
    first = count(region, Transfer, Transfer.status == TransferStatus.SUGGESTED)
    rebalance(region, capsys, "--commit")
    assert count(region, Transfer, Transfer.status == TransferStatus.SUPERSEDED) == first
    assert count(region, Plan, Plan.status == PlanStatus.CURRENT) == 1


@pytest.mark.parametrize(
    ("policy", "transfers_from", "reorders"),
    [
        (["none"], set(), 0),
        (["all"], {"A", "B"}, 1),
        (["transfers"], {"A", "B"}, 0),
        (["transfers-under:2.00"], {"A"}, 0),
        (["transfers-for:LOW"], {"B"}, 0),
        (["reorders-under:100"], set(), 1),
        (["reorders-under:99.99"], set(), 0),
        (["transfers-under:2", "reorders-under:100"], {"A"}, 1),
    ],
)
def test_each_policy_approves_exactly_what_it_says(region: Database, capsys, policy, transfers_from, reorders) -> None:
    args = [a for p in policy for a in ("--auto-approve", p)]
    code, document = rebalance(region, capsys, "--commit", *args)
    assert code == 0
    with region.reading() as s:
        approved = s.scalars(select(Transfer).where(Transfer.status == TransferStatus.APPROVED)).all()
        assert {t.from_site.code for t in approved} == transfers_from
        assert count(region, Reorder, Reorder.status == ReorderStatus.ORDERED) == reorders
        for t in approved:  # the approvals reserve the donor's units
            level = s.scalar(select(StockLevel).where(StockLevel.site_id == t.from_site_id))
            assert level.reserved == t.quantity
        assert audit(s) == []
    assert document["regions"][0]["approvedTransfers"] == len(transfers_from)


def test_exit_codes(region: Database, capsys) -> None:
    with region.transaction() as s:
        orders.place_order(s, "C", "Z", 1)
    assert rebalance(region, capsys)[0] == 3  # demand left unmet
    assert stockpool(["--database-url", region.url, "rebalance", "--region", "nowhere"]) == 4
    capsys.readouterr()
    assert stockpool(["--database-url", region.url, "rebalance", "--region", "west", "--auto-approve", "x"]) == 2
    assert stockpool(["--database-url", region.url, "rebalance", "--region", "west", "--auto-approve", "all"]) == 2
    unreachable = "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2"
    assert stockpool(["--database-url", unreachable, "rebalance", "--all-regions"]) == 4


def test_two_runs_of_one_region_at_once_do_not_both_save(region: Database) -> None:
    """Both finish, one after the other: one CURRENT plan, each suggestion once (the later supersedes)."""
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            with region.transaction() as s:
                run_region(s, "west", PlanMode.POOL_FIRST, commit=True, rules=[])
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert count(region, Plan) == 2 and count(region, Plan, Plan.status == PlanStatus.CURRENT) == 1
    with region.reading() as s:
        suggested = s.execute(
            select(Transfer.lane_id, func.count())
            .where(Transfer.status == TransferStatus.SUGGESTED)
            .group_by(Transfer.lane_id)
        ).all()
    assert suggested and all(n == 1 for _, n in suggested)


def test_report_is_written_for_the_coordinator(region: Database, capsys, tmp_path) -> None:
    page = tmp_path / "nightly.html"
    code, _document = rebalance(region, capsys, "--commit", "--report", str(page))
    assert code == 0
    html = page.read_text()
    assert html.lstrip().lower().startswith("<!doctype html") and "west" in html
    for site in ("A", "B", "C"):
        assert f">{site}<" in html or f"'{site}'" in html or f'"{site}"' in html
    assert "<script src=" not in html


def test_the_report_links_to_the_board(
    region: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The board is where the report's suggestions are approved: by default /board of the service `stockpool
    serve` runs here (its host and port settings), or the address given; none with ''."""
    monkeypatch.delenv("STOCKPOOL_BOARD_URL", raising=False)
    monkeypatch.setenv("STOCKPOOL_HOST", "0.0.0.0")
    monkeypatch.setenv("STOCKPOOL_PORT", "8123")
    for options, link in (
        ((), "http://127.0.0.1:8123/board"),
        (("--board-url", "https://pool.example.org/board"), "https://pool.example.org/board"),
        (("--board-url", ""), None),
    ):
        page = tmp_path / "nightly.html"
        code, _ = rebalance(region, capsys, "--report", str(page), *options)
        assert code == 0
        html = page.read_text()
        links = re.findall(r'<a class="board-link" href="([^"]*)">([^<]*)</a>', html)
        assert links == ([] if link is None else [(link, link)])  # the address is its text: printed too
        assert "/board" in html
    refused = run_cli(region, "rebalance", "--region", "west", "--board-url", "javascript:alert(1)")
    assert refused.returncode != 0 and "not an http(s) address" in refused.stderr


# --- Checked before anything runs; a failure after the commit still reports what was committed ---------------


def run_cli(db: Database, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "--database-url", db.url, *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


NIGHTLY = ("rebalance", "--all-regions", "--commit", "--auto-approve", "all", "--json")


def nothing_saved(db: Database) -> bool:
    return count(db, Plan) == count(db, Transfer) == count(db, Reorder) == 0


def test_an_unwritable_report_is_a_usage_error_and_nothing_is_saved(region: Database, tmp_path: Path) -> None:
    for target, says in (
        (tmp_path / "no" / "such" / "x.html", "no directory"),
        (tmp_path, "is a directory"),
    ):
        refused = run_cli(region, *NIGHTLY, "--report", str(target))
        assert refused.returncode == 2, refused.stderr
        assert says in refused.stderr and "Traceback" not in refused.stderr
        assert refused.stdout == ""
        assert nothing_saved(region)


def test_without_plotly_a_report_is_a_usage_error_and_nothing_is_saved(region: Database, tmp_path: Path) -> None:
    """A machine with the base install only: plotly cannot be imported (a stand-in package that refuses)."""
    (tmp_path / "plotly").mkdir()
    (tmp_path / "plotly" / "__init__.py").write_text("raise ImportError('No module named plotly')\n")
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), str(Path(__file__).parents[1])])}
    refused = run_cli(region, *NIGHTLY, "--report", str(tmp_path / "x.html"), env=env)
    assert refused.returncode == 2, refused.stderr
    assert "pip install 'stockpool[report]'" in refused.stderr and "Traceback" not in refused.stderr
    assert nothing_saved(region) and not (tmp_path / "x.html").exists()
    # The README's cron line has no --report: it runs as written on such a machine.
    ran = run_cli(
        region, "rebalance", "--all-regions", "--commit", "--auto-approve", "transfers-under:2.00", "--json", env=env
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["regions"][0]["approvedTransfers"] == 1


@pytest.fixture
def vanishing_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A report folder that is removed while the report is drawn (after the plans were committed)."""
    from api import report

    folder = tmp_path / "reports"
    folder.mkdir()
    draw = report.render_report

    def draw_then_lose_the_folder(*args: object, **kwargs: object) -> str:
        page = draw(*args, **kwargs)  # type: ignore[arg-type]
        folder.rmdir()
        return page

    monkeypatch.setattr(report, "render_report", draw_then_lose_the_folder)
    return folder


def test_a_report_that_fails_after_the_commit_prints_what_was_committed(
    region: Database, vanishing_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = vanishing_folder / "x.html"
    code = stockpool(["--database-url", region.url, *NIGHTLY, "--report", str(page)])
    out, err = capsys.readouterr()
    assert code == 4
    document = json.loads(out)
    (west,) = document["regions"]
    assert document["saved"] is True and document["exitCode"] == 4
    assert (west["approvedTransfers"], west["approvedReorders"]) == (2, 1)
    assert document["report"]["written"] is False and "FileNotFoundError" in document["report"]["error"]
    assert err.strip().splitlines()[-1].startswith(f"error: report not written to {page}: FileNotFoundError")
    assert "Traceback" not in err
    with region.reading() as s:  # what the summary says was committed is in the database
        plan = s.get(Plan, west["planId"])
        assert plan is not None and plan.status == PlanStatus.CURRENT
    assert count(region, Transfer, Transfer.status == TransferStatus.APPROVED) == 2
    assert count(region, Reorder, Reorder.status == ReorderStatus.ORDERED) == 1


def test_the_table_too_is_printed_before_the_failure(region: Database, vanishing_folder: Path, capsys) -> None:
    args = ["--database-url", region.url, "rebalance", "--region", "west", "--commit", "--report"]
    code = stockpool([*args, str(vanishing_folder / "x.html")])
    out, err = capsys.readouterr()
    assert code == 4
    assert out.splitlines()[0].split()[0] == "region" and out.splitlines()[2].split()[0] == "west"
    assert err.strip().splitlines()[-1].startswith("error: report not written to")


def test_rebalance_help_lists_the_exit_codes() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "api.cli", "rebalance", "--help"], capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 0
    codes = shown.stdout[shown.stdout.index("exit codes:") :]
    for code in ("0", "2", "3", "4"):
        assert f"\n  {code}  " in codes


def test_a_region_that_breaks_unexpectedly_does_not_hide_the_regions_committed_before_it(
    region: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli import rebalance as nightly

    build_network(region, {"E": "zeast"}, {})
    real = nightly.run_region

    def breaks_in_zeast(session, name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "zeast":
            raise ZeroDivisionError("a bug")
        return real(session, name, *args, **kwargs)

    monkeypatch.setattr(nightly, "run_region", breaks_in_zeast)
    code = stockpool(["--database-url", region.url, "rebalance", "--all-regions", "--commit", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 4 and document["exitCode"] == 4
    west, zeast = document["regions"]
    assert west["region"] == "west" and west["planId"] is not None
    assert zeast == {"region": "zeast", "error": {"code": "UNEXPECTED", "message": "ZeroDivisionError: a bug"}}
    assert count(region, Plan, Plan.status == PlanStatus.CURRENT) == 1
