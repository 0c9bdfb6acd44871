"""`StockLevel.forecast`: the stored forecast of each stock level, preloaded with the page (a bounded number of
statements whatever its size), the same through the DataLoader, and seen like `forecast(site, sku)` is."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select

from models import Forecast, Item, MovementReason, Site
from models.db import Database
from pooling import forecasts, stock
from tests.api.conftest import Client, clients_by_role
from tests.factories import build_network

FIELDS = """forecast { demandClass method historyDays dailyMean dailyStdDev backtestError leadTimeDays serviceLevel
  suggestedSafetyStock suggestedReorderPoint suggestedOrderUpTo computedAt }"""
PAGE = f"""query Levels($site: String, $first: Int) {{
  stockLevels(site: $site, first: $first) {{ edges {{ node {{ site {{ code }} item {{ sku }} {FIELDS} }} }} }}
}}"""
ITEMS = 40


def network_with_forecasts(db: Database) -> None:
    """Sites N, S (west) and E (east), ITEMS items stocked everywhere; demand at N and E for every other item, so
    half the stock levels there have a stored forecast after a recompute, and S's none."""
    build_network(db, {"N": "west", "S": "west", "E": "east"}, {f"X{k:02}": "5.00" for k in range(ITEMS)})
    with db.transaction() as s:
        for code in ("N", "S", "E"):
            for k in range(ITEMS):
                stock.record_movement(s, code, f"X{k:02}", 50, MovementReason.RECEIPT, actor="test")
        for code in ("N", "E"):
            for k in range(0, ITEMS, 2):
                stock.record_movement(s, code, f"X{k:02}", -(k % 5 + 1), MovementReason.CONSUMPTION, actor="test")
    with db.transaction() as s:
        forecasts.recompute(s, apply=False, actor="test")


def stored(db: Database) -> dict[tuple[str, str], dict[str, Any]]:
    """The forecasts table read directly, as the API names its fields."""
    with db.transaction() as s:
        rows = s.execute(select(Forecast, Site.code, Item.sku).join(Site).join(Item)).all()
        return {
            (code, sku): {
                "demandClass": f.demand_class.value,
                "method": f.method,
                "historyDays": f.history_days,
                "dailyMean": f.daily_mean,
                "dailyStdDev": f.daily_std_dev,
                "backtestError": f.backtest_error,
                "leadTimeDays": f.lead_time_days,
                "serviceLevel": f.service_level,
                "suggestedSafetyStock": f.safety_stock,
                "suggestedReorderPoint": f.reorder_point,
                "suggestedOrderUpTo": f.order_up_to,
            }
            for f, code, sku in rows
        }


def answered(client: Client, site: str | None = None, first: int = 500) -> dict[tuple[str, str], Any]:
    edges = client.gql(PAGE, {"site": site, "first": first})["stockLevels"]["edges"]
    found = {}
    for edge in edges:
        node = edge["node"]
        forecast = node["forecast"]
        if forecast is not None:
            assert forecast.pop("computedAt")
        found[(node["site"]["code"], node["item"]["sku"])] = forecast
    return found


def test_each_stock_level_shows_its_stored_forecast_to_those_who_may_see_the_site(
    db: Database, server: str, admin: Client
) -> None:
    network_with_forecasts(db)
    table = stored(db)
    assert {site for site, _ in table} == {"N", "E"} and len(table) == ITEMS  # half of N's and E's levels
    clients = clients_by_role(db, server, admin)
    everything = answered(admin)
    assert len(everything) == 3 * ITEMS
    assert everything == {pair: table.get(pair) for pair in everything}
    # A SITE sees its own forecasts only, a COORDINATOR its region's: other sites' levels answer null.
    for name, own in (("n", {"N"}), ("s", {"S"}), ("west", {"N", "S"}), ("east", {"E"})):
        seen = answered(clients[name])
        assert len(seen) == 3 * ITEMS, name
        assert seen == {pair: table.get(pair) if pair[0] in own else None for pair in seen}, name


def test_a_mutation_payload_answers_the_forecast_through_the_loader(db: Database, server: str, admin: Client) -> None:
    network_with_forecasts(db)
    table = stored(db)
    clients = clients_by_role(db, server, admin)
    mutation = f"""mutation P($input: SetStockPolicyInput!) {{
      setStockPolicy(input: $input) {{ stockLevel {{ {FIELDS} }} errors {{ code }} }} }}"""
    for sku in ("X00", "X01"):
        payload = clients["n"].gql(mutation, {"input": {"site": "N", "sku": sku, "safetyStock": 3, "reorderPoint": 6}})
        forecast = payload["setStockPolicy"]["stockLevel"]["forecast"]
        if forecast is not None:
            forecast.pop("computedAt")
        assert forecast == table.get(("N", sku))
    assert ("N", "X00") in table and ("N", "X01") not in table  # both cases were asked


def statements(db: Database, client: Client, first: int) -> tuple[int, int]:
    seen = []

    def count(*_: object) -> None:
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        rows = len(answered(client, first=first))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return rows, len(seen)


def test_a_page_of_stock_levels_with_forecasts_costs_a_bounded_number_of_statements(
    db: Database, server: str, admin: Client
) -> None:
    network_with_forecasts(db)
    clients = clients_by_role(db, server, admin)
    for client in (admin, clients["n"], clients["west"]):
        client.gql("{ me { id } }")  # the token's first use is written down once (last_used_at); not counted
        few, few_queries = statements(db, client, 5)
        many, many_queries = statements(db, client, 100)
        assert (few, many) == (5, 100)
        assert many_queries == few_queries <= 12, (few_queries, many_queries)
        print("statements per page of stock levels with forecasts:", many_queries)
