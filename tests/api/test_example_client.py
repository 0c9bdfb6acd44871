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

    # A retry the same night replays the stored answers: nothing new is planned or approved.
    again = run(server, tokens.coordinator, "--region", tokens.region, "--max-unit-cost", "1.00")
    assert again.returncode == 0 and again.stdout == done.stdout
    with db.reading() as s:
        assert len(s.scalars(select(Transfer)).all()) == len(transfers)

    refused = run(server, tokens.site, "--region", tokens.region)
    assert refused.returncode == 1 and "FORBIDDEN" in refused.stderr
