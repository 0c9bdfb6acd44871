"""Auto-approval policies for the nightly rebalance: which saved suggestions a coordinator lets through unseen.

A policy is a list of rules; a suggestion is approved when any rule allows it. Rules:
`none`; `all` (every transfer and reorder); `transfers` (every transfer); `transfers-under:AMOUNT` (transfers
whose unit cost is below AMOUNT); `transfers-for:CRITICAL,HIGH` (transfers that serve a backorder of one of these
priorities); `reorders-under:AMOUNT` (reorders whose total spend is at most AMOUNT).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from models import Plan, Priority, Reorder, Transfer
from pooling.errors import ErrorCode, PoolingError

RULES = (
    "none",
    "all",
    "transfers",
    "transfers-under:AMOUNT",
    "transfers-for:PRIORITY[,PRIORITY]",
    "reorders-under:AMOUNT",
)


@dataclass(frozen=True)
class Rule:
    kind: str
    limit: Decimal | None = None
    priorities: frozenset[Priority] = frozenset()

    def allows_transfer(self, transfer: Transfer, priority_of: dict[int, Priority]) -> bool:
        if self.kind in ("all", "transfers"):
            return True
        if self.kind == "transfers-under":
            return self.limit is not None and transfer.unit_cost < self.limit
        if self.kind == "transfers-for":
            return any(priority_of.get(a.backorder_id) in self.priorities for a in transfer.allocations)
        return False

    def allows_reorder(self, reorder: Reorder) -> bool:
        if self.kind == "all":
            return True
        return (
            self.kind == "reorders-under"
            and self.limit is not None
            and reorder.quantity * reorder.unit_cost <= self.limit
        )


def parse_policy(texts: Iterable[str]) -> list[Rule]:
    rules = []
    for text in texts:
        kind, _, argument = text.strip().partition(":")
        if kind in ("none", "all", "transfers") and not argument:
            rules.append(Rule(kind))
        elif kind in ("transfers-under", "reorders-under"):
            try:
                limit = Decimal(argument)
            except InvalidOperation:
                limit = Decimal("NaN")
            if not limit.is_finite() or limit < 0:
                raise PoolingError(ErrorCode.INVALID, f"{kind} needs an amount, as in {kind}:2.50.", "auto_approve")
            rules.append(Rule(kind, limit=limit))
        elif kind == "transfers-for":
            try:
                wanted = frozenset(Priority(p.strip().upper()) for p in argument.split(",") if p.strip())
            except ValueError:
                wanted = frozenset()
            if not wanted:
                raise PoolingError(
                    ErrorCode.INVALID,
                    "transfers-for needs priorities, as in transfers-for:CRITICAL,HIGH.",
                    "auto_approve",
                )
            rules.append(Rule(kind, priorities=wanted))
        else:
            raise PoolingError(
                ErrorCode.INVALID, f"Unknown policy {text!r}; use one of {', '.join(RULES)}.", "auto_approve"
            )
    return [r for r in rules if r.kind != "none"]


def chosen(plan: Plan, rules: Sequence[Rule], priority_of: dict[int, Priority]) -> tuple[list[int], list[int]]:
    """(transfer ids, reorder ids) of the plan's suggestions that the policy approves."""
    transfers = [t.id for t in plan.transfers if any(r.allows_transfer(t, priority_of) for r in rules)]
    reorders = [o.id for o in plan.reorders if any(r.allows_reorder(o) for r in rules)]
    return transfers, reorders
