#!/usr/bin/env python3
"""Nightly rebalance of one region over the GraphQL API — an example client for sites that prefer the API.

It runs the coordinator's `Rebalance` (saved, not a dry run), approves the suggested transfers whose unit cost is
below a limit (everything else stays SUGGESTED for the coordinator), prints the plan's summary, and exits
non-zero when anything went wrong (1: the API refused or failed; 3: demand is left unmet).

    STOCKPOOL_URL=http://127.0.0.1:8000/graphql STOCKPOOL_TOKEN=sp_... \\
        python examples/nightly_rebalance.py --region north --max-unit-cost 2.00

Every mutation carries an Idempotency-Key derived from the region and the date, so a cron job that retries
after a lost answer does not rebalance or approve twice.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from decimal import Decimal
from typing import Any

import httpx

REBALANCE = """
mutation Rebalance($input: RebalanceInput!) {
  rebalance(input: $input) {
    plan {
      id
      summary { unitsRequested unitsByTransfer unitsByReorder unitsUnmet transferCost reorderCost savings }
      transfers { id unitCost quantity fromSite { code } toSite { code } item { sku } }
    }
    errors { field code message }
  }
}"""

APPROVE = """
mutation ApproveTransfers($input: ApproveTransfersInput!) {
  approveTransfers(input: $input) { transfers { id status } errors { field code message } }
}"""


class ApiError(RuntimeError):
    pass


def call(client: httpx.Client, url: str, query: str, variables: dict[str, Any], key: str) -> dict[str, Any]:
    """POST one mutation; return its payload, or raise ApiError with what the service said."""
    response = client.post(url, json={"query": query, "variables": variables}, headers={"Idempotency-Key": key})
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise ApiError(f"HTTP {response.status_code}: {body.get('errors')}")
    (payload,) = body["data"].values()
    if payload["errors"]:
        raise ApiError("; ".join(f"{e['code']} {e['field'] or ''}: {e['message']}" for e in payload["errors"]))
    return payload  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", required=True)
    parser.add_argument("--mode", default="POOL_FIRST", choices=["POOL_FIRST", "LEAST_COST"])
    parser.add_argument(
        "--max-unit-cost",
        type=Decimal,
        default=Decimal("2.00"),
        help="approve transfers whose unit cost is below this (default 2.00)",
    )
    args = parser.parse_args(argv)
    url = os.environ.get("STOCKPOOL_URL", "http://127.0.0.1:8000/graphql")
    token = os.environ.get("STOCKPOOL_TOKEN")
    if not token:
        print("set STOCKPOOL_TOKEN to a COORDINATOR token of the region", file=sys.stderr)
        return 1
    night = datetime.date.today().isoformat()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(headers=headers, timeout=300) as client:
        try:
            plan = call(
                client,
                url,
                REBALANCE,
                {"input": {"region": args.region, "mode": args.mode, "dryRun": False}},
                key=f"rebalance-{args.region}-{night}",
            )["plan"]
            cheap = [t for t in plan["transfers"] if Decimal(t["unitCost"]) < args.max_unit_cost]
            approved = []
            if cheap:
                approved = call(
                    client, url, APPROVE, {"input": {"ids": [t["id"] for t in cheap]}}, key=f"approve-{plan['id']}"
                )["transfers"]
        except (ApiError, httpx.HTTPError) as error:
            print(f"nightly rebalance of {args.region} failed: {error}", file=sys.stderr)
            return 1
    s = plan["summary"]
    print(
        f"region {args.region}: {s['unitsRequested']} units requested, {s['unitsByTransfer']} by transfer, "
        f"{s['unitsByReorder']} by reorder, {s['unitsUnmet']} unmet; transfers {s['transferCost']}, "
        f"reorders {s['reorderCost']}, saved {s['savings']}"
    )
    print(
        f"approved {len(approved)} of {len(plan['transfers'])} transfers (unit cost < {args.max_unit_cost}); "
        "the rest wait for the coordinator"
    )
    return 3 if s["unitsUnmet"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
