"""The schema: the root Query and Mutation composed from the per-domain classes, with the query limits."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.tools import merge_types

from api.graphql.access import AccessMutation, AccessQuery
from api.graphql.alerts import Alert, AlertsQuery
from api.graphql.events import EventsQuery, EventsSubscription
from api.graphql.forecasting import ForecastQuery
from api.graphql.limits import RefuseLongNumbers, query_limits
from api.graphql.network import NetworkMutation, NetworkQuery
from api.graphql.orders import OrdersMutation, OrdersQuery
from api.graphql.planning import PlanningMutation, PlanningQuery
from api.graphql.runner import RollBackOnUnexpectedError, Schema, should_mask
from api.graphql.sharing import SharingMutation, SharingQuery
from api.graphql.stock import StockMutation, StockQuery
from api.graphql.text import RefuseUnstorableText
from api.graphql.types import ApiToken, Backorder, Item, Plan, Reorder, Site, StockLevel, Transfer
from api.graphql.webhooks import Webhook, WebhooksMutation, WebhooksQuery

MAX_DEPTH = 12
MAX_ALIASES = 50
MAX_TOKENS = 4000

Query = merge_types(
    "Query",
    (
        AccessQuery,
        NetworkQuery,
        StockQuery,
        OrdersQuery,
        PlanningQuery,
        ForecastQuery,
        SharingQuery,
        AlertsQuery,
        EventsQuery,
        WebhooksQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        NetworkMutation,
        AccessMutation,
        StockMutation,
        OrdersMutation,
        PlanningMutation,
        SharingMutation,
        WebhooksMutation,
    ),
)

QueryLimits = query_limits(MAX_DEPTH, MAX_ALIASES)


def build_schema(introspection: bool = True) -> strawberry.Schema:
    """The schema; `introspection=False` (a production setting) refuses `__schema` and `__type` at validation."""
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        lambda: AddValidationRules([QueryLimits]),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        RefuseLongNumbers,
        lambda: MaskErrors(should_mask_error=should_mask),
        RollBackOnUnexpectedError,
        RefuseUnstorableText,
        # Clients send the same few documents over and over: parse and validate each once (bounded LRU caches of
        # 128 documents, keyed by the text and token limit, and by the document and the rules). Validating a small
        # mutation otherwise costs about as much CPU as everything else its request does.
        ParserCache,
        ValidationCache,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=EventsSubscription,
        types=[Site, Item, StockLevel, Backorder, Transfer, Reorder, Plan, ApiToken, Alert, Webhook],
        extensions=extensions,
    )


schema = build_schema()


def sdl() -> str:
    return schema.as_str() + "\n"
