"""A region's plan summed up for the charts: the flows between sites and what each site sends and receives."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from api.report.region import RegionReport, SiteMark
from models.enums import ReorderStatus, TransferStatus

# Suggestions in these states will not happen: they stay in the tables but are left off the map and the bar chart.
DROPPED_TRANSFERS = frozenset({TransferStatus.REJECTED, TransferStatus.SUPERSEDED, TransferStatus.CANCELLED})
DROPPED_REORDERS = frozenset({ReorderStatus.REJECTED, ReorderStatus.SUPERSEDED})


@dataclass(frozen=True)
class Flow:
    source: str
    target: str
    units: int
    items: list[tuple[str, int, str]]  # (sku, units, status)


@dataclass
class Receipts:
    by_transfer: int = 0
    by_reorder: int = 0
    unmet: int = 0
    sent: int = 0
    items: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


class Flows:
    def __init__(self, region: RegionReport) -> None:
        self.sites: dict[str, SiteMark] = {s.code: s for s in region.sites}
        self.placed = {
            s.code: (float(s.longitude), float(s.latitude))
            for s in region.sites
            if s.latitude is not None and s.longitude is not None and _finite(s.latitude) and _finite(s.longitude)
        }
        self.unplaced = [s.code for s in region.sites if s.code not in self.placed]
        self.receipts: dict[str, Receipts] = defaultdict(Receipts)
        pairs: dict[tuple[str, str], list[tuple[str, int, str]]] = defaultdict(list)
        for t in region.transfers:
            if t.status in DROPPED_TRANSFERS:
                continue
            source, target, units = t.from_site, t.to_site, t.quantity
            pairs[(source, target)].append((t.sku, units, t.status))
            self.receipts[target].by_transfer += units
            self.receipts[target].items["by transfer"].append(f"{t.sku} \u00d7 {units} from {source}")
            self.receipts[source].sent += units
        for o in region.reorders:
            if o.status in DROPPED_REORDERS:
                continue
            self.receipts[o.site].by_reorder += o.quantity
            self.receipts[o.site].items["by reorder"].append(f"{o.sku} \u00d7 {o.quantity}")
        for u in region.unmet:
            self.receipts[u.site].unmet += u.quantity
            self.receipts[u.site].items["unmet"].append(f"{u.sku} \u00d7 {u.quantity}")
        self.flows = [
            Flow(source, target, sum(units for _, units, _ in items), items)
            for (source, target), items in sorted(pairs.items())
        ]
        # Sites that receive something or go short, in code order (present or not among the sites given).
        self.receivers = sorted(code for code, r in self.receipts.items() if r.by_transfer or r.by_reorder or r.unmet)


def _finite(value: float) -> bool:
    return math.isfinite(float(value))
