"""How resolvers reach the domain: reads on the request's session, mutations as one savepoint each.

A mutation's expected failure (a `PoolingError`) rolls its savepoint back and comes back as `errors` data;
anything else is a bug: rolled back, logged, and answered as "Unexpected error." without internals.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

import strawberry
from graphql import GraphQLError
from sqlalchemy.orm import Session
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from api import outage
from api.auth import Caller
from api.context import Context
from api.graphql.base import UserError, said
from pooling.errors import PoolingError

log = logging.getLogger("stockpool.api")
R = TypeVar("R")


class QueryError(GraphQLError):
    """A query argument that cannot be answered (a bad cursor, a page too large, an unknown name)."""

    def __init__(self, message: str, code: str = "INVALID") -> None:
        super().__init__(message, extensions={"code": code})


class Payload(Protocol):
    errors: list[UserError]


P = TypeVar("P", bound=Payload)


def context(info: strawberry.Info) -> Context:
    return info.context  # type: ignore[no-any-return]


def caller(info: strawberry.Info) -> Caller:
    found = context(info).caller
    if found is None:  # the HTTP layer refuses requests without a valid token; this is a second lock
        raise QueryError("Authentication required.", "UNAUTHENTICATED")
    return found


async def read(info: strawberry.Info, work: Callable[[Session, Caller], R]) -> R:
    """Run a read on the request's session; a domain error becomes a GraphQL error with its code."""
    who = caller(info)

    def attempt(session: Session) -> R:
        try:
            return work(session, who)
        except PoolingError as error:
            raise QueryError(said(error), error.code.value) from None
        except ValueError as error:
            raise QueryError(str(error)) from None

    return await context(info).run(attempt)


async def mutate(info: strawberry.Info, payload: type[P], work: Callable[[Session, Caller], P]) -> P:
    """Run one mutation in its own savepoint; typed failures come back as the payload's `errors`."""
    who = caller(info)

    def attempt(session: Session) -> P:
        try:
            with session.begin_nested():
                return work(session, who)
        except PoolingError as error:
            return payload(errors=[UserError.of(error)])  # type: ignore[call-arg]

    return await context(info).run(attempt)


def unexpected(error: GraphQLError) -> bool:
    """An exception that is a bug or a fault, not a typed refusal (QueryError, PoolingError) nor a validation error."""
    original = error.original_error
    # A GraphQLError as the original is graphql-core refusing a variable's value (a wrong type, an Int out of
    # 32 bits, a DateTime or Decimal that does not parse, a non-finite Float): written for the client.
    return original is not None and not isinstance(original, (QueryError, PoolingError, GraphQLError))


def should_mask(error: GraphQLError) -> bool:
    """Hide the message of unexpected exceptions only; validation and domain errors speak for themselves."""
    return unexpected(error)


def log_errors(errors: list[GraphQLError]) -> None:
    """ERROR with its traceback for a bug; one INFO line for a client's mistake (a syntax error, an unknown field,
    a value out of range, a refused input); nothing for a database outage (the HTTP layer reports it, rate-limited).
    """
    for error in errors:
        if outage.is_outage(error):
            continue
        if unexpected(error):
            log.error("unexpected error in %s", error.path, exc_info=error.original_error)
        else:
            log.info("refused: %s", error.message[:300])


class Schema(strawberry.Schema):
    """Strawberry's schema, logging errors by kind (Strawberry logs every error, the client's too, at ERROR)."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        log_errors(errors)


class RollBackOnUnexpectedError(SchemaExtension):
    """A request whose execution hit an unexpected error commits nothing: neither its changes (a mutation's
    savepoint only covers the mutation itself) nor its Idempotency-Key, so the client's retry runs afresh.
    A database outage met outside `Context.run` is remembered like one met inside it (the request answers 503)."""

    def on_execute(self) -> Iterator[None]:
        yield
        errors = getattr(self.execution_context.result, "errors", None) or []
        request = self.execution_context.context
        if not isinstance(request, Context):
            return
        if any(unexpected(error) for error in errors):
            request.failed = True
        for error in errors:
            if request.outage is None and outage.is_outage(error):
                request.outage = error
