"""Who may do what to which record: every root query and mutation, every kind of caller, three targets, over HTTP.

`MATRIX` is the expected outcome; README.md shows the same table (a test compares them). Each row is one root
field of schema.graphql (`node` once per kind of record); each cell reads `own / other / missing`, or one value
for all three, where the targets are:

- own: a record of LAB-N in region west (the site and region the column names are relative to);
- other: the same kind of record of LAB-E in region east;
- missing: an id, site code or region that does not exist.

The callers: an ADMIN; the COORDINATOR of west; the COORDINATOR of east; the SITE token of LAB-N; the SITE token
of LAB-S (west too, so a sister site in the same region); no token; a revoked (ADMIN) token.

Cell values: `ok` (done, or the answer holds the record), `NOT_FOUND` / `FORBIDDEN` (the code of the payload's
error, or of the GraphQL error of a query), `null` (node answers nothing), `empty` (a list filtered to nothing),
`401` (refused before anything runs).

Besides the cell, every call is checked: a call that is not `ok` changes nothing (`snapshot` equal), an `ok`
mutation changes something and leaves a clean ledger (then the world is put back as built), no answer holds a record
outside the caller's scope (nested ones included), and a record outside the caller's scope answers exactly like a
missing one (same body, once the asked id, code or region is blanked out).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import GraphQLInterfaceType, build_schema
from sqlalchemy import Table, func, insert, select, text

from models import Alert, AlertKind, Base, EventKind, Item, MovementReason, Order, Role, Site
from models import Plan as PlanRow
from models import StockLevel as StockLevelRow
from models.db import Database
from pooling import access, network, orders, rebalance, reorders, stock, transfers, webhooks
from pooling.audit import audit
from tests.api.conftest import Client
from tests.conftest import empty
from tests.reliability.snapshot import snapshot

ROOT = Path(__file__).parents[2]

MATRIX = """
| operation | ADMIN | COORDINATOR of the region | COORDINATOR of another region | SITE of the record's site | SITE of another site | no token | revoked token |
|---|---|---|---|---|---|---|---|
| `me` | ok | ok | ok | ok | ok | 401 | 401 |
| `node` (Site) | ok / ok / null | ok / ok / null | ok / ok / null | ok / ok / null | ok / ok / null | 401 | 401 |
| `node` (Item) | ok / ok / null | ok / ok / null | ok / ok / null | ok / ok / null | ok / ok / null | 401 | 401 |
| `node` (StockLevel) | ok / ok / null | ok / ok / null | ok / ok / null | ok / ok / null | ok / ok / null | 401 | 401 |
| `node` (Backorder) | ok / ok / null | ok / null / null | null / ok / null | ok / null / null | null | 401 | 401 |
| `node` (Transfer) | ok / ok / null | ok / null / null | null / ok / null | ok / null / null | null | 401 | 401 |
| `node` (Reorder) | ok / ok / null | ok / null / null | null / ok / null | ok / null / null | null | 401 | 401 |
| `node` (Plan) | ok / ok / null | ok / null / null | null / ok / null | null | null | 401 | 401 |
| `node` (ApiToken) | ok / ok / null | null | null | ok / null / null | null | 401 | 401 |
| `node` (Alert) | ok / ok / null | ok / null / null | null / ok / null | ok / null / null | null | 401 | 401 |
| `kpis` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | 401 | 401 |
| `sites` | ok / ok / empty | ok / ok / empty | ok / ok / empty | ok / ok / empty | ok / ok / empty | 401 | 401 |
| `items` | ok | ok | ok | ok | ok | 401 | 401 |
| `eventCursor` | ok | ok | ok | ok | ok | 401 | 401 |
| `lanes` | ok / ok / empty | ok / ok / empty | ok / ok / empty | ok / ok / empty | ok / ok / empty | 401 | 401 |
| `stockLevels` | ok / ok / NOT_FOUND | ok / ok / NOT_FOUND | ok / ok / NOT_FOUND | ok / ok / NOT_FOUND | ok / ok / NOT_FOUND | 401 | 401 |
| `movements` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND | 401 | 401 |
| `forecast` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND | 401 | 401 |
| `backorders` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND | 401 | 401 |
| `transfers` | ok / ok / empty | ok / empty / empty | empty / ok / empty | ok / empty / empty | empty | 401 | 401 |
| `reorders` | ok / ok / empty | ok / empty / empty | empty / ok / empty | ok / empty / empty | empty | 401 | 401 |
| `plans` | ok / ok / empty | ok / empty / empty | empty / ok / empty | empty | empty | 401 | 401 |
| `alerts` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND | 401 | 401 |
| `createSite` | ok | FORBIDDEN | FORBIDDEN | FORBIDDEN | FORBIDDEN | 401 | 401 |
| `createItem` | ok | FORBIDDEN | FORBIDDEN | FORBIDDEN | FORBIDDEN | 401 | 401 |
| `setLane` | ok / ok / NOT_FOUND | FORBIDDEN | FORBIDDEN | FORBIDDEN | FORBIDDEN | 401 | 401 |
| `createApiToken` | ok / ok / NOT_FOUND | FORBIDDEN | FORBIDDEN | FORBIDDEN | FORBIDDEN | 401 | 401 |
| `revokeApiToken` | ok / ok / NOT_FOUND | FORBIDDEN | FORBIDDEN | FORBIDDEN | FORBIDDEN | 401 | 401 |
| `setStockPolicy` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND | 401 | 401 |
| `recordMovement` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND | 401 | 401 |
| `placeOrder` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND | 401 | 401 |
| `cancelBackorder` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND | 401 | 401 |
| `rebalance` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | FORBIDDEN | FORBIDDEN | 401 | 401 |
| `approveTransfers` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | FORBIDDEN / NOT_FOUND / NOT_FOUND | NOT_FOUND | 401 | 401 |
| `rejectTransfers` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | FORBIDDEN / NOT_FOUND / NOT_FOUND | NOT_FOUND | 401 | 401 |
| `shipTransfer` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND | 401 | 401 |
| `receiveTransfer` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND | 401 | 401 |
| `cancelTransfer` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | FORBIDDEN / NOT_FOUND / NOT_FOUND | NOT_FOUND | 401 | 401 |
| `approveReorders` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | FORBIDDEN / NOT_FOUND / NOT_FOUND | NOT_FOUND | 401 | 401 |
| `rejectReorders` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | FORBIDDEN / NOT_FOUND / NOT_FOUND | NOT_FOUND | 401 | 401 |
| `receiveReorder` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND | 401 | 401 |
| `setSharingPolicy` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND | 401 | 401 |
| `lending` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | 401 | 401 |
| `node` (Webhook) | ok / ok / null | ok / null / null | null / ok / null | ok / null / null | null | 401 | 401 |
| `webhooks` | ok | ok | ok | ok | empty | 401 | 401 |
| `createWebhook` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND | 401 | 401 |
| `setWebhookActive` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND | 401 | 401 |
| `deleteWebhook` | ok / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND / ok / NOT_FOUND | ok / NOT_FOUND / NOT_FOUND | NOT_FOUND | 401 | 401 |
"""  # noqa: E501 (a markdown table, as README.md shows it)

CALLERS = ("admin", "coordinator", "other coordinator", "site", "other site", "no token", "revoked")
TARGETS = ("own", "other", "missing")


def parse_table(text: str) -> dict[str, tuple[str, ...]]:
    """The first markdown table whose header starts with `| operation |`: operation -> its cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| operation |"))
    rows: dict[str, tuple[str, ...]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        name, *cells = (cell.strip() for cell in line.strip().strip("|").split("|"))
        name = name.replace("`", "")
        assert name not in rows, f"{name} appears twice"
        rows[name] = tuple(cells)
    return rows


def header(text: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith("| operation |"))
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


EXPECTED = parse_table(MATRIX)


# --- The world --------------------------------------------------------------------------------------------

WEST, EAST = "west", "east"
SITES = {"LAB-N": WEST, "LAB-S": WEST, "LAB-W": WEST, "LAB-E": EAST, "LAB-F": EAST}
PAIRS = {WEST: ("LAB-N", "LAB-W"), EAST: ("LAB-E", "LAB-F")}  # region -> (the record's site, its lane partner)
SCOPE = {  # the sites whose records each caller may see
    "admin": set(SITES),
    "coordinator": {"LAB-N", "LAB-S", "LAB-W"},
    "other coordinator": {"LAB-E", "LAB-F"},
    "site": {"LAB-N"},
    "other site": {"LAB-S"},
}
COORDINATES = {"admin": {WEST, EAST}, "coordinator": {WEST}, "other coordinator": {EAST}}
MISSING_PK = 999_999


def gid(kind: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{pk}".encode()).decode()


@dataclass
class Records:
    """One region's records, each named by what the rows act on (opaque ids unless said otherwise)."""

    region: str
    site: str  # code
    partner: str  # code
    site_id: str
    item_id: str  # items belong to no site: own is X, other is Y
    stock_level: str
    backorder: str  # the site's open backorder of X
    suggested: str  # transfer partner -> site of X, SUGGESTED
    approved: str  # transfer site -> partner of Y, APPROVED
    shipped: str  # transfer partner -> site of Z, SHIPPED
    shipped_quantity: int
    suggested_reorder: str  # at the site, of P
    ordered_reorder: str  # at the site, of Q, ORDERED
    ordered_quantity: int
    plan: str
    token: str  # the site's token (an ApiToken id)
    alert: str  # the site's STOCKOUT of X (it waits for X and has none), raised at the commit
    orders: int  # orders placed in the region
    webhook: str = ""  # the site's webhook


@dataclass
class World:
    own: Records
    other: Records
    tokens: dict[str, str | None]
    token_ids: dict[str, str] = field(default_factory=dict)

    def records(self, target: str) -> Records:
        return self.own if target == "own" else self.other


def build_world(db: Database) -> World:
    """Two regions with the same records each: a backorder, transfers SUGGESTED / APPROVED / SHIPPED, reorders
    SUGGESTED / ORDERED and a saved plan; east has one order more, so its figures differ. A token per caller.
    """
    empty(db)
    found: dict[str, Records] = {}
    tokens: dict[str, str | None] = {"no token": None}
    token_ids: dict[str, str] = {}
    with db.transaction() as s:
        for code, region in SITES.items():
            network.create_site(s, code, f"{code} laboratory", region, 51.0, 0.0)
        for sku in "XYZPQ":
            network.create_item(s, sku, f"{sku} reagent", "10.00", supplier_lead_time_days=10)
        for region, (site, partner) in PAIRS.items():
            network.set_lane(s, site, partner, "1.00", 6)
            network.set_lane(s, partner, site, "1.00", 6)
            for where, sku in ((partner, "X"), (site, "Y"), (partner, "Z")):
                stock.record_movement(s, where, sku, 20, MovementReason.RECEIPT, actor="test")
            backorder = orders.place_order(s, site, "X", 4).backorder
            for where, sku, quantity in ((partner, "Y", 5), (site, "Z", 3), (site, "P", 2), (site, "Q", 2)):
                orders.place_order(s, where, sku, quantity)
            plan = rebalance.rebalance(s, region, dry_run=False, actor="test")
            moves = {t.item.sku: t for t in plan.transfers}
            buys = {r.item.sku: r for r in plan.reorders}
            assert set(moves) == {"X", "Y", "Z"} and set(buys) == {"P", "Q"}, (moves, buys)
            transfers.approve_transfers(s, [moves["Y"].id, moves["Z"].id], "test")
            transfers.ship_transfer(s, moves["Z"].id, "test")
            reorders.approve_reorders(s, [buys["Q"].id], "test")
            if region == EAST:
                orders.place_order(s, site, "Y", 1)
            site_row = s.scalar(select(Site).where(Site.code == site))
            assert site_row is not None and backorder is not None
            level = s.scalar(
                select(StockLevelRow).where(
                    StockLevelRow.site_id == site_row.id, StockLevelRow.item_id == moves["Y"].item_id
                )
            )
            assert level is not None
            site_token, secret = access.create_token(s, f"{site} lab", Role.SITE, site)
            hook, _ = webhooks.create_webhook(
                s, "https://hooks.example/stock", [EventKind.BACKORDER_CREATED], region, site_row.id, "test"
            )
            if region == WEST:  # LAB-N's token is a caller; LAB-E's only a record (for node and revokeApiToken)
                tokens["site"], token_ids["site"] = secret, gid("ApiToken", site_token.id)
            found[region] = Records(
                region=region,
                site=site,
                partner=partner,
                site_id=gid("Site", site_row.id),
                item_id=gid("Item", moves["X" if region == WEST else "Y"].item_id),
                stock_level=gid("StockLevel", level.id),
                backorder=gid("Backorder", backorder.id),
                suggested=gid("Transfer", moves["X"].id),
                approved=gid("Transfer", moves["Y"].id),
                shipped=gid("Transfer", moves["Z"].id),
                shipped_quantity=moves["Z"].quantity,
                suggested_reorder=gid("Reorder", buys["P"].id),
                ordered_reorder=gid("Reorder", buys["Q"].id),
                ordered_quantity=buys["Q"].quantity,
                plan=gid("Plan", plan.id),
                token=gid("ApiToken", site_token.id),
                alert="",
                orders=0,
                webhook=gid("Webhook", hook.id),
            )
        for caller, role, site, region in (
            ("admin", Role.ADMIN, None, None),
            ("coordinator", Role.COORDINATOR, None, WEST),
            ("other coordinator", Role.COORDINATOR, None, EAST),
            ("other site", Role.SITE, "LAB-S", None),
            ("revoked", Role.ADMIN, None, None),
        ):
            row, tokens[caller] = access.create_token(s, caller, role, site, region)
            token_ids[caller] = gid("ApiToken", row.id)
            if caller == "revoked":
                access.revoke_token(s, row.id)
        for records in found.values():
            sites = select(Site.id).where(Site.region == records.region)
            records.orders = s.scalar(select(func.count(Order.id)).where(Order.site_id.in_(sites))) or 0
            assert s.scalar(select(func.count(PlanRow.id)).where(PlanRow.region == records.region)) == 1
    assert found[WEST].orders != found[EAST].orders
    with db.reading() as s:
        for records in found.values():
            records.alert = gid(
                "Alert",
                s.scalars(
                    select(Alert.id)
                    .join(Site, Site.id == Alert.site_id)
                    .join(Item, Item.id == Alert.item_id)
                    .where(Site.code == records.site, Item.sku == "X", Alert.kind == AlertKind.STOCKOUT)
                ).one(),
            )
    return World(own=found[WEST], other=found[EAST], tokens=tokens, token_ids=token_ids)


Saved = dict[Table, list[dict[str, Any]]]


def save(db: Database) -> Saved:
    """Every row of every table, to put the world back after a mutation changed it."""
    with db.reading() as s:
        return {
            table: [dict(row._mapping) for row in s.execute(select(table))] for table in Base.metadata.sorted_tables
        }


def restore(db: Database, saved: Saved) -> None:
    """The saved world again, row for row (ids included): one bulk insert per table instead of a rebuild."""
    with db.engine.begin() as connection:
        for table in reversed(saved):  # DELETE: much quicker than TRUNCATE on PostgreSQL for a few rows
            connection.execute(table.delete())
        for table, rows in saved.items():
            if rows:
                connection.execute(insert(table), rows)
        if not db.is_sqlite:  # the ids were given: move each sequence past them
            for table, rows in saved.items():
                if rows and "id" in table.c:
                    last = max(row["id"] for row in rows)
                    connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), {last})"))


@dataclass
class Pristine:
    world: World
    rows: Saved
    digest: str


_pristine: list[Pristine] = []  # built by the first test that needs it, then restored for every other


def pristine(db: Database) -> Pristine:
    """The world, as built once: restored (and checked to be the same rows) for each test and after each change."""
    if not _pristine:
        world = build_world(db)
        _pristine.append(Pristine(world, save(db), snapshot(db)))
    else:
        restore(db, _pristine[0].rows)
        assert snapshot(db) == _pristine[0].digest
    return _pristine[0]


# --- The rows: what each operation sends for a target, and how its answer reads as a cell ----------------------

SEEN = """
fragment Seen on Node {
  __typename id
  ... on Backorder { site { code } }
  ... on Reorder { site { code } }
  ... on Alert { alertSite: site { code } }
  ... on Transfer {
    fromSite { code } toSite { code }
    allocations { backorder { __typename id site { code } } }
  }
  ... on Plan {
    region
    transfers {
      __typename id fromSite { code } toSite { code }
      allocations { backorder { __typename id site { code } } }
    }
    reorders { __typename id site { code } }
  }
}
"""


@dataclass(frozen=True)
class Asked:
    """What one call asks for: the variables, and the asked value (id, site code, region) blanked in comparisons."""

    variables: dict[str, Any]
    value: str | None = None


@dataclass(frozen=True)
class Call:
    caller: str
    target: str
    asked: Asked
    world: World


@dataclass(frozen=True)
class Row:
    document: str
    ask: Callable[[World, str], Asked]
    read: Callable[[Any, Call], str] | None = None  # a query's answer -> cell; None for a mutation
    targeted: bool = True

    @property
    def is_mutation(self) -> bool:
        return self.read is None


def records_or_missing(attribute: str, kind: str) -> Callable[[World, str], str]:
    """The id of a record of the target's region, or an id of the same kind that names nothing."""

    def pick(world: World, target: str) -> str:
        if target == "missing":
            return gid(kind, MISSING_PK)
        return str(getattr(world.records(target), attribute))

    return pick


def site_of(world: World, target: str) -> str:
    return "LAB-X" if target == "missing" else world.records(target).site


def region_of(world: World, target: str) -> str:
    return "nowhere" if target == "missing" else world.records(target).region


def listed(
    nodes: list[dict[str, Any]], matches: Callable[[dict[str, Any]], bool], holding: str | None = None, key: str = "id"
) -> str:
    """`empty`, or `ok` when every row matches the filter and the asked record (if one is named) is among them."""
    if not nodes:
        return "empty"
    if strays := [node for node in nodes if not matches(node)]:
        return f"outside the filter: {strays}"
    if holding is not None and holding not in [node[key] for node in nodes]:
        return f"without {holding}"
    return "ok"


def own(call: Call, attribute: str) -> str | None:
    """The target's record that a list should hold (none for a missing target)."""
    return None if call.target == "missing" else str(getattr(call.world.records(call.target), attribute))


def edges(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in answer["edges"]]


def read_node(answer: dict[str, Any] | None, call: Call) -> str:
    if answer is None:
        return "null"
    return "ok" if answer["id"] == call.asked.value else f"another record: {answer}"


def read_kpis(answer: dict[str, Any], call: Call) -> str:
    asked = call.world.records(call.target)  # a missing region is NOT_FOUND, never read
    if answer["ordersPlaced"] == asked.orders:
        return "ok"
    return f"figures of another scope: {answer}"


def node_row(attribute: str, kind: str) -> Row:
    pick = records_or_missing(attribute, kind)
    return Row(
        "query Node($id: ID!) { node(id: $id) { ...Seen } }" + SEEN,
        lambda w, t: Asked({"id": pick(w, t)}, pick(w, t)),
        read_node,
    )


def by_site(w: World, t: str) -> Asked:
    return Asked({"site": site_of(w, t)}, site_of(w, t))


def by_region(w: World, t: str) -> Asked:
    return Asked({"region": region_of(w, t)}, region_of(w, t))


def mutation(name: str, result: str) -> str:
    kind = name[0].upper() + name[1:]
    return (
        f"mutation M($input: {kind}Input!) {{ {name}(input: $input) {{ {result} errors {{ field code message }} }} }}"
        + (SEEN if "...Seen" in result else "")
    )


def with_input(make: Callable[[World, str], tuple[dict[str, Any], str | None]]) -> Callable[[World, str], Asked]:
    def ask(world: World, target: str) -> Asked:
        values, asked = make(world, target)
        return Asked({"input": values}, asked)

    return ask


def by_id(attribute: str, kind: str, **more: Any) -> Callable[[World, str], Asked]:
    pick = records_or_missing(attribute, kind)
    return with_input(lambda w, t: ({"id": pick(w, t), **more}, pick(w, t)))


def by_ids(attribute: str, kind: str) -> Callable[[World, str], Asked]:
    pick = records_or_missing(attribute, kind)
    return with_input(lambda w, t: ({"ids": [pick(w, t)]}, pick(w, t)))


def received(attribute: str, kind: str, quantity: str) -> Callable[[World, str], Asked]:
    pick = records_or_missing(attribute, kind)

    def make(w: World, t: str) -> tuple[dict[str, Any], str | None]:
        how_many = 2 if t == "missing" else getattr(w.records(t), quantity)
        return {"id": pick(w, t), "quantityReceived": how_many}, pick(w, t)

    return with_input(make)


def at_site(**more: Any) -> Callable[[World, str], Asked]:
    return with_input(lambda w, t: ({"site": site_of(w, t), **more}, site_of(w, t)))


ROWS: dict[str, Row] = {
    "me": Row(
        "{ me { __typename id role } }",
        lambda w, t: Asked({}),
        lambda answer, call: "ok" if answer["id"] == call.world.token_ids[call.caller] else f"another token: {answer}",
        targeted=False,
    ),
    "node (Site)": node_row("site_id", "Site"),
    "node (Item)": node_row("item_id", "Item"),
    "node (StockLevel)": node_row("stock_level", "StockLevel"),
    "node (Backorder)": node_row("backorder", "Backorder"),
    "node (Transfer)": node_row("suggested", "Transfer"),
    "node (Reorder)": node_row("suggested_reorder", "Reorder"),
    "node (Plan)": node_row("plan", "Plan"),
    "node (ApiToken)": node_row("token", "ApiToken"),
    "node (Alert)": node_row("alert", "Alert"),
    "kpis": Row(
        "query K($region: String) { kpis(region: $region) { ordersPlaced sites { __typename site { code } } } }",
        by_region,
        read_kpis,
    ),
    "sites": Row(
        "query S($region: String) { sites(region: $region) { edges { node { code region } } } }",
        by_region,
        lambda a, c: listed(edges(a), lambda n: n["region"] == c.asked.value, own(c, "site"), "code"),
    ),
    "items": Row(
        "{ items { edges { node { sku } } } }",
        lambda w, t: Asked({}),
        lambda a, c: listed(edges(a), lambda n: True),
        targeted=False,
    ),
    "eventCursor": Row(
        "{ eventCursor }",
        lambda w, t: Asked({}),
        lambda answer, call: "ok" if isinstance(answer, str) and answer else f"no cursor: {answer}",
        targeted=False,
    ),
    "lanes": Row(
        "query L($region: String) { lanes(region: $region) { fromSite { code region } toSite { code } } }",
        by_region,
        lambda a, c: listed(a, lambda n: n["fromSite"]["region"] == c.asked.value),
    ),
    "stockLevels": Row(
        "query L($site: String) { stockLevels(site: $site) { edges { node { __typename id site { code } } } } }",
        by_site,
        lambda a, c: listed(edges(a), lambda n: n["site"]["code"] == c.asked.value, own(c, "stock_level")),
    ),
    "movements": Row(
        'query M($site: String!) { movements(site: $site, sku: "Y") { edges { node { quantity reason } } } }',
        by_site,
        lambda a, c: listed(edges(a), lambda n: True),
    ),
    "forecast": Row(
        'query F($site: String!) { forecast(site: $site, sku: "Y") { site { code } demandClass } }',
        by_site,
        lambda a, c: "ok" if a["site"]["code"] == c.asked.value else f"another site's forecast: {a}",
    ),
    "backorders": Row(
        "query B($site: String) { backorders(site: $site) { edges { node { ...Seen } } } }" + SEEN,
        by_site,
        lambda a, c: listed(edges(a), lambda n: n["site"]["code"] == c.asked.value, own(c, "backorder")),
    ),
    "transfers": Row(
        "query T($region: String) { transfers(region: $region) { edges { node { ...Seen } } } }" + SEEN,
        by_region,
        lambda a, c: listed(edges(a), lambda n: SITES[n["toSite"]["code"]] == c.asked.value, own(c, "suggested")),
    ),
    "reorders": Row(
        "query R($region: String) { reorders(region: $region) { edges { node { ...Seen } } } }" + SEEN,
        by_region,
        lambda a, c: listed(edges(a), lambda n: SITES[n["site"]["code"]] == c.asked.value, own(c, "suggested_reorder")),
    ),
    "plans": Row(
        "query P($region: String!) { plans(region: $region) { edges { node { ...Seen } } } }" + SEEN,
        by_region,
        lambda a, c: listed(edges(a), lambda n: n["region"] == c.asked.value, own(c, "plan")),
    ),
    "alerts": Row(
        "query A($site: String) { alerts(site: $site) { edges { node { ...Seen } } } }" + SEEN,
        by_site,
        lambda a, c: listed(edges(a), lambda n: n["alertSite"]["code"] == c.asked.value, own(c, "alert")),
    ),
    "createSite": Row(
        mutation("createSite", "site { id region }"),
        with_input(lambda w, t: ({"code": "LAB-Q", "name": "Q lab", "region": region_of(w, t)}, region_of(w, t))),
    ),
    "createItem": Row(
        mutation("createItem", "item { id }"),
        lambda w, t: Asked({"input": {"sku": "NEW", "name": "new reagent", "unitCost": "3.00"}}),
        targeted=False,
    ),
    "setLane": Row(
        mutation("setLane", "lane { fromSite { code } }"),
        with_input(
            lambda w, t: (
                {
                    "fromSite": site_of(w, t),
                    "toSite": "LAB-N" if t == "missing" else w.records(t).partner,
                    "unitCost": "2.00",
                    "leadTimeHours": 3,
                },
                site_of(w, t),
            )
        ),
    ),
    "createApiToken": Row(
        mutation("createApiToken", "token apiToken { id }"),
        at_site(name="new lab token", role="SITE"),
    ),
    "revokeApiToken": Row(mutation("revokeApiToken", "apiToken { id revokedAt }"), by_id("token", "ApiToken")),
    "setStockPolicy": Row(
        mutation("setStockPolicy", "stockLevel { id }"), at_site(sku="Y", safetyStock=1, reorderPoint=2)
    ),
    "recordMovement": Row(
        mutation("recordMovement", "stockLevel { id }"), at_site(sku="Y", quantity=3, reason="RECEIPT")
    ),
    "placeOrder": Row(mutation("placeOrder", "filledQuantity backorder { ...Seen }"), at_site(sku="Y", quantity=1)),
    "cancelBackorder": Row(mutation("cancelBackorder", "backorder { ...Seen }"), by_id("backorder", "Backorder")),
    "rebalance": Row(
        mutation("rebalance", "plan { ...Seen }"),
        with_input(lambda w, t: ({"region": region_of(w, t), "dryRun": False}, region_of(w, t))),
    ),
    "approveTransfers": Row(mutation("approveTransfers", "transfers { ...Seen }"), by_ids("suggested", "Transfer")),
    "rejectTransfers": Row(mutation("rejectTransfers", "transfers { ...Seen }"), by_ids("suggested", "Transfer")),
    "shipTransfer": Row(mutation("shipTransfer", "transfer { ...Seen }"), by_id("approved", "Transfer")),
    "receiveTransfer": Row(
        mutation("receiveTransfer", "transfer { ...Seen }"), received("shipped", "Transfer", "shipped_quantity")
    ),
    "cancelTransfer": Row(mutation("cancelTransfer", "transfer { ...Seen }"), by_id("approved", "Transfer")),
    "approveReorders": Row(mutation("approveReorders", "reorders { ...Seen }"), by_ids("suggested_reorder", "Reorder")),
    "rejectReorders": Row(mutation("rejectReorders", "reorders { ...Seen }"), by_ids("suggested_reorder", "Reorder")),
    "receiveReorder": Row(
        mutation("receiveReorder", "reorder { ...Seen }"), received("ordered_reorder", "Reorder", "ordered_quantity")
    ),
    "setSharingPolicy": Row(
        mutation("setSharingPolicy", "sharingPolicy { share }"), at_site(sku="Y", share="SURPLUS", keepDaysOfCover=3)
    ),
    "lending": Row(
        "query L($region: String!) { lending(region: $region) { site { code } unitsLent unitsBorrowed } }",
        by_region,
        lambda a, c: listed(a, lambda n: SITES[n["site"]["code"]] == c.asked.value),
    ),
    "node (Webhook)": node_row("webhook", "Webhook"),
    "webhooks": Row(
        "{ webhooks { id } }",
        lambda w, t: Asked({}),
        lambda a, c: "ok" if a else "empty",
        targeted=False,
    ),
    "createWebhook": Row(
        mutation("createWebhook", "secret webhook { id }"),
        at_site(url="https://hooks.example/new", kinds=["BACKORDER_FILLED"]),
    ),
    "setWebhookActive": Row(
        mutation("setWebhookActive", "webhook { id active }"), by_id("webhook", "Webhook", active=False)
    ),
    "deleteWebhook": Row(mutation("deleteWebhook", "webhook { id }"), by_id("webhook", "Webhook")),
}


# --- Reading an answer ----------------------------------------------------------------------------------------


def strays(data: Any, call: Call) -> list[Any]:
    """Records anywhere in an answer (nested ones too) that the caller may not see."""
    found: list[Any] = []
    sites, regions = SCOPE.get(call.caller, set()), COORDINATES.get(call.caller, set())

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        if not isinstance(value, dict):
            return
        kind = value.get("__typename")
        if (
            (kind in ("Backorder", "Reorder", "SiteKpis") and value["site"]["code"] not in sites)
            or (kind == "Alert" and value["alertSite"]["code"] not in sites)
            or (kind == "Transfer" and not {value["fromSite"]["code"], value["toSite"]["code"]} & sites)
            or (kind == "Plan" and value["region"] not in regions)
            or (kind == "ApiToken" and call.caller != "admin" and value["id"] != call.world.token_ids[call.caller])
        ):
            found.append(value)
        for item in value.values():
            walk(item)

    walk(data)
    return found


def cell_of(row: Row, call: Call, response: httpx.Response) -> str:
    """The matrix's word for an answer."""
    if response.status_code == 401:
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        return "401"
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    body = response.json()
    if body.get("errors"):
        (error,) = body["errors"]
        assert body["data"] is None, body
        return str(error.get("extensions", {}).get("code", f"error {error['message']!r}"))
    (answer,) = body["data"].values()
    assert strays(answer, call) == [], f"{call.caller} sees records outside its scope"
    if row.read is not None:
        return row.read(answer, call)
    if answer["errors"]:
        (error,) = answer["errors"]
        assert all(not v for k, v in answer.items() if k != "errors"), answer  # an error returns no record
        return str(error["code"])
    assert any(v for k, v in answer.items() if k != "errors"), answer  # done: the payload shows the result
    return "ok"


def blanked(response: httpx.Response, asked: Asked) -> str:
    return response.text if asked.value is None else response.text.replace(asked.value, "<asked>")


def collapse(cells: list[str]) -> str:
    return cells[0] if len(set(cells)) == 1 else " / ".join(cells)


# --- The tests ------------------------------------------------------------------------------------------------


def test_the_matrix_has_a_row_for_every_root_query_and_mutation() -> None:
    schema = build_schema((ROOT / "schema.graphql").read_text())
    assert schema.query_type is not None and schema.mutation_type is not None
    fields = set(schema.query_type.fields) | set(schema.mutation_type.fields)
    assert {name.split(" (")[0] for name in EXPECTED} == fields
    assert set(ROWS) == set(EXPECTED)
    kinds = {name[len("node (") : -1] for name in EXPECTED if name.startswith("node (")}
    node = schema.get_type("Node")
    assert isinstance(node, GraphQLInterfaceType)
    implementations = {t.name for t in schema.get_implementations(node).objects}
    assert kinds == implementations  # node: a row for every kind of record
    for name, cells in EXPECTED.items():
        assert len(cells) == len(CALLERS), name
        for cell in cells:
            parts = cell.split(" / ")
            assert len(parts) in ((1, 3) if ROWS[name].targeted else (1,)), (name, cell)


def test_the_readme_shows_this_matrix() -> None:
    readme = (ROOT / "README.md").read_text()
    assert header(readme) == header(MATRIX)
    assert parse_table(readme) == EXPECTED
    assert list(parse_table(readme)) == list(EXPECTED)  # in the same order


@pytest.mark.parametrize("operation", list(EXPECTED))
def test_every_caller_gets_what_the_matrix_says(operation: str, migrated: Database, server: str) -> None:
    db = migrated  # not the `db` fixture: `pristine` puts back every row of every table itself
    row = ROWS[operation]
    world = pristine(db).world
    before = snapshot(db)
    client = Client(server, None)
    actual = []
    for caller in CALLERS:
        cells, answers = {}, {}
        for target in TARGETS if row.targeted else ("own",):
            asked = row.ask(world, target)
            call = Call(caller, target, asked, world)
            client.token = world.tokens[caller]
            response = client.post(row.document, asked.variables)
            cells[target] = cell_of(row, call, response)
            answers[target] = blanked(response, asked)
            if row.is_mutation and cells[target] == "ok":
                assert snapshot(db) != before, f"{caller} on {target}: ok but nothing changed"
                with db.reading() as s:
                    assert audit(s) == []
                pristine(db)
            else:
                assert snapshot(db) == before, f"{caller} on {target}: {cells[target]} yet something changed"
        for target in ("own", "other") if row.targeted else ():
            if cells[target] != "ok" and cells[target] == cells["missing"]:
                assert answers[target] == answers["missing"], f"{caller}: {target} record unlike a missing one"
        actual.append(collapse(list(cells.values())))
    assert tuple(actual) == EXPECTED[operation]
    with db.reading() as s:
        assert audit(s) == []
