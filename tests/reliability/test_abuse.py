"""Abusive requests over HTTP: each is refused by its own limit before any resolver runs, and nothing changes.

The limits: depth 12, 50 aliases (fragments written out), 4,000 tokens, 1 MB bodies, one operation per request,
and no introspection when the production setting turns it off. The abusive operations are mutations that would
place orders, so "nothing ran" shows three ways: no field was resolved, no backorder exists, no row changed.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from graphql.language import Lexer, Source, TokenKind
from sqlalchemy import func, select
from starlette.applications import Starlette
from strawberry import Schema
from strawberry.extensions import SchemaExtension

from api import cli
from api.app import MAX_BODY_BYTES, create_app
from api.cli import serve
from api.graphql.schema import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS
from models import Backorder
from models.db import Database
from pooling.audit import audit
from tests.api.conftest import Client, serving
from tests.api.serving import free_port
from tests.factories import build_network, receive
from tests.reliability.snapshot import snapshot

ORDER = 'placeOrder(input: {site: "S", sku: "X", quantity: 1})'
PLACE = ORDER + " { filledQuantity }"
INTROSPECTION = ("{ __schema { queryType { name } } }", '{ __type(name: "Query") { name } }')

# The real server over the test database, and an ADMIN token (tests/api/conftest.py).


@pytest.fixture
def resolved(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every field any schema resolves from now on (the test servers run in this process)."""
    calls: list[str] = []

    class Recorder(SchemaExtension):
        def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append(info.field_name)
            return _next(root, info, *args, **kwargs)

    extensions = Schema.get_extensions
    monkeypatch.setattr(Schema, "get_extensions", lambda self, sync=False: [*extensions(self, sync), Recorder()])
    return calls


@pytest.fixture
def world(db: Database, admin: Client) -> Client:
    """west: N (40 of X) -> S. Orders for X at S would become backorders. Returns an ADMIN client."""
    build_network(db, {"N": "west", "S": "west"}, {"X": "10.00"}, [("N", "S", "1.00", 6)])
    receive(db, "N", "X", 40)
    return admin


def token_count(query: str) -> int:
    """Tokens as the parser counts them against the limit (punctuators, names, values; not commas)."""
    lexer, count = Lexer(Source(query)), 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


def refused(client: Client, query: str) -> list[str]:
    """Post `query`; it must be refused as a whole (no data). Returns the error messages."""
    body = client.post(query).json()
    assert body.get("data") is None, body
    return [e["message"] for e in body["errors"]]


def backorders(db: Database) -> int:
    with db.reading() as s:
        return s.scalar(select(func.count(Backorder.id))) or 0


def assert_clean(db: Database) -> None:
    with db.reading() as s:
        assert audit(s) == []


def aliased_orders(count: int) -> str:
    return " ".join(f"a{i}: {PLACE}" for i in range(count))


def test_depth_25_is_refused_by_the_depth_limit(world: Client, db: Database, resolved: list[str]) -> None:
    """placeOrder { backorder { backorder ... } }: a depth of 13 or 25 is refused for its depth; 12 is not."""
    before = snapshot(db)

    def deep(depth: int) -> str:
        return "mutation Deep { " + ORDER + " { " + "backorder { " * (depth - 1) + "id" + " }" * depth + " }"

    too_deep = f"'Deep' exceeds maximum operation depth of {MAX_DEPTH}"
    assert too_deep in refused(world, deep(25))
    assert too_deep in refused(world, deep(MAX_DEPTH + 1))
    # At the limit only the field rule objects (a Backorder has no `backorder`); the depth limit says nothing.
    at_limit = refused(world, deep(MAX_DEPTH))
    assert at_limit and not any("depth" in m for m in at_limit), at_limit
    assert resolved == [] and backorders(db) == 0 and snapshot(db) == before
    assert_clean(db)


def test_more_than_50_aliases_are_refused_and_50_run(world: Client, db: Database, resolved: list[str]) -> None:
    """51 aliased placeOrders are refused by the alias limit and place nothing; 50 run and place 50 orders."""
    before = snapshot(db)
    assert refused(world, "mutation { " + aliased_orders(MAX_ALIASES + 1) + " }") == [
        f"{MAX_ALIASES + 1} aliases found. Allowed: {MAX_ALIASES}"
    ]
    assert resolved == [] and backorders(db) == 0 and snapshot(db) == before

    placed = world.gql("mutation { " + aliased_orders(MAX_ALIASES) + " }")
    assert len(placed) == MAX_ALIASES and all(p == {"filledQuantity": 0} for p in placed.values())
    assert resolved.count("placeOrder") == MAX_ALIASES and backorders(db) == MAX_ALIASES
    assert_clean(db)


def test_2000_aliases_are_refused(world: Client, db: Database, resolved: list[str]) -> None:
    """Written out, 2,000 aliases take more than 4,000 tokens: the token limit refuses them at parse time.

    Spread through a fragment they fit in a few hundred tokens, and the alias limit refuses them.
    """
    before = snapshot(db)
    flat = "mutation { " + aliased_orders(2000) + " }"
    assert token_count(flat) > MAX_TOKENS
    assert any(f"more than {MAX_TOKENS} tokens" in m for m in refused(world, flat))

    spread = f"fragment Twenty on Mutation {{ {aliased_orders(20)} }} mutation {{ {'...Twenty ' * 100}}}"
    assert token_count(spread) <= MAX_TOKENS
    assert refused(world, spread) == [f"2000 aliases found. Allowed: {MAX_ALIASES}"]
    assert resolved == [] and backorders(db) == 0 and snapshot(db) == before
    assert_clean(db)


def laughs(levels: int, spreads: int, root: str, leaf: str) -> str:
    """F0 holds `leaf`; each next fragment spreads the one before `spreads` times; the operation spreads the last."""
    fragments = [f"fragment F0 on {root} {{ {leaf} }}"]
    fragments += [f"fragment F{n} on {root} {{ {f'...F{n - 1} ' * spreads}}}" for n in range(1, levels)]
    operation = "mutation" if root == "Mutation" else "query"
    return " ".join(fragments) + f" {operation} {{ ...F{levels - 1} }}"


def test_aliases_multiplied_through_nested_fragments_are_refused(
    world: Client, db: Database, resolved: list[str]
) -> None:
    """The "billion laughs" shape: 30 fragments, each spreading the one before 10 times, 10 aliases at the bottom.

    That is 10**30 aliases written out, counted without writing them out (a walk per spread would never end,
    and the HTTP client would time out). The same shape without aliases is valid and measured as fast (depth):
    its copies merge into one field, and it answers.
    """
    before = snapshot(db)
    bomb = laughs(30, 10, "Mutation", aliased_orders(10))
    assert token_count(bomb) <= MAX_TOKENS
    assert refused(world, bomb) == [f"{10**30} aliases found. Allowed: {MAX_ALIASES}"]
    assert resolved == [] and backorders(db) == 0 and snapshot(db) == before

    harmless = laughs(30, 10, "Query", "me { role }")
    assert token_count(harmless) <= MAX_TOKENS
    assert world.gql(harmless) == {"me": {"role": "ADMIN"}}
    assert resolved == ["me", "role"]
    assert_clean(db)


def test_20000_tokens_are_refused_and_4000_pass(
    world: Client, db: Database, resolved: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token limit refuses at parse time, and nothing reads past it; a document of exactly 4,000 tokens passes."""
    before = snapshot(db)

    def fields(count: int) -> str:
        return "mutation { " + ORDER + " { " + "filledQuantity " * count + "} }"

    huge = fields(20_000 - token_count(fields(0)))
    assert token_count(huge) == 20_000
    lexed: list[TokenKind] = []
    advance = Lexer.advance

    def counted(lexer: Lexer) -> Any:
        token = advance(lexer)
        lexed.append(token.kind)
        return token

    with monkeypatch.context() as patch:
        patch.setattr(Lexer, "advance", counted)
        assert any(f"more than {MAX_TOKENS} tokens" in m for m in refused(world, huge))
    # The HTTP layer (mutation or query?) and Strawberry each parse it, neither beyond the limit.
    assert 0 < len(lexed) <= 2 * (MAX_TOKENS + 2)
    assert resolved == [] and backorders(db) == 0 and snapshot(db) == before

    def statuses(count: int) -> str:
        return "{ backorders(status: [" + "OPEN " * count + "]) { edges { cursor } } }"

    at_limit = statuses(MAX_TOKENS - token_count(statuses(0)))
    assert token_count(at_limit) == MAX_TOKENS
    assert world.gql(at_limit) == {"backorders": {"edges": []}}
    over = statuses(MAX_TOKENS + 1 - token_count(statuses(0)))
    assert any(f"more than {MAX_TOKENS} tokens" in m for m in refused(world, over))
    assert resolved == ["backorders", "edges"]
    assert_clean(db)


def test_batched_operations_are_refused(world: Client, db: Database, resolved: list[str]) -> None:
    """Batching is off: a JSON list of operations gets a 400; so do two operations in one document and no name."""
    before = snapshot(db)
    headers = {"Authorization": f"Bearer {world.token}"}
    batch = [{"query": f"mutation {{ {PLACE} }}"}, {"query": f"mutation {{ {PLACE} }}"}]
    response = world.http.post("/graphql", json=batch, headers=headers)
    assert response.status_code == 400, response.text
    assert "Batched operations are not supported" in response.json()["errors"][0]["message"]

    two = world.post(f"mutation One {{ {PLACE} }} mutation Two {{ {PLACE} }}")
    assert two.status_code == 400, two.text
    assert "name one in `operationName`" in two.json()["errors"][0]["message"]
    assert resolved == [] and backorders(db) == 0 and snapshot(db) == before
    assert_clean(db)


def test_a_2mb_body_is_refused(world: Client, db: Database, resolved: list[str]) -> None:
    before = snapshot(db)
    padding = "x" * 2 * MAX_BODY_BYTES
    response = world.post(f"mutation Big($pad: String) {{ {PLACE} }}", {"pad": padding})
    assert response.status_code == 413, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "TOO_LARGE"
    assert resolved == [] and backorders(db) == 0 and snapshot(db) == before
    assert_clean(db)


def assert_introspection(base: str, token: str, allowed: bool) -> None:
    client = Client(base, token)
    for query in INTROSPECTION:
        body = client.post(query).json()
        if allowed:
            assert "errors" not in body and body["data"], body
        else:
            assert body.get("data") is None, body
            assert any("introspection has been disabled" in e["message"] for e in body["errors"]), body
    assert client.gql("{ __typename me { role } }") == {"__typename": "Query", "me": {"role": "ADMIN"}}


def test_introspection_is_refused_when_the_production_setting_turns_it_off(
    db: Database, migrated: Database, server: str, tokens: dict[str, str], resolved: list[str]
) -> None:
    """create_app(introspection=False) refuses __schema and __type before they resolve; the default allows them."""
    build_network(db, {"N": "west"}, {"X": "10.00"})
    before = snapshot(db)
    with serving(create_app(migrated, graphiql=False, introspection=False)) as base:
        client = Client(base, tokens["admin"])
        for query in INTROSPECTION:
            assert any("introspection has been disabled" in m for m in refused(client, query))
        assert resolved == []
        assert_introspection(base, tokens["admin"], allowed=False)
    assert resolved == ["__typename", "me", "role"]
    assert_introspection(server, tokens["admin"], allowed=True)
    assert "__schema" in resolved and "__type" in resolved
    assert snapshot(db) == before
    assert_clean(db)


@pytest.mark.parametrize(
    ("flags", "setting", "allowed"),
    [
        (["--no-introspection"], None, False),
        ([], "0", False),
        ([], "false", False),
        ([], None, True),
        ([], "1", True),
    ],
    ids=["--no-introspection", "env 0", "env false", "default", "env 1"],
)
def test_stockpool_serve_turns_introspection_off_by_flag_or_environment(
    db: Database,
    tokens: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    flags: list[str],
    setting: str | None,
    allowed: bool,
) -> None:
    """`stockpool serve --no-introspection` or STOCKPOOL_INTROSPECTION=0 builds an app that refuses introspection."""
    apps: list[Starlette] = []
    monkeypatch.setattr(serve, "start", lambda *_: apps.append(serve.app_from_environment()) or 0)
    monkeypatch.setattr(os, "environ", os.environ.copy())  # `serve` sets variables for the app it starts
    if setting is None:
        monkeypatch.delenv("STOCKPOOL_INTROSPECTION", raising=False)
    else:
        monkeypatch.setenv("STOCKPOOL_INTROSPECTION", setting)
    port = ["--port", str(free_port())]
    assert cli.main(["--database-url", db.url, "serve", "--no-graphiql", *port, *flags]) == 0
    (app,) = apps
    with serving(app) as base:
        assert_introspection(base, tokens["admin"], allowed)
    assert_clean(db)
