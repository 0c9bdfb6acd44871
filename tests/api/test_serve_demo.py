"""The README's first command: `stockpool serve --demo` on a new SQLite file, then a coordinator's Rebalance."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.api.conftest import operations


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_demo_prints_tokens_and_a_rebalance_clears_backorders(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    try:
        printed = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            printed.append(line)
            if "serving" in line:
                break
        text = "".join(printed)
        assert f"http://127.0.0.1:{port}/graphql" in text, text
        coordinator = re.search(r"COORDINATOR \((\S+)\s*\)\s+(sp_\S+)", text)
        assert coordinator, text
        region, token = coordinator.groups()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            for _ in range(100):
                try:
                    if http.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            answer = http.post(
                "/graphql",
                json={
                    "query": operations()["Rebalance"],
                    "variables": {"input": {"region": region, "mode": "POOL_FIRST", "dryRun": False}},
                },
                headers={"Authorization": f"Bearer {token}"},
            ).json()
        plan = answer["data"]["rebalance"]["plan"]
        assert answer["data"]["rebalance"]["errors"] == []
        assert plan["summary"]["unitsByTransfer"] > 0 and plan["transfers"]
        assert all(t["allocations"] for t in plan["transfers"])
        (tmp_path / "rebalance.json").write_text(str(answer))
    finally:
        process.terminate()
        process.wait(timeout=30)
