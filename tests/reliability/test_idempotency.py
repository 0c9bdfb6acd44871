"""Idempotency-Key over real HTTP: a retried mutation is applied once, whatever happens to the first answer.

Sent again, sent 20 times at once, sent with another request or by another caller; a fault after the ledger
write but before the commit leaves nothing behind, and an answer lost after the commit is replayed, not reapplied.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from api import context as api_context
from api import idempotency
from models import IdempotencyKey, Item, Movement, Role, Site, StockLevel
from models.db import Database
from pooling import orders, stock, transfers
from pooling.access import create_token
from pooling.audit import audit
from tests.api.conftest import Client, operations
from tests.factories import build_network, receive
from tests.reliability.snapshot import snapshot

CONCURRENT = 20


@dataclass(frozen=True)
class Ledger:
    """The ledger in numbers: every movement as (site, reason, quantity), and (on hand, reserved) by site."""

    movements: Counter[tuple[str, str, int]]
    levels: dict[str, tuple[int, int]]


def ledger(session: Session) -> Ledger:
    moved = session.execute(
        select(Site.code, Movement.reason, Movement.quantity).join(Site, Site.id == Movement.site_id)
    ).all()
    levels = session.execute(
        select(Site.code, StockLevel.on_hand, StockLevel.reserved)
        .join(Site, Site.id == StockLevel.site_id)
        .join(Item, Item.id == StockLevel.item_id)
        .where(Item.sku == "X")
    ).all()
    return Ledger(Counter((site, str(reason), qty) for site, reason, qty in moved), {s: (o, r) for s, o, r in levels})


def read_ledger(db: Database) -> Ledger:
    with db.reading() as s:
        return ledger(s)


def assert_clean(db: Database) -> None:
    with db.reading() as s:
        assert audit(s) == []


@pytest.fixture
def world(db: Database, server: str, admin: Client) -> dict[str, Client]:
    """west: N (40 of X) -> S. Tokens: n and n2 for site N, s for site S, the west coordinator."""
    build_network(db, {"N": "west", "S": "west"}, {"X": "10.00"}, [("N", "S", "1.00", 6)])
    receive(db, "N", "X", 40)
    clients = {"admin": admin}
    with db.transaction() as s:
        for name, role, site, region in (
            ("n", Role.SITE, "N", None),
            ("n2", Role.SITE, "N", None),
            ("s", Role.SITE, "S", None),
            ("west", Role.COORDINATOR, None, "west"),
        ):
            clients[name] = Client(server, create_token(s, name, role, site, region)[1])
    return clients


def suggested_transfer(world: dict[str, Client]) -> str:
    """S orders 5 it has not got; the west plan suggests a transfer of 5 from N."""
    world["s"].op("PlaceOrder", input={"site": "S", "sku": "X", "quantity": 5})
    (transfer,) = world["west"].op("Rebalance", input={"region": "west", "dryRun": False})["rebalance"]["plan"][
        "transfers"
    ]
    assert transfer["quantity"] == 5 and transfer["fromSite"]["code"] == "N"
    return str(transfer["id"])


def approved_transfer(world: dict[str, Client]) -> str:
    transfer = suggested_transfer(world)
    assert world["west"].op("ApproveTransfers", input={"ids": [transfer]})["approveTransfers"]["errors"] == []
    return transfer


def shipped_transfer(world: dict[str, Client]) -> str:
    transfer = approved_transfer(world)
    assert world["n"].op("ShipTransfer", input={"id": transfer})["shipTransfer"]["errors"] == []
    return transfer


@dataclass(frozen=True)
class Case:
    """A mutation, who sends it, the domain function it runs, and what it must change, exactly once."""

    operation: str
    sender: str
    domain: tuple[ModuleType, str]
    variables: Callable[[dict[str, Client]], dict[str, Any]]
    moves: tuple[tuple[str, str, int], ...]
    changes: dict[str, tuple[int, int]] = field(default_factory=dict)  # site -> (on hand, reserved) deltas

    def after(self, before: Ledger) -> Ledger:
        levels = dict(before.levels)
        for site, (on_hand, reserved) in self.changes.items():
            old = levels.get(site, (0, 0))
            levels[site] = (old[0] + on_hand, old[1] + reserved)
        return Ledger(before.movements + Counter(self.moves), levels)


CASES = [
    Case(
        "RecordMovement",
        "n",
        (stock, "record_movement"),
        lambda w: {"input": {"site": "N", "sku": "X", "quantity": 5, "reason": "RECEIPT"}},
        (("N", "RECEIPT", 5),),
        {"N": (5, 0)},
    ),
    Case(
        "PlaceOrder",
        "n",
        (orders, "place_order"),
        lambda w: {"input": {"site": "N", "sku": "X", "quantity": 3}},
        (("N", "ORDER_FILL", -3),),
        {"N": (-3, 0)},
    ),
    Case(
        "ApproveTransfers",
        "west",
        (transfers, "approve_transfers"),
        lambda w: {"input": {"ids": [suggested_transfer(w)]}},
        (),
        {"N": (0, 5)},
    ),
    Case(
        "ShipTransfer",
        "n",
        (transfers, "ship_transfer"),
        lambda w: {"input": {"id": approved_transfer(w)}},
        (("N", "TRANSFER_OUT", -5),),
        {"N": (-5, -5)},
    ),
    Case(
        "ReceiveTransfer",
        "s",
        (transfers, "receive_transfer"),
        lambda w: {"input": {"id": shipped_transfer(w), "quantityReceived": 5}},
        (("S", "TRANSFER_IN", 5), ("S", "BACKORDER_FILL", -5)),
        {"S": (0, 0)},
    ),
]


def by_name(cases: list[Case]) -> Any:
    return pytest.mark.parametrize("case", cases, ids=[case.operation for case in cases])


def send(client: Client, case: Case, variables: dict[str, Any], key: str) -> httpx.Response:
    return client.post(operations()[case.operation], variables, key=key)


def applied(response: httpx.Response, case: Case) -> dict[str, Any]:
    """The mutation's payload, which must carry no error."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    result = body["data"][case.operation[0].lower() + case.operation[1:]]
    assert result["errors"] == [], result
    return result  # type: ignore[no-any-return]


def replayed(response: httpx.Response) -> bool:
    return response.headers.get("idempotent-replayed") == "true"


@by_name(CASES)
def test_three_sends_of_one_key_apply_once(world: dict[str, Client], db: Database, case: Case) -> None:
    """The 2nd and 3rd sends replay the 1st answer byte for byte and leave the database as it was."""
    variables = case.variables(world)
    before = read_ledger(db)
    first = send(world[case.sender], case, variables, "three-times")
    applied(first, case)
    assert not replayed(first)
    assert read_ledger(db) == case.after(before)
    once = snapshot(db)
    for _ in range(2):
        again = send(world[case.sender], case, variables, "three-times")
        assert again.status_code == 200 and replayed(again)
        assert again.content == first.content
        assert snapshot(db) == once
    assert read_ledger(db) == case.after(before)
    assert_clean(db)


@by_name(CASES)
def test_concurrent_sends_of_one_key_apply_once(world: dict[str, Client], db: Database, case: Case) -> None:
    """20 clients send one mutation with one key at the same moment: one applies it, 19 get its answer."""
    variables = case.variables(world)
    before = read_ledger(db)
    sender = world[case.sender]
    barrier = threading.Barrier(CONCURRENT)
    responses: list[httpx.Response] = []

    def burst() -> None:
        client = Client(sender.base, sender.token)
        barrier.wait()
        responses.append(send(client, case, variables, "burst"))

    threads = [threading.Thread(target=burst) for _ in range(CONCURRENT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(responses) == CONCURRENT
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    applied(responses[0], case)
    assert sum(not replayed(r) for r in responses) == 1
    assert read_ledger(db) == case.after(before)
    with db.reading() as s:
        assert s.scalar(select(func.count(IdempotencyKey.id))) == 1
    assert_clean(db)


def test_the_same_key_with_another_request_is_refused_and_changes_nothing(
    world: dict[str, Client], db: Database
) -> None:
    """Another quantity, another operation, or the same one with other variables: 422, and not a row changes."""
    receipt = {"input": {"site": "N", "sku": "X", "quantity": 5, "reason": "RECEIPT"}}
    first = world["n"].post(operations()["RecordMovement"], receipt, key="k-1")
    assert first.status_code == 200 and first.json()["data"]["recordMovement"]["stockLevel"]["onHand"] == 45
    after_first = snapshot(db)
    others = [
        (operations()["RecordMovement"], {"input": {**receipt["input"], "quantity": 6}}),
        (operations()["RecordMovement"], {"input": {**receipt["input"], "note": "same units"}}),
        (operations()["PlaceOrder"], {"input": {"site": "N", "sku": "X", "quantity": 5}}),
        (operations()["RecordMovement"].replace("onHand", "onHand available"), receipt),
    ]
    for query, variables in others:
        refused = world["n"].post(query, variables, key="k-1")
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_REUSED"
        assert not replayed(refused)
        assert snapshot(db) == after_first
    # The key still answers its own request, and a new key applies the other one.
    again = world["n"].post(operations()["RecordMovement"], receipt, key="k-1")
    assert again.content == first.content and replayed(again)
    six = world["n"].post(operations()["RecordMovement"], {"input": {**receipt["input"], "quantity": 6}}, key="k-2")
    assert six.json()["data"]["recordMovement"]["stockLevel"]["onHand"] == 51
    assert read_ledger(db).movements == Counter(
        {("N", "RECEIPT", 40): 1, ("N", "RECEIPT", 5): 1, ("N", "RECEIPT", 6): 1}
    )
    assert_clean(db)


def test_the_same_key_from_another_caller_is_its_own(world: dict[str, Client], db: Database) -> None:
    """Two tokens of one site use the key "k": both receipts apply, and each retry gets its own answer back."""
    receipt = {"input": {"site": "N", "sku": "X", "quantity": 5, "reason": "RECEIPT"}}
    mine = world["n"].post(operations()["RecordMovement"], receipt, key="k")
    theirs = world["n2"].post(operations()["RecordMovement"], receipt, key="k")
    assert not replayed(mine) and not replayed(theirs)
    assert mine.json()["data"]["recordMovement"]["stockLevel"]["onHand"] == 45
    assert theirs.json()["data"]["recordMovement"]["stockLevel"]["onHand"] == 50
    # A third caller's "k" with another request is neither a replay nor a reuse.
    order = world["west"].post(operations()["PlaceOrder"], {"input": {"site": "N", "sku": "X", "quantity": 3}}, key="k")
    assert order.status_code == 200 and not replayed(order)
    assert order.json()["data"]["placeOrder"]["filledQuantity"] == 3
    settled = snapshot(db)
    for client, answer in ((world["n"], mine), (world["n2"], theirs)):
        retry = client.post(operations()["RecordMovement"], receipt, key="k")
        assert replayed(retry) and retry.content == answer.content
    assert snapshot(db) == settled
    assert read_ledger(db) == Ledger(
        Counter({("N", "RECEIPT", 40): 1, ("N", "RECEIPT", 5): 2, ("N", "ORDER_FILL", -3): 1}), {"N": (47, 0)}
    )
    assert_clean(db)


# --- A fault after the ledger write, before the commit ------------------------------------------------------


class Fault(RuntimeError):
    """The injected crash."""


def in_request() -> bool:
    return threading.current_thread().name.startswith("request")


@pytest.fixture
def commit_hooks() -> Iterator[Callable[[str, Callable[[Session], None]], None]]:
    """Listen on every session's commit events for the test's length."""
    added: list[tuple[str, Callable[[Session], None]]] = []

    def listen(name: str, hook: Callable[[Session], None]) -> None:
        event.listen(Session, name, hook)
        added.append((name, hook))

    yield listen
    for name, hook in added:
        event.remove(Session, name, hook)


@pytest.fixture
def server_errors() -> Iterator[list[BaseException | None]]:
    """The exceptions the server logs as unexpected (it answers 500 and keeps the connection)."""
    found: list[BaseException | None] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            found.append(record.exc_info[1] if record.exc_info else None)

    handler, logger = Collect(logging.ERROR), logging.getLogger("stockpool.api")
    logger.addHandler(handler)
    yield found
    logger.removeHandler(handler)


def inject(
    where: str,
    case: Case,
    monkeypatch: pytest.MonkeyPatch,
    commit_hooks: Callable[[str, Callable[[Session], None]], None],
) -> tuple[list[Ledger], Callable[[], None]]:
    """Raise `Fault` at `where`, once the request's session holds the mutation's writes; returns what the session
    held when the fault fired, and a function that removes the fault."""
    seen: list[Ledger] = []
    armed = [True]

    def fire(session: Session) -> None:
        session.flush()
        seen.append(ledger(session))
        raise Fault(f"injected at {where}")

    if where == "domain function":
        module, name = case.domain
        real = getattr(module, name)

        def faulty(session: Session, *args: Any, **kwargs: Any) -> Any:
            result = real(session, *args, **kwargs)
            if armed[0]:
                fire(session)
            return result

        monkeypatch.setattr(module, name, faulty)
    elif where == "answer field":  # the mutation is done and its savepoint released; its answer is being read

        def faulty_by_id(session: Session, model: Any, ids: Any) -> Any:
            found = real_by_id(session, model, ids)
            if armed[0] and model is Site:
                fire(session)
            return found

        real_by_id = api_context._by_id
        monkeypatch.setattr(api_context, "_by_id", faulty_by_id)
    elif where == "idempotency store":
        real_store = idempotency.store

        def faulty_store(session: Session, token_id: int, key: str, request_hash: str, response: str) -> None:
            real_store(session, token_id, key, request_hash, response)
            if armed[0]:
                assert session.scalar(select(func.count(IdempotencyKey.id)).where(IdempotencyKey.key == key)) == 1
                fire(session)

        monkeypatch.setattr(idempotency, "store", faulty_store)
    else:

        def before_commit(session: Session) -> None:
            if armed[0] and in_request() and not session.in_nested_transaction():  # not a mutation's savepoint
                assert session.scalar(select(func.count(IdempotencyKey.id)).where(IdempotencyKey.key == "crash")) == 1
                fire(session)

        commit_hooks("before_commit", before_commit)

    return seen, lambda: armed.__setitem__(0, False)


FAULTS = [
    pytest.param(case, where, id=f"{case.operation}-{where}")
    for case in CASES
    for where in ("domain function", "idempotency store", "before commit")
] + [pytest.param(CASES[0], "answer field", id="RecordMovement-answer field")]  # its answer has site { code }


@pytest.mark.parametrize(("case", "where"), FAULTS)
def test_a_fault_before_commit_leaves_nothing_and_the_retry_applies_once(
    world: dict[str, Client],
    db: Database,
    case: Case,
    where: str,
    monkeypatch: pytest.MonkeyPatch,
    commit_hooks: Callable[[str, Callable[[Session], None]], None],
    server_errors: list[BaseException | None],
) -> None:
    """The request fails once its writes are in the session; the database is as before; the retry with the key
    applies the mutation exactly once, and a further retry replays it."""
    variables = case.variables(world)
    before, untouched = read_ledger(db), snapshot(db)
    seen, heal = inject(where, case, monkeypatch, commit_hooks)

    failed = send(world[case.sender], case, variables, "crash")
    assert seen == [case.after(before)]  # the writes were in the session when the fault fired
    if failed.status_code == 200:  # a fault inside a resolver: GraphQL's masked error
        assert [error["message"] for error in failed.json()["errors"]] == ["Unexpected error."]
    else:  # the fault escaped the handler: a 500, and the server logs the fault itself, not a clean-up failure
        assert failed.status_code == 500
        deadline = time.monotonic() + 10  # uvicorn logs it just after the 500 has gone out
        while not server_errors and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [type(error) for error in server_errors] == [Fault]
    assert not replayed(failed)
    assert snapshot(db) == untouched

    heal()
    retry = send(world[case.sender], case, variables, "crash")
    applied(retry, case)
    assert not replayed(retry)
    assert read_ledger(db) == case.after(before)
    assert len(seen) == 1
    once = snapshot(db)
    again = send(world[case.sender], case, variables, "crash")
    assert replayed(again) and again.content == retry.content
    assert snapshot(db) == once
    assert_clean(db)


@by_name(CASES)
def test_an_answer_lost_after_the_commit_is_replayed_not_reapplied(
    world: dict[str, Client],
    db: Database,
    case: Case,
    commit_hooks: Callable[[str, Callable[[Session], None]], None],
) -> None:
    """The commit succeeds but the client gives up before the answer comes; its retry gets the answer, once."""
    variables = case.variables(world)
    before = read_ledger(db)
    committed, release = threading.Event(), threading.Event()

    def after_commit(session: Session) -> None:
        if in_request() and not session.in_nested_transaction() and not committed.is_set():
            committed.set()
            release.wait(30)  # hold the answer back until the client has given up and retried

    commit_hooks("after_commit", after_commit)
    sender = world[case.sender]
    impatient = Client(sender.base, sender.token)
    impatient.http = httpx.Client(base_url=sender.base, timeout=0.3)
    try:
        with pytest.raises(httpx.TimeoutException):
            send(impatient, case, variables, "lost")
        assert committed.wait(30)
        assert read_ledger(db) == case.after(before)
        retry = send(sender, case, variables, "lost")
    finally:
        release.set()
        impatient.http.close()
    applied(retry, case)
    assert replayed(retry)
    assert read_ledger(db) == case.after(before)
    once = snapshot(db)
    again = send(sender, case, variables, "lost")
    assert replayed(again) and again.content == retry.content
    assert snapshot(db) == once
    assert_clean(db)


def test_a_request_refused_before_execution_does_not_use_up_its_key(world: dict[str, Client], db: Database) -> None:
    """As Stripe: a request that fails validation never ran, so its key stays free for the corrected request."""
    before = snapshot(db)
    bad = world["n"].post('mutation { recordMovement(input: {site: "N"}) { nope } }', key="fix-me")
    assert bad.status_code == 200 and bad.json()["data"] is None
    assert snapshot(db) == before
    good = {"input": {"site": "N", "sku": "X", "quantity": 5, "reason": "RECEIPT"}}
    first = world["n"].post(operations()["RecordMovement"], good, key="fix-me")
    assert first.status_code == 200 and first.headers.get("idempotent-replayed") is None
    assert first.json()["data"]["recordMovement"]["errors"] == []
    again = world["n"].post(operations()["RecordMovement"], good, key="fix-me")
    assert again.content == first.content and again.headers.get("idempotent-replayed") == "true"
    assert read_ledger(db).levels["N"] == (45, 0)
    assert_clean(db)
