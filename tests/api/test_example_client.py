"""examples/nightly_rebalance.py against the real service over a demo database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from models import Transfer, TransferStatus
from models.db import Database
from pooling.demo import load_demo

SCRIPT = Path(__file__).parents[2] / "examples" / "nightly_rebalance.py"


def run(server: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STOCKPOOL_URL": f"{server}/graphql", "STOCKPOOL_TOKEN": token}
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=300)


def test_the_example_client_rebalances_and_approves_what_its_policy_allows(db: Database, server: str) -> None:
    tokens = load_demo(db)
    assert tokens is not None
    done = run(server, tokens.coordinator, "--region", tokens.region, "--max-unit-cost", "1.00")
    assert done.returncode == 0, done.stderr
    assert f"region {tokens.region}:" in done.stdout and "approved" in done.stdout
    with db.reading() as s:
        transfers = s.scalars(select(Transfer)).all()
    approved = [t for t in transfers if t.status == TransferStatus.APPROVED]
    waiting = [t for t in transfers if t.status == TransferStatus.SUGGESTED]
    assert approved and all(t.unit_cost < 1 for t in approved) and all(t.unit_cost >= 1 for t in waiting)
    assert f"approved {len(approved)} of {len(transfers)}" in done.stdout

    # A deliberate second run rebalances anew: its plan supersedes the first one's unapproved suggestions.
    second = run(server, tokens.coordinator, "--region", tokens.region, "--max-unit-cost", "1.00")
    assert second.returncode == 0, second.stderr
    with db.reading() as s:
        statuses = [t.status for t in s.scalars(select(Transfer))]
    assert statuses.count(TransferStatus.SUPERSEDED) == len(waiting) and len(statuses) > len(transfers)

    # A rerun of one run (the same --run-id) replays that run's answers: nothing new is planned or approved.
    first = run(server, tokens.coordinator, "--region", tokens.region, "--max-unit-cost", "1.00", "--run-id", "n-1")
    assert first.returncode == 0, first.stderr
    with db.reading() as s:
        settled = len(s.scalars(select(Transfer)).all())
    again = run(server, tokens.coordinator, "--region", tokens.region, "--max-unit-cost", "1.00", "--run-id", "n-1")
    assert again.returncode == 0 and again.stdout == first.stdout
    with db.reading() as s:
        assert len(s.scalars(select(Transfer)).all()) == settled

    refused = run(server, tokens.site, "--region", tokens.region)
    assert refused.returncode == 1 and "FORBIDDEN" in refused.stderr
