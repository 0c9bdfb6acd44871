#!/usr/bin/env python3
"""Nightly rebalance of one region over the GraphQL API — an example client for sites that prefer the API.

It runs the coordinator's `Rebalance` (saved, not a dry run), approves the suggested transfers whose unit cost is
below a limit (everything else stays SUGGESTED for the coordinator), prints the plan's summary, and exits
non-zero when anything went wrong (1: the API refused or failed; 3: demand is left unmet).

    STOCKPOOL_URL=http://127.0.0.1:8000/graphql STOCKPOOL_TOKEN=sp_... \\
        python examples/nightly_rebalance.py --region north --max-unit-cost 2.00

Idempotency: every mutation carries an Idempotency-Key made of the run id and the region. Each run has its own
run id (a new random one by default), so a deliberate second run the same night rebalances again (its plan
supersedes the first one's unapproved suggestions). A request whose answer is lost is sent again by the script
with the same key, so it applies once. To make a whole run retryable (a scheduler that reruns a failed job),
give the run a stable id, `--run-id` or STOCKPOOL_RUN_ID, e.g. `--run-id "$(date +%F)"`: a rerun with the same id
gets the first run's answers back and changes nothing more. The service keeps keys for 24 hours by default
(STOCKPOOL_IDEMPOTENCY_RETENTION): a rerun after that runs as new.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from decimal import Decimal
from typing import Any

import httpx

REBALANCE = """
mutation Rebalance($input: RebalanceInput!) {
  rebalance(input: $input) {
    plan {
      id
      summary {
        unitsRequested unitsByTransfer unitsByReorder unitsUnmet unitsProactive transferCost reorderCost savings
      }
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


ATTEMPTS = 3


def call(client: httpx.Client, url: str, query: str, variables: dict[str, Any], key: str) -> dict[str, Any]:
    """POST one mutation (sent again with the same key when the answer is lost); return its payload, or raise
    ApiError with what the service said."""

    def send() -> httpx.Response:
        return client.post(url, json={"query": query, "variables": variables}, headers={"Idempotency-Key": key})

    for _ in range(ATTEMPTS - 1):
        try:
            response = send()
            break
        except httpx.TransportError:  # the answer is lost: sent again, the same key applies it once
            continue
    else:
        response = send()
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
    parser.add_argument(
        "--run-id",
        default=os.environ.get("STOCKPOOL_RUN_ID") or uuid.uuid4().hex,
        help="names this run in its Idempotency-Keys: a rerun with the same id replays the first run's answers "
        "(default: STOCKPOOL_RUN_ID, else a new id, so each run rebalances anew)",
    )
    parser.add_argument(
        "--proactive",
        action="store_true",
        default=os.environ.get("STOCKPOOL_PROACTIVE", "0").lower() in ("1", "true", "yes"),
        help="also restore sites below their reorder point (default: STOCKPOOL_PROACTIVE)",
    )
    args = parser.parse_args(argv)
    url = os.environ.get("STOCKPOOL_URL", "http://127.0.0.1:8000/graphql")
    token = os.environ.get("STOCKPOOL_TOKEN")
    if not token:
        print("set STOCKPOOL_TOKEN to a COORDINATOR token of the region", file=sys.stderr)
        return 1
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(headers=headers, timeout=300) as client:
        try:
            plan = call(
                client,
                url,
                REBALANCE,
                {"input": {"region": args.region, "mode": args.mode, "dryRun": False, "proactive": args.proactive}},
                key=f"nightly-{args.run_id}-rebalance-{args.region}",
            )["plan"]
            cheap = [t for t in plan["transfers"] if Decimal(t["unitCost"]) < args.max_unit_cost]
            approved = []
            if cheap:
                ids = [t["id"] for t in cheap]
                key = f"nightly-{args.run_id}-approve-{plan['id']}"
                approved = call(client, url, APPROVE, {"input": {"ids": ids}}, key=key)["transfers"]
        except (ApiError, httpx.HTTPError) as error:
            print(f"nightly rebalance of {args.region} failed: {error}", file=sys.stderr)
            return 1
    s = plan["summary"]
    print(
        f"region {args.region}: {s['unitsRequested']} units requested, {s['unitsByTransfer']} by transfer, "
        f"{s['unitsByReorder']} by reorder, {s['unitsUnmet']} unmet, {s['unitsProactive']} proactive; "
        f"transfers {s['transferCost']}, "
        f"reorders {s['reorderCost']}, saved {s['savings']}"
    )
    print(
        f"approved {len(approved)} of {len(plan['transfers'])} transfers (unit cost < {args.max_unit_cost}); "
        "the rest wait for the coordinator"
    )
    return 3 if s["unitsUnmet"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
