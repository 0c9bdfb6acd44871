"""Text the database can store (`pooling.limits.storable`): a request that carries any other string, in a variable
or a literal, is refused as a whole before any resolver runs, on every database alike, like any other value of the
wrong type."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult, GraphQLError, StringValueNode, Visitor, visit
from strawberry.extensions import SchemaExtension

from pooling.limits import storable

MESSAGE = "Text cannot contain NUL (\\u0000) characters or unpaired surrogates."


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


class _Literals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        self.found.append(node.value)


class RefuseUnstorableText(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        request = self.execution_context
        literals = _Literals()
        if request.graphql_document is not None:
            visit(request.graphql_document, literals)
        texts = [*_strings(request.variables or {}), *literals.found]
        if request.result is None and not all(storable(text) for text in texts):
            request.result = ExecutionResult(data=None, errors=[GraphQLError(MESSAGE, extensions={"code": "INVALID"})])
        yield
