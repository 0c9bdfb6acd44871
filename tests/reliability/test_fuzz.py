"""Schema-driven fuzz of every mutation over real HTTP: hostile input never breaks the service nor the ledger.

For each mutation of schema.graphql, hypothesis builds `input` objects from the schema's own types: mostly
plausible values (known sites, skus, ids, small quantities) mixed with hostile ones (huge and negative ints,
non-finite floats, empty, long, unicode, NUL and unpaired-surrogate strings, malformed ids, unknown enum values,
nulls, values of the wrong type, missing and unknown fields, lists over the limit). The examples are few and
derandomized, so CI runs the same ones every time.

Properties of every answer: HTTP 200 (413 only for a body over the limit), never "Unexpected error."; either
GraphQL validation errors with no data (refused before any resolver ran) or the payload with typed `errors`
whose codes are ours and whose field is one of the input's; a refused call changes no row; after each accepted
one, and at the end, the ledger audits clean.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    Undefined,
    get_named_type,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import MAX_BODY_BYTES
from models.db import Database
from pooling.audit import audit
from pooling.errors import ErrorCode
from pooling.limits import MAX_IDS
from tests.api.conftest import Client
from tests.reliability.snapshot import snapshot
from tests.reliability.test_misuse import MUTATIONS, document, records, world  # noqa: F401 - fixtures

CODES = {code.value for code in ErrorCode}
# Examples per mutation (well-typed, spoiled): 18 x 7 with the ADMIN token, 18 x 2 with S's SITE token.
EXAMPLES = {"admin": (5, 2), "s": (2, 0)}

# Values each scalar type refuses (as does any non-null field for null): a type-level fault.
WRONG: dict[str, list[Any]] = {
    "String": [True, 7, 1.5, [True], {"a": 1}],
    "ID": [True, 1.5, [True], {"a": 1}],
    "Int": ["5", 1.5, 2**31, -(2**31) - 1, 10**30, True, float("nan"), {"a": 1}],
    "Float": ["x", True, float("nan"), float("inf"), {"a": 1}],
    "Boolean": ["true", 1, {"a": 1}],
    "Decimal": ["x", "", "1,5", True, {"a": 1}],
    "DateTime": ["soon", "", "2026-13-01T00:00:00Z", 5, True, {"a": 1}],
    "enum": ["NOPE", "receipt", "", 1, True],
}
NOT_AN_OBJECT = [None, True, 7, "x", [1]]
# Well-typed but hostile values, by GraphQL type: these reach the resolvers.
TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["", "   ", "x" * 65, "x" * 201, "x" * 501, "x" * 20_000, "😀" * 40, "'; DROP TABLE sites; --", "NaN", "null"]
    ),
)
UNSTORABLE = st.sampled_from(["\x00", "ok\x00", "\ud800"])  # well-typed, refused before any resolver
INT = st.one_of(
    st.integers(-5, 40),
    st.integers(-5, 40),
    st.integers(-(2**31), 2**31 - 1),
    st.sampled_from([0, -1, 10**9, 10**9 + 1, 2**31 - 1, -(2**31)]),
)
DECIMAL = st.one_of(
    st.decimals(min_value=-100, max_value=100, places=2).map(str),
    st.sampled_from(["1.20", "0", "0.001", "-0.01", "NaN", "-Infinity", "1e400", "9999999999.99", "1e10", "1E-2"]),
    st.floats(-1e6, 1e6),
    st.integers(-(2**31), 2**31 - 1),
)
DATETIME = st.one_of(
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "2026-12-01T08:00:00Z",
            "2026-12-01T08:00:00",
            "2026-12-01",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:00:00-14:00",
        ]
    ),
)
NAMED = {"site": ["N", "S", "E"], "fromSite": ["N", "S", "E"], "toSite": ["N", "S", "E"]}
NAMED |= {"sku": ["X", "Y"], "region": ["west", "east"], "code": ["N"], "skus": ["X", "Y"]}


def ids_of(kind: str, *pks: int) -> list[str]:
    return [base64.urlsafe_b64encode(f"{kind}:{pk}".encode()).decode() for pk in pks]


BAD_IDS = ["", "garbage", "x" * 5_000, *ids_of("Site", 1), *ids_of("Transfer", 0, -1, 2**62, 999_999), "VHJhbnNmZXI6"]


def typed(type_: GraphQLInputType, field: str, known_ids: list[str]) -> st.SearchStrategy[Any]:
    """A value of the declared type, biased to what the service knows (sites, skus, ids), often hostile."""
    if isinstance(type_, GraphQLNonNull):
        return typed(type_.of_type, field, known_ids)
    if isinstance(type_, GraphQLList):
        element = typed(type_.of_type, field, known_ids)
        short = element.filter(lambda v: not isinstance(v, str) or len(v) < 100)
        return st.one_of(
            st.lists(element, max_size=4),
            st.lists(element, max_size=4),
            short.map(lambda v: [v] * (MAX_IDS + 1)),
            element,  # a single value where a list is expected: GraphQL makes it a list of one
        )
    if isinstance(type_, GraphQLEnumType):
        return st.sampled_from(list(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return input_object(type_, known_ids)
    assert isinstance(type_, GraphQLScalarType), type_
    strategies: dict[str, st.SearchStrategy[Any]] = {
        "ID": st.one_of(st.sampled_from(known_ids), st.sampled_from(known_ids), st.sampled_from(BAD_IDS)),
        "String": st.one_of(st.sampled_from(NAMED[field]), st.sampled_from(NAMED[field]), TEXT)
        if field in NAMED
        else TEXT,
        "Int": INT,
        "Float": st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([-90.0, 90.0, 90.5])),
        "Boolean": st.booleans(),
        "Decimal": DECIMAL,
        "DateTime": DATETIME,
    }
    return strategies[type_.name]


def input_object(type_: GraphQLInputObjectType, known_ids: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Required fields present, optional ones sometimes, each a well-typed value."""
    fields = type_.fields
    required = {n: typed(f.type, n, known_ids) for n, f in fields.items() if isinstance(f.type, GraphQLNonNull)}
    optional = {n: typed(f.type, n, known_ids) for n, f in fields.items() if n not in required}
    return st.fixed_dictionaries(required, optional=optional)


def variables(mutation: str, known_ids: list[str], spoil: bool) -> st.SearchStrategy[dict[str, Any]]:
    """A well-typed input; or, with `spoil`, one type-level fault: a field of the wrong type or null, a required
    field missing, an unknown field, NUL or an unpaired surrogate in a string, or no input object at all."""
    type_ = get_named_type(MUTATIONS[mutation].args["input"].type)
    assert isinstance(type_, GraphQLInputObjectType)
    built = input_object(type_, known_ids)
    if not spoil:
        return built.map(lambda input: {"input": input})

    @st.composite
    def spoiled(draw: st.DrawFn) -> Any:
        candidate: dict[str, Any] = dict(draw(built))
        fields = type_.fields
        strings = [n for n, f in fields.items() if get_named_type(f.type).name in ("String", "ID")]
        omittable = [
            n for n, f in fields.items() if isinstance(f.type, GraphQLNonNull) and f.default_value is Undefined
        ]
        how = draw(st.sampled_from(["wrong type", "missing", "unknown field", "unstorable text", "not an object"]))
        if how == "wrong type":
            name = draw(st.sampled_from(sorted(fields)))
            field_type = fields[name].type
            named = get_named_type(field_type)
            wrong = list(WRONG["enum" if isinstance(named, GraphQLEnumType) else named.name])
            if isinstance(field_type, GraphQLNonNull):
                wrong.append(None)
                field_type = field_type.of_type
            if isinstance(field_type, GraphQLList):
                wrong = [[None], [True], {"a": 1}]
            candidate[name] = draw(st.sampled_from(wrong))
        elif how == "missing" and omittable:
            candidate.pop(draw(st.sampled_from(omittable)), None)
        elif how == "unknown field":
            candidate[draw(st.sampled_from(["colour", "__typename", "", "ids2"]))] = draw(st.integers(0, 3))
        elif how == "unstorable text" and strings:
            candidate[draw(st.sampled_from(strings))] = draw(UNSTORABLE)
        else:
            return draw(st.sampled_from(NOT_AN_OBJECT))
        return candidate

    return spoiled().map(lambda input: {"input": input})


def answer(client: Client, query: str, body_variables: dict[str, Any]) -> tuple[int, dict[str, Any], bool]:
    """POST as raw JSON (NaN, surrogates and huge numbers as drawn): (status, body, whether it was over the limit)."""
    content = json.dumps({"query": query, "variables": body_variables})
    response = client.http.post(
        "/graphql",
        content=content,
        headers={"Authorization": f"Bearer {client.token}", "Content-Type": "application/json"},
    )
    assert "Unexpected error." not in response.text, response.text
    return response.status_code, response.json(), len(content.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES


def check(db: Database, client: Client, mutation: str, drawn: dict[str, Any]) -> bool:
    """Send one fuzzed call and check the properties; True when the call was accepted (and changed things)."""
    before = snapshot(db)
    status, body, oversized = answer(client, document(mutation), drawn)
    if oversized:
        assert status == 413, (status, body)
        assert snapshot(db) == before
        return False
    assert status == 200, body
    if body.get("data") is None:
        assert body["errors"] and all("path" not in e for e in body["errors"]), body  # refused before resolvers
        assert snapshot(db) == before, f"{mutation} {drawn!r} was refused but changed the database"
        return False
    assert "errors" not in body, body
    payload = body["data"][mutation]
    fields = set(get_named_type(MUTATIONS[mutation].args["input"].type).fields)  # type: ignore[union-attr]
    for error in payload["errors"]:
        assert error["code"] in CODES and error["message"], error
        assert error["field"] is None or error["field"] in fields, (mutation, error)
    if payload["errors"]:
        assert all(v in (None, []) for k, v in payload.items() if k != "errors"), payload
        assert snapshot(db) == before, f"{mutation} {drawn!r} answered {payload['errors']} but changed the database"
        return False
    with db.reading() as s:
        assert audit(s) == [], (mutation, drawn)
    return True


def fuzz(db: Database, client: Client, mutation: str, known: list[str], examples: int, spoil: bool) -> list[bool]:
    """Run `examples` derandomized fuzzed calls of one mutation; whether each was accepted."""
    accepted: list[bool] = []

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(drawn=variables(mutation, known, spoil))
    def one(drawn: dict[str, Any]) -> None:
        accepted.append(check(db, client, mutation, drawn))

    one()
    return accepted


@pytest.mark.parametrize("who", sorted(EXAMPLES))
def test_fuzzed_mutations_never_break_the_service(
    world: dict[str, Client],  # noqa: F811
    records: dict[str, str],  # noqa: F811
    db: Database,
    who: str,
) -> None:
    client = world[who]
    me = client.gql("{ me { id } }")["me"]["id"]
    other = world["e"].gql("{ me { id } }")["me"]["id"]  # a token the fuzz may revoke (never its own)
    assert other != me
    known = [*records.values(), other, *ids_of("Backorder", 1, 2), *ids_of("Transfer", 1, 2), *ids_of("Reorder", 1)]
    well_typed, spoiled = EXAMPLES[who]
    for mutation in sorted(MUTATIONS):
        fuzz(db, client, mutation, known, well_typed, spoil=False)
        if spoiled:
            assert not any(fuzz(db, client, mutation, known, spoiled, spoil=True)), "a type-level fault was accepted"
    assert client.gql("{ me { id } }")["me"]["id"] == me  # still authenticated: the run went to the end
    with db.reading() as s:
        assert audit(s) == []
