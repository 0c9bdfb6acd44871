"""Shared GraphQL building blocks: opaque ids, the Node interface, Relay connections, typed user errors."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from sqlalchemy import Select
from sqlalchemy.orm import Session
from strawberry.utils.str_converters import to_camel_case

from models import (
    BackorderStatus,
    DemandClass,
    LineReason,
    MovementReason,
    PlanMode,
    PlanStatus,
    PolicyMode,
    Priority,
    ReorderStatus,
    Role,
    ShareRule,
    TransferStatus,
    UnmetReason,
)
from pooling.errors import ErrorCode, PoolingError

T = TypeVar("T")
DEFAULT_PAGE = 50
MAX_PAGE = 500
MAX_KEY = 2**31 - 1  # the largest key of every database (PostgreSQL's INTEGER): ids and cursors beyond it are refused

# The domain's vocabularies are the API's enums, one definition each; declared through Annotated (Strawberry's
# advice for mypy) so that a field typed with one is, to mypy, the domain's enum itself.
PriorityEnum = Annotated[Priority, strawberry.enum(name="Priority")]
MovementReasonEnum = Annotated[MovementReason, strawberry.enum(name="MovementReason")]
BackorderStatusEnum = Annotated[BackorderStatus, strawberry.enum(name="BackorderStatus")]
PlanModeEnum = Annotated[PlanMode, strawberry.enum(name="PlanMode")]
PlanStatusEnum = Annotated[PlanStatus, strawberry.enum(name="PlanStatus")]
TransferStatusEnum = Annotated[TransferStatus, strawberry.enum(name="TransferStatus")]
ReorderStatusEnum = Annotated[ReorderStatus, strawberry.enum(name="ReorderStatus")]
RoleEnum = Annotated[Role, strawberry.enum(name="Role")]
PolicyModeEnum = Annotated[PolicyMode, strawberry.enum(name="PolicyMode")]
DemandClassEnum = Annotated[DemandClass, strawberry.enum(name="DemandClass")]
LineReasonEnum = Annotated[LineReason, strawberry.enum(name="LineReason")]
UnmetReasonEnum = Annotated[UnmetReason, strawberry.enum(name="UnmetReason")]
ShareRuleEnum = Annotated[ShareRule, strawberry.enum(name="ShareRule")]


DRY_RUN = "DryRun"  # the kind of a dry run's records begins so: they are numbered in the plan, not saved


def global_id(kind: str, pk: int) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{kind}:{pk}".encode()).decode())


def parse_global_id(value: str) -> tuple[str, int] | None:
    """(kind, primary key) of an opaque id, or None when it is not one of ours."""
    if not isinstance(value, str) or len(value) > 100:
        return None
    try:
        kind, _, pk = base64.urlsafe_b64decode(value.encode()).decode().partition(":")
        number = int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return (kind, number) if kind.isalpha() and 0 < number <= MAX_KEY else None


def api_field(name: str) -> str:
    """The API's name for a domain field: the domain's snake_case in camelCase, as the schema spells it (every
    input field is named as the domain names it, so no name needs a table of its own)."""
    return to_camel_case(name)


def said(error: PoolingError) -> str:
    """A domain error's message as a client reads it: the records it names by their opaque ids, its fields by the
    API's names."""
    return error.say(lambda record: global_id(record.kind, record.id), api_field)


def pk_of(value: str, kind: str, field: str = "id") -> int:
    """The primary key behind an opaque id of the expected kind, or a NOT_FOUND error on the field."""
    parsed = parse_global_id(value)
    if parsed is not None and parsed[0] == DRY_RUN + kind:
        raise PoolingError(
            ErrorCode.NOT_FOUND,
            f"{value!r} is a {kind.lower()} of a dry run, and dry-run plans are not saved: rebalance with "
            f"dryRun: false for {kind.lower()}s that can be approved.",
            field,
        )
    if parsed is None or parsed[0] != kind:
        raise PoolingError(ErrorCode.NOT_FOUND, f"No {kind.lower()} with id {value!r}.", field)
    return parsed[1]


@strawberry.interface(description="An object with an opaque, globally unique id (Relay).")
class Node:
    id: strawberry.ID


@strawberry.type(description="An expected failure: the input field it concerns, a code and a readable message.")
class UserError:
    field: str | None
    code: str
    message: str

    @classmethod
    def of(cls, error: PoolingError) -> UserError:
        field = None if error.field is None else api_field(error.field)
        return cls(field=field, code=error.code.value, message=said(error))


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


def _cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"cursor:{pk}".encode()).decode()


def _after(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if len(cursor) <= 100:
        try:
            kind, _, pk = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
            if kind == "cursor" and 0 <= int(pk) <= MAX_KEY:
                return int(pk)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            pass
    raise ValueError(f"Invalid cursor {cursor[:100]!r}.")


def paginate(
    session: Session,
    query: Select[Any],
    key: Any,
    first: int | None,
    after: str | None,
    to_node: Callable[[Any], T] | None = None,
    descending: bool = False,
    *,
    to_nodes: Callable[[Sequence[Any]], list[T]] | None = None,
) -> Connection[T]:
    """Keyset pagination on an integer key (`id`), `first` at most MAX_PAGE. Nodes are made one row at a time
    (`to_node`) or for the whole page at once (`to_nodes`, the fast path: see api.graphql.preload)."""
    size = _page_size(first)
    start = _after(after)
    if after is not None:
        query = query.where(key < start if descending else key > start)
    rows: Sequence[Any] = session.scalars(query.order_by(key.desc() if descending else key).limit(size + 1)).all()
    page = rows[:size]
    if to_nodes is not None:
        nodes = to_nodes(page)
    elif to_node is not None:
        nodes = [to_node(row) for row in page]
    else:
        raise TypeError("paginate needs to_node or to_nodes")
    edges = [Edge(cursor=_cursor(row.id), node=node) for row, node in zip(page, nodes, strict=True)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > size,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


def _page_size(first: int | None) -> int:
    size = DEFAULT_PAGE if first is None else first
    if not 0 <= size <= MAX_PAGE:
        raise ValueError(f"first must be between 0 and {MAX_PAGE}.")
    return size
