"""The fast path of a page: its rows and what they point at, loaded in the page's own database call.

A resolver that awaits costs graphql-core an awaitable per field per row; a page of 100 rows with four such fields
spends most of its CPU there. So a page (or a mutation's payload) loads its neighbours up front, one query per
kind of neighbour whatever the page's size, and hands the GraphQL objects their neighbours as plain values
(`known_*` fields); their resolvers answer those at once and only fall back to the request's DataLoaders when
nothing was preloaded. Neighbours nobody asked for are not loaded (`asked` reads the selection).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any, TypeVar

import strawberry
from sqlalchemy import select
from sqlalchemy.orm import Session
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from api.auth import Caller
from api.graphql.scope import may_see_site
from api.graphql.types import Allocation, Backorder, Item, Site, StockLevel, StoredForecast, Transfer
from models import Backorder as BackorderRow
from models import Item as ItemRow
from models import Site as SiteRow
from models import StockLevel as StockLevelRow
from models import Transfer as TransferRow
from models import TransferAllocation
from pooling import forecasts, positions
from pooling.backorders import surplus

M = TypeVar("M")


def asked(info: strawberry.Info) -> frozenset[str]:
    """Every field name in the selection under this field (fragments included): what the client may want."""
    names: set[str] = set()

    def walk(selections: Iterable[SelectedField | FragmentSpread | InlineFragment]) -> None:
        for selection in selections:
            if isinstance(selection, SelectedField):
                names.add(selection.name)
            walk(selection.selections)

    for field in info.selected_fields:
        walk(field.selections)
    return frozenset(names)


def rows_by_id(session: Session, model: type[M], ids: Collection[int]) -> dict[int, M]:
    """Rows by primary key: those the session holds already without SQL, the others in one query."""
    found: dict[int, M] = {}
    missing = []
    for pk in set(ids):
        row = session.identity_map.get(session.identity_key(model, pk))
        if row is None:
            missing.append(pk)
        else:
            found[pk] = row
    if missing:
        column: Any = model.id  # type: ignore[attr-defined]
        found.update((row.id, row) for row in session.scalars(select(model).where(column.in_(missing))))  # type: ignore[attr-defined]
    return found


def stock_levels(
    session: Session, caller: Caller, rows: Sequence[StockLevelRow], wanted: frozenset[str]
) -> list[StockLevel]:
    """Stock levels with their site, item, incoming units, waiting mark and stored forecast (those of the sites
    the caller may see), as far as `wanted` names them."""
    pairs = [(row.site_id, row.item_id) for row in rows]
    sites = _sites(session, {row.site_id for row in rows}) if "site" in wanted else {}
    forecast_known = "forecast" in wanted
    stored: dict[tuple[int, int], StoredForecast] = {}
    if forecast_known:
        site_rows = rows_by_id(session, SiteRow, {row.site_id for row in rows})
        seen = [pair for pair in pairs if may_see_site(caller, site_rows[pair[0]])]
        stored = {pair: StoredForecast.of(row) for pair, row in forecasts.stored(session, seen).items()}
    items = _items(session, {row.item_id for row in rows}) if "item" in wanted else {}
    incoming = positions.incoming(session, pairs) if "incoming" in wanted else {}
    waiting = positions.waiting(session, pairs) if "surplus" in wanted else None
    return [
        StockLevel.of(
            row,
            known_site=sites.get(row.site_id),
            known_item=items.get(row.item_id),
            known_incoming=incoming.get(pair),
            known_surplus=None if waiting is None else surplus(row, pair in waiting),
            known_forecast=stored.get(pair),
            forecast_known=forecast_known,
        )
        for row, pair in zip(rows, pairs, strict=True)
    ]


def transfers(session: Session, caller: Caller, rows: Sequence[TransferRow], wanted: frozenset[str]) -> list[Transfer]:
    """Transfers with their sites, item and the allocations the caller may see (with their backorders)."""
    site_ids = {row.from_site_id for row in rows} | {row.to_site_id for row in rows}
    sites = _sites(session, site_ids) if wanted & {"fromSite", "toSite"} else {}
    items = _items(session, {row.item_id for row in rows}) if "item" in wanted else {}
    allocations: dict[int, list[Allocation]] | None = None
    if "allocations" in wanted:
        allocations = _visible_allocations(session, caller, [row.id for row in rows], "backorder" in wanted)
    return [
        Transfer.of(
            row,
            known_from_site=sites.get(row.from_site_id),
            known_to_site=sites.get(row.to_site_id),
            known_item=items.get(row.item_id),
            visible_allocations=None if allocations is None else allocations[row.id],
        )
        for row in rows
    ]


def _sites(session: Session, ids: Collection[int]) -> dict[int, Site]:
    return {pk: Site.of(row) for pk, row in rows_by_id(session, SiteRow, ids).items()}


def _items(session: Session, ids: Collection[int]) -> dict[int, Item]:
    return {pk: Item.of(row) for pk, row in rows_by_id(session, ItemRow, ids).items()}


def _visible_allocations(
    session: Session, caller: Caller, transfer_ids: list[int], with_backorders: bool
) -> dict[int, list[Allocation]]:
    """Each transfer's allocations whose backorder the caller may see (scope.may_see_site on its site)."""
    stored = session.scalars(
        select(TransferAllocation)
        .where(TransferAllocation.transfer_id.in_(transfer_ids))
        .order_by(TransferAllocation.id)
    ).all()
    backorders = rows_by_id(session, BackorderRow, {a.backorder_id for a in stored})
    sites = rows_by_id(session, SiteRow, {b.site_id for b in backorders.values()})
    found: dict[int, list[Allocation]] = {pk: [] for pk in transfer_ids}
    for allocation in stored:
        backorder = backorders[allocation.backorder_id]
        if not may_see_site(caller, sites[backorder.site_id]):
            continue
        found[allocation.transfer_id].append(
            Allocation(
                quantity=allocation.quantity,
                backorder_id=allocation.backorder_id,
                known_backorder=Backorder.of(backorder) if with_backorders else None,
            )
        )
    return found
