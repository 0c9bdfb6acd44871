"""Text the database can store (`pooling.limits.storable`): a request that carries any other string, in a variable
or a literal, is refused as a whole before any resolver runs, on every database alike, like any other value of the
wrong type."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, ExecutionResult, GraphQLError, StringValueNode, Visitor, visit
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


def _literals(document: DocumentNode) -> list[str]:
    """The document's string literals; remembered per document (Strawberry's ParserCache hands out the same
    document object for the same text, so a client's usual documents are visited once)."""
    known = _LITERALS.get(id(document))
    if known is not None and known[0] is document:
        return known[1]
    literals = _Literals()
    visit(document, literals)
    if len(_LITERALS) >= 512:
        _LITERALS.clear()
    _LITERALS[id(document)] = (document, literals.found)
    return literals.found


_LITERALS: dict[int, tuple[DocumentNode, list[str]]] = {}


class RefuseUnstorableText(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        request = self.execution_context
        found = [] if request.graphql_document is None else _literals(request.graphql_document)
        texts = [*_strings(request.variables or {}), *found]
        if request.result is None and not all(storable(text) for text in texts):
            request.result = ExecutionResult(data=None, errors=[GraphQLError(MESSAGE, extensions={"code": "INVALID"})])
        yield
