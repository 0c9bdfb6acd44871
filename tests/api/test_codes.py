"""Site codes, regions and SKUs over HTTP: one documented character set, NFC, nothing invisible, so no look-alikes."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from sqlalchemy import func, select

from models import Item, Site
from models.db import Database
from tests.api.conftest import Client
from tests.factories import build_network

ERRORS = "errors { field code message }"
CREATE_SITE = (
    f"mutation M($input: CreateSiteInput!) {{ createSite(input: $input) {{ site {{ code region }} {ERRORS} }} }}"
)
CREATE_ITEM = f"mutation M($input: CreateItemInput!) {{ createItem(input: $input) {{ item {{ sku }} {ERRORS} }} }}"
SET_LANE = f"mutation M($input: SetLaneInput!) {{ setLane(input: $input) {{ lane {{ unitCost }} {ERRORS} }} }}"

# Each looks like LDS (or like nothing at all) on a screen.
LOOK_ALIKES = [
    "LDS\u200b",  # zero-width space (Cf)
    "\u200bLDS",
    "L\u200dDS",  # zero-width joiner (Cf)
    "LDS\u2060",  # word joiner (Cf)
    "\u202eSDL",  # right-to-left override (Cf)
    "LD\u00adS",  # soft hyphen (Cf)
    "LDS\ufeff",  # zero-width no-break space (Cf)
    "LDS\u3164",  # Hangul filler: a letter (Lo) that shows nothing
    "LDS\x07",  # control (Cc)
    "LDS\x1f",
    "LD S",  # a space inside
    "LDS\u00a0X",  # a no-break space inside
    "LDS\u0301\u0301",  # a combining mark that NFC cannot compose
]


def counts(db: Database) -> tuple[int, int]:
    with db.reading() as s:
        return s.scalar(select(func.count(Site.id))) or 0, s.scalar(select(func.count(Item.id))) or 0


def create_site(admin: Client, **values: Any) -> dict[str, Any]:
    site = {"code": "NEW", "name": "New lab", "region": "west", **values}
    return admin.gql(CREATE_SITE, {"input": site})["createSite"]  # type: ignore[no-any-return]


def create_item(admin: Client, **values: Any) -> dict[str, Any]:
    item = {"sku": "NEW", "name": "New reagent", "unitCost": "1.00", **values}
    return admin.gql(CREATE_ITEM, {"input": item})["createItem"]  # type: ignore[no-any-return]


@pytest.fixture
def network(db: Database) -> None:
    build_network(db, {"LDS": "west", "YRK": "west"}, {"RGT-001": "4.00"})


@pytest.mark.parametrize("look_alike", LOOK_ALIKES, ids=lambda v: v.encode("unicode_escape").decode())
def test_a_look_alike_site_code_region_or_sku_is_invalid_and_changes_nothing(
    look_alike: str, network: None, db: Database, admin: Client
) -> None:
    before = counts(db)
    for field, answer in (
        ("code", create_site(admin, code=look_alike)),
        ("region", create_site(admin, region=look_alike)),
        ("sku", create_item(admin, sku=look_alike)),
    ):
        assert answer["site" if field != "sku" else "item"] is None
        ((error),) = answer["errors"]
        assert (error["field"], error["code"]) == (field, "INVALID"), error
        assert error["message"].startswith(f'{field} may hold only letters, digits, "-", "_" and "."'), error
    assert counts(db) == before


def test_the_error_names_the_character_that_cannot_be_seen(network: None, admin: Client) -> None:
    (error,) = create_site(admin, code="LDS\u200b")["errors"]
    assert error["message"] == (
        'code may hold only letters, digits, "-", "_" and ".", beginning with a letter or digit; it has U+200B '
        "(ZERO WIDTH SPACE) at position 4."
    )


def test_codes_are_taken_in_nfc_so_two_spellings_of_one_name_are_one_code(db: Database, admin: Client) -> None:
    decomposed, composed = "CAFE\u0301", "CAF\u00c9"
    assert unicodedata.normalize("NFC", decomposed) == composed != decomposed
    assert create_site(admin, code=decomposed, region="r\u00e9gion-1") == {
        "site": {"code": composed, "region": "r\u00e9gion-1"},
        "errors": [],
    }
    duplicate = create_site(admin, code=composed)
    assert duplicate["site"] is None and [e["code"] for e in duplicate["errors"]] == ["DUPLICATE"]
    assert create_item(admin, sku="\u00c5SA-2")["errors"] == []
    assert [e["code"] for e in create_item(admin, sku="A\u030aSA-2")["errors"]] == ["DUPLICATE"]  # Å as A + ring
    # A lookup takes the same form: the site is found however its name was typed.
    assert create_site(admin, code="LDS")["errors"] == []
    lane = {"fromSite": decomposed, "toSite": "LDS", "unitCost": "1.00", "leadTimeHours": 4}
    assert admin.gql(SET_LANE, {"input": lane})["setLane"] == {"lane": {"unitCost": "1.00"}, "errors": []}
    order = {"site": decomposed, "sku": "A\u030aSA-2", "quantity": 2}
    placed = admin.op("PlaceOrder", input=order)["placeOrder"]
    assert (placed["errors"], placed["backorder"]["quantity"]) == ([], 2)


@pytest.mark.parametrize(
    "code", ["LAB-N", "lab_n.2", "Z", "9", "ЛАБ-1", "東京-3", "القاهرة", "x" * 32, "  spaced  "], ids=str
)
def test_letters_and_digits_of_any_script_dash_underscore_and_dot_are_codes(
    code: str, db: Database, admin: Client
) -> None:
    answer = create_site(admin, code=code, region=code)
    assert answer["errors"] == [] and answer["site"] == {"code": code.strip(), "region": code.strip()}
    assert create_item(admin, sku=code)["errors"] == []


@pytest.mark.parametrize(("code", "field"), [("-LDS", "code"), (".x", "code"), ("x" * 33, "code"), ("", "code")])
def test_a_code_must_begin_with_a_letter_or_digit_and_fit(code: str, field: str, db: Database, admin: Client) -> None:
    (error,) = create_site(admin, code=code)["errors"]
    assert (error["field"], error["code"]) == (field, "INVALID")


def test_a_lane_to_a_look_alike_finds_no_site(network: None, db: Database, admin: Client) -> None:
    lane = {"fromSite": "LDS\u200b", "toSite": "YRK", "unitCost": "1.00", "leadTimeHours": 4}
    answer = admin.gql(SET_LANE, {"input": lane})["setLane"]
    assert answer["lane"] is None
    assert [(e["field"], e["code"]) for e in answer["errors"]] == [("fromSite", "NOT_FOUND")]
