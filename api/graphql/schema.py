"""The schema: the root Query and Mutation composed from the per-domain classes, with the query limits."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.tools import merge_types

from api.graphql.access import AccessMutation, AccessQuery
from api.graphql.network import NetworkMutation, NetworkQuery
from api.graphql.orders import OrdersMutation, OrdersQuery
from api.graphql.planning import PlanningMutation, PlanningQuery
from api.graphql.runner import should_mask
from api.graphql.stock import StockMutation, StockQuery
from api.graphql.types import ApiToken, Backorder, Item, Plan, Reorder, Site, StockLevel, Transfer

MAX_DEPTH = 12
MAX_ALIASES = 50
MAX_TOKENS = 4000

Query = merge_types("Query", (AccessQuery, NetworkQuery, StockQuery, OrdersQuery, PlanningQuery))
Mutation = merge_types("Mutation", (NetworkMutation, AccessMutation, StockMutation, OrdersMutation, PlanningMutation))

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    types=[Site, Item, StockLevel, Backorder, Transfer, Reorder, Plan, ApiToken],
    extensions=[
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: MaskErrors(should_mask_error=should_mask),
    ],
)


def sdl() -> str:
    return schema.as_str() + "\n"
