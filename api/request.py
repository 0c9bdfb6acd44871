"""A POST body read and checked into the one GraphQL operation it asks for."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import OperationDefinitionNode, OperationType, parse
from graphql.error import GraphQLSyntaxError

from api import body as request_body
from api.graphql.schema import MAX_TOKENS


class BadRequest(ValueError):
    """A body that asks for no single operation; the message is the client's."""


@dataclass(frozen=True)
class GraphQLRequest:
    """A JSON object with a query string, `variables` an object and `operationName` a string when sent."""

    body: dict[str, Any]
    operations: list[OperationDefinitionNode]  # none when the query does not parse (Strawberry says why)

    @classmethod
    def read(cls, raw: bytes) -> GraphQLRequest:
        """The request in `raw`, or BadRequest (or request_body.BadBody) saying what is wrong with it."""
        body = request_body.parse_json(raw)
        if not isinstance(body, dict):
            raise BadRequest("Batched operations are not supported: send one operation per request.")
        if not isinstance(body.get("query"), str) or not body["query"].strip():
            raise BadRequest("Send the operation as a string in `query`.")
        if not isinstance(body.get("variables") or {}, dict) or not isinstance(body.get("operationName") or "", str):
            raise BadRequest("`variables` must be an object and `operationName` a string.")
        return cls(body, list(_operations(body["query"])))

    @property
    def operation_name(self) -> str | None:
        name: str | None = self.body.get("operationName")
        return name

    @property
    def is_ambiguous(self) -> bool:
        """Several operations and none named: Strawberry would run the first one alone."""
        return len(self.operations) > 1 and self.operation_name is None

    @property
    def is_mutation(self) -> bool:
        for definition in self.operations:
            if self.operation_name is None or (
                definition.name is not None and definition.name.value == self.operation_name
            ):
                return definition.operation == OperationType.MUTATION
        return False


@lru_cache(maxsize=256)  # clients send the same few documents (Strawberry caches its own parse likewise)
def _operations(query: str) -> tuple[OperationDefinitionNode, ...]:
    """The document's operations, read no further than the token limit; none if it does not parse."""
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLSyntaxError:
        return ()
    return tuple(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
