"""Small builders for a test network, each one committed transaction through the real operations."""

from __future__ import annotations

from models import MovementReason
from models.db import Database
from pooling import network, stock


def build_network(
    db: Database,
    sites: dict[str, str],
    items: dict[str, str],
    lanes: list[tuple[str, str, str, int]] = (),  # type: ignore[assignment]
    purchasable: bool = True,
) -> None:
    """sites: code -> region; items: sku -> unit cost; lanes: (from, to, unit cost, lead hours)."""
    with db.transaction() as s:
        for code, region in sites.items():
            network.create_site(s, code, f"{code} laboratory", region, 51.0, 0.0)
        for sku, cost in items.items():
            network.create_item(s, sku, f"{sku} reagent", cost, supplier_lead_time_days=10, purchasable=purchasable)
        for origin, destination, cost, hours in lanes:
            network.set_lane(s, origin, destination, cost, hours)


def receive(db: Database, site: str, sku: str, quantity: int) -> None:
    with db.transaction() as s:
        stock.record_movement(s, site, sku, quantity, MovementReason.RECEIPT, actor="test")
