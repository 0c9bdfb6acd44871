"""Alerts: `alerts(region, site, first, after)`, the open ones, most severe first, scoped like the records."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from strawberry import Private

from api.auth import Caller
from api.graphql.base import MAX_KEY, Connection, Edge, Node, PageInfo, global_id
from api.graphql.runner import read
from api.graphql.scope import alerts_filter, may_see_backorder_id
from api.graphql.types import Backorder, Item, Known, Reorder, Site, Transfer, item_of, site_of
from models import Alert as AlertRow
from models import AlertKind, AlertSeverity

AlertKindEnum = Annotated[AlertKind, strawberry.enum(name="AlertKind")]
AlertSeverityEnum = Annotated[AlertSeverity, strawberry.enum(name="AlertSeverity")]
DEFAULT_PAGE = 50
MAX_PAGE = 500


@strawberry.type(description="A condition someone should act on; it closes by itself when the condition ends.")
class Alert(Node):
    id: strawberry.ID
    kind: AlertKindEnum
    severity: AlertSeverityEnum
    message: str = strawberry.field(description="One sentence a person can act on.")
    region: str | None
    raised_at: datetime
    closed_at: datetime | None
    site_id: Private[int | None]
    item_id: Private[int | None]
    backorder_id: Private[int | None]
    transfer_id: Private[int | None]
    reorder_id: Private[int | None]

    @strawberry.field(graphql_type=Site | None)
    def site(self, info: strawberry.Info) -> Known[Site] | None:
        return None if self.site_id is None else site_of(self, info)

    @strawberry.field(graphql_type=Item | None)
    def item(self, info: strawberry.Info) -> Known[Item] | None:
        return None if self.item_id is None else item_of(self, info)

    @strawberry.field
    async def backorder(self, info: strawberry.Info) -> Backorder | None:
        if self.backorder_id is None or not await may_see_backorder_id(info, self.backorder_id):
            return None
        row = await info.context.loaders.backorder.load(self.backorder_id)
        return None if row is None else Backorder.of(row)

    @strawberry.field
    async def transfer(self, info: strawberry.Info) -> Transfer | None:
        if self.transfer_id is None:
            return None
        row = await info.context.loaders.transfer.load(self.transfer_id)
        return None if row is None else Transfer.of(row)

    @strawberry.field
    async def reorder(self, info: strawberry.Info) -> Reorder | None:
        if self.reorder_id is None:
            return None
        row = await info.context.loaders.reorder.load(self.reorder_id)
        return None if row is None else Reorder.of(row)

    @classmethod
    def of(cls, row: AlertRow) -> Alert:
        return cls(
            id=global_id("Alert", row.id),
            kind=row.kind,
            severity=row.severity,
            message=row.message,
            region=row.region,
            raised_at=row.raised_at,
            closed_at=row.closed_at,
            site_id=row.site_id,
            item_id=row.item_id,
            backorder_id=row.backorder_id,
            transfer_id=row.transfer_id,
            reorder_id=row.reorder_id,
        )


def _cursor(row: AlertRow) -> str:
    return base64.urlsafe_b64encode(f"alert:{row.severity_rank}:{row.id}".encode()).decode()


def _after(cursor: str) -> tuple[int, int]:
    if len(cursor) <= 100:
        try:
            kind, rank, pk = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
            if kind == "alert" and 0 <= int(rank) <= 9 and 0 <= int(pk) <= MAX_KEY:
                return int(rank), int(pk)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            pass
    raise ValueError(f"Invalid cursor {cursor[:100]!r}.")


def open_alerts(
    session: Session, caller: Caller, region: str | None, site: str | None, first: int | None, after: str | None
) -> Connection[Alert]:
    size = DEFAULT_PAGE if first is None else first
    if not 0 <= size <= MAX_PAGE:
        raise ValueError(f"first must be between 0 and {MAX_PAGE}.")
    query = select(AlertRow).where(AlertRow.closed_at.is_(None), alerts_filter(session, caller, region, site))
    if after is not None:
        rank, pk = _after(after)
        query = query.where(or_(AlertRow.severity_rank < rank, and_(AlertRow.severity_rank == rank, AlertRow.id < pk)))
    rows: list[Any] = list(
        session.scalars(query.order_by(AlertRow.severity_rank.desc(), AlertRow.id.desc()).limit(size + 1))
    )
    page = rows[:size]
    edges = [Edge(cursor=_cursor(row), node=Alert.of(row)) for row in page]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > size,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


@strawberry.type
class AlertsQuery:
    @strawberry.field(
        description="Open alerts the caller may see, most severe first (newest first within a severity); of a "
        "region or a site when given (one outside the caller's scope is NOT_FOUND)."
    )
    async def alerts(
        self,
        info: strawberry.Info,
        region: str | None = None,
        site: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Alert]:
        return await read(info, lambda s, caller: open_alerts(s, caller, region, site, first, after))
