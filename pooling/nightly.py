"""The nightly round for one region: rebalance, then approve what the policy allows, in one transaction.

Approvals go through the coordinator's own operation, one suggestion at a time in a savepoint, so the same
checks apply and a suggestion that fails them (stale, short stock) stays SUGGESTED without stopping the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Backorder, Plan, PlanMode, Priority
from pooling import reorders, transfers
from pooling.errors import PoolingError
from pooling.policies import Rule, chosen
from pooling.rebalance import rebalance


@dataclass
class RegionRound:
    region: str
    plan: Plan
    approved_transfers: list[int] = field(default_factory=list)
    approved_reorders: list[int] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # suggestions the policy chose but the checks refused


def run_region(
    session: Session,
    region: str,
    mode: PlanMode,
    commit: bool,
    rules: Sequence[Rule],
    actor: str = "nightly",
    proactive: bool = False,
) -> RegionRound:
    plan = rebalance(session, region, mode, dry_run=not commit, actor=actor, proactive=proactive)
    result = RegionRound(region, plan)
    if not commit or not rules:
        return result
    backorder_ids = {a.backorder_id for t in plan.transfers for a in t.allocations}
    priority_of: dict[int, Priority] = (
        dict(session.execute(select(Backorder.id, Backorder.priority).where(Backorder.id.in_(backorder_ids))).all())
        if backorder_ids
        else {}
    )
    transfer_ids, reorder_ids = chosen(plan, rules, priority_of)
    for ids, approve, approved, kind in (
        (transfer_ids, transfers.approve_transfers, result.approved_transfers, "transfer"),
        (reorder_ids, reorders.approve_reorders, result.approved_reorders, "reorder"),
    ):
        for record_id in ids:
            try:
                with session.begin_nested():
                    approve(session, [record_id], actor)
                approved.append(record_id)
            except PoolingError as error:
                result.refused.append(f"{kind} {record_id}: {error.message}")
    return result
