"""setSharingPolicy over HTTP: an item's rule and a site's default, replaced in place; bad input is a typed error
and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import SharingPolicy
from models.db import Database
from tests.api.conftest import Client, clients_by_role
from tests.factories import build_network


@pytest.fixture
def world(db: Database, server: str, admin: Client) -> dict[str, Client]:
    build_network(db, {"N": "west", "S": "west", "E": "east"}, {"X": "10.00"}, [("N", "S", "1.00", 6)])
    return clients_by_role(db, server, admin)


def rules(db: Database) -> list[tuple[object, ...]]:
    with db.reading() as s:
        return [
            (p.site.code, p.item.sku if p.item else None, p.share, p.keep_days_of_cover, p.max_units_per_plan)
            for p in s.scalars(select(SharingPolicy).order_by(SharingPolicy.id))
        ]


def share(client: Client, **values: object) -> dict:
    (result,) = client.op("SetSharingPolicy", input={"site": "N", "sku": "X", "share": "SURPLUS", **values}).values()
    return result


def test_a_rule_is_set_and_replaced_in_place(world: dict[str, Client], db: Database) -> None:
    assert share(world["n"], keepDaysOfCover=7)["errors"] == []
    assert share(world["n"], share="NEVER")["sharingPolicy"] == {
        "site": {"code": "N"},
        "item": {"sku": "X"},
        "share": "NEVER",
        "keepDaysOfCover": None,
        "maxUnitsPerPlan": None,
    }
    assert share(world["west"], sku=None, maxUnitsPerPlan=50)["errors"] == []
    assert rules(db) == [("N", "X", "NEVER", None, None), ("N", None, "SURPLUS", None, 50)]


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"keepDaysOfCover": -1}, "keepDaysOfCover", "INVALID"),
        ({"keepDaysOfCover": 100_000}, "keepDaysOfCover", "INVALID"),
        ({"maxUnitsPerPlan": -5}, "maxUnitsPerPlan", "INVALID_QUANTITY"),
        ({"maxUnitsPerPlan": 2_000_000_000}, "maxUnitsPerPlan", "INVALID_QUANTITY"),
        ({"share": "NEVER", "keepDaysOfCover": 3}, "share", "INVALID"),
        ({"site": "NOWHERE"}, "site", "NOT_FOUND"),
        ({"sku": "NOPE"}, "sku", "NOT_FOUND"),
        ({"site": "S"}, "site", "NOT_FOUND"),  # another site's rule: outside a SITE token's scope
    ],
)
def test_bad_input_is_a_typed_error_and_changes_nothing(
    world: dict[str, Client], db: Database, values: dict, field: str, code: str
) -> None:
    share(world["n"], keepDaysOfCover=7)
    before = rules(db)
    result = share(world["n"], **values)
    assert result["sharingPolicy"] is None
    assert [(e["field"], e["code"]) for e in result["errors"]] == [(field, code)]
    assert rules(db) == before


def test_a_coordinator_sets_rules_in_its_region_only(world: dict[str, Client], db: Database) -> None:
    assert share(world["west"], site="S")["errors"] == []
    assert [e["code"] for e in share(world["east"], site="S")["errors"]] == ["NOT_FOUND"]
    assert rules(db) == [("S", "X", "SURPLUS", None, None)]
