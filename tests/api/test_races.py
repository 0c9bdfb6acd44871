"""Oversell race over real HTTP: 50 clients approve 1 unit each from a donor with 10 to spare, 20 times over."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
from sqlalchemy import select

from api.graphql.base import global_id
from models import MovementReason, Role, StockLevel, Transfer, TransferStatus
from models.db import Database
from pooling import orders, rebalance, stock, transfers
from pooling.access import create_token
from pooling.audit import audit
from tests.api.conftest import operations
from tests.factories import build_network, receive

CLIENTS = 50
SPARE = 10
ROUNDS = 20


def fifty_suggestions(db: Database) -> list[int]:
    """Give the donor 50 units, plan 50 one-unit transfers, then let it consume all but 10."""
    receive(db, "D", "X", CLIENTS - SPARE)
    with db.transaction() as s:
        plan = rebalance.rebalance(s, "west", dry_run=False)
        ids = [t.id for t in plan.transfers]
    with db.transaction() as s:
        stock.record_movement(s, "D", "X", -(CLIENTS - SPARE), MovementReason.CONSUMPTION)
    assert len(ids) == CLIENTS
    return ids


def race(clients: list[httpx.Client], ids: list[str]) -> list[str]:
    """Client k approves transfer k, all released at once by a barrier; returns each outcome's code."""
    barrier = threading.Barrier(len(clients))
    outcomes: list[str] = []

    def send(client: httpx.Client, transfer: str) -> None:
        barrier.wait()
        body = {"query": operations()["ApproveTransfers"], "variables": {"input": {"ids": [transfer]}}}
        response = client.post("/graphql", json=body)
        if response.status_code != 200:
            outcomes.append(f"HTTP {response.status_code}")
            return
        payload = response.json()["data"]["approveTransfers"]
        outcomes.append(payload["errors"][0]["code"] if payload["errors"] else "APPROVED")

    threads = [threading.Thread(target=send, args=pair) for pair in zip(clients, ids, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return outcomes


def test_fifty_concurrent_approvals_reserve_exactly_the_ten_spare_units(db: Database, server: str) -> None:
    sites = {"D": "west"} | {f"R{k:02}": "west" for k in range(CLIENTS)}
    build_network(db, sites, {"X": "30.00"}, [("D", f"R{k:02}", "1.00", 4) for k in range(CLIENTS)])
    receive(db, "D", "X", SPARE)
    with db.transaction() as s:
        for k in range(CLIENTS):
            orders.place_order(s, f"R{k:02}", "X", 1)
        _, token = create_token(s, "west", Role.COORDINATOR, region="west")
    clients = [
        httpx.Client(base_url=server, timeout=120, headers={"Authorization": f"Bearer {token}"}) for _ in range(CLIENTS)
    ]
    try:
        for round_ in range(ROUNDS):
            ids = fifty_suggestions(db)
            outcomes = race(clients, [global_id("Transfer", i) for i in ids])
            assert Counter(outcomes) == {"APPROVED": SPARE, "INSUFFICIENT_STOCK": CLIENTS - SPARE}, (round_, outcomes)
            with db.reading() as s:
                donor = s.scalar(select(StockLevel).where(StockLevel.site.has(code="D")))
                assert (donor.on_hand, donor.reserved) == (SPARE, SPARE)
                approved = s.scalars(select(Transfer.id).where(Transfer.status == TransferStatus.APPROVED)).all()
                assert audit(s) == []
            for transfer_id in approved:  # release them for the next round
                with db.transaction() as s:
                    transfers.cancel_transfer(s, transfer_id)
    finally:
        for client in clients:
            client.close()
