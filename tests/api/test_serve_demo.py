"""The README's first command: `stockpool serve --demo` on a new SQLite file, then the round a newcomer tries:
the coordinator rebalances and approves, the printed sending site ships, the printed receiving site receives."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from tests.api.conftest import operations
from tests.api.serving import stockpool_serve


def run(base: str, token: str, name: str, **variables: Any) -> dict[str, Any]:
    answer = httpx.post(
        f"{base}/graphql",
        json={"query": operations()[name], "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    ).json()
    assert "errors" not in answer, answer
    (payload,) = answer["data"].values()
    assert payload["errors"] == [], payload
    return payload  # type: ignore[no-any-return]


def test_serve_demo_prints_tokens_that_rebalance_ship_and_receive(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with stockpool_serve(tmp_path / "first", url, "--demo") as served:
        text = served.output()
        assert f"{served.base}/graphql" in text, text
        assert f"{served.base}/board" in text, text  # the board, signed in with the same tokens
        coordinator = re.search(r"COORDINATOR \((\S+)\s*\)\s+(sp_\S+)", text)
        sites = re.findall(r"SITE \((\S+)\s*\)\s+(sp_\S+)\s+(ships to|receives from) (\S+)", text)
        assert coordinator and len(sites) == 2, text
        region, token = coordinator.groups()
        (sender, sender_token, _, receiver), (receiver_again, receiver_token, _, sender_again) = sites
        assert (receiver_again, sender_again) == (receiver, sender)

        plan = run(served.base, token, "Rebalance", input={"region": region, "mode": "POOL_FIRST", "dryRun": False})
        assert plan["plan"]["summary"]["unitsByTransfer"] > 0
        assert all(t["allocations"] for t in plan["plan"]["transfers"])
        between = [
            t for t in plan["plan"]["transfers"] if (t["fromSite"]["code"], t["toSite"]["code"]) == (sender, receiver)
        ]
        assert between, plan
        transfer = between[0]
        run(served.base, token, "ApproveTransfers", input={"ids": [transfer["id"]]})
        shipped = run(served.base, sender_token, "ShipTransfer", input={"id": transfer["id"]})
        assert shipped["transfer"]["status"] == "SHIPPED"
        received = run(
            served.base,
            receiver_token,
            "ReceiveTransfer",
            input={"id": transfer["id"], "quantityReceived": transfer["quantity"]},
        )
        assert received["transfer"]["status"] == "RECEIVED"

    with stockpool_serve(tmp_path / "again", url, "--demo") as again:
        text = again.output()
    assert "sp_" not in text, text
    assert "already" in text and "stockpool token create" in text and "stockpool token list" in text, text
