"""Depth and alias limits, checked while the document is validated, before any resolver runs; and the length of
number literals, checked once the document is parsed.

Fragments count as written out in full: a fragment spread ten times counts its aliases ten times. Strawberry's
`QueryDepthLimiter` and `MaxAliasesLimiter` count the same way but walk a fragment again at every spread, so a
fragment spreading another many times over (the "billion laughs" shape) costs them exponential time; here each
fragment is measured once and its measure reused, so the check is linear in the size of the document.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from graphql.language.visitor import SKIP, Visitor, VisitorAction, visit
from strawberry.extensions import SchemaExtension

MAX_NUMBER_LENGTH = 100


class RefuseLongNumbers(SchemaExtension):
    """A number literal longer than any value a field takes is refused before validation: graphql-core would
    convert it with `int()`, which Python refuses beyond 4,300 digits (an exception that is no client's message)."""

    def on_parse(self) -> Iterator[None]:
        yield
        document = self.execution_context.graphql_document
        if document is not None and id(document) not in _CHECKED:  # the same cached document: checked once
            visit(document, _LongNumbers())
            if len(_CHECKED) >= 512:
                _CHECKED.clear()
            _CHECKED[id(document)] = document  # kept alive, so its id is not reused while it is in here


_CHECKED: dict[int, DocumentNode] = {}


class _LongNumbers(Visitor):
    def enter_int_value(self, node: IntValueNode, *_: Any) -> None:
        self.check(node)

    def enter_float_value(self, node: FloatValueNode, *_: Any) -> None:
        self.check(node)

    @staticmethod
    def check(node: IntValueNode | FloatValueNode) -> None:
        if len(node.value) > MAX_NUMBER_LENGTH:
            raise GraphQLError(
                f"Number literals are limited to {MAX_NUMBER_LENGTH} characters.", node, extensions={"code": "INVALID"}
            )


def query_limits(max_depth: int, max_aliases: int) -> type[ValidationRule]:
    """A validation rule refusing an operation deeper than `max_depth` or with more than `max_aliases` aliases.

    Depth counts the fields that have a selection set, as Strawberry does; introspection fields (`__schema`,
    `__type`) are left out of the depth, so GraphiQL's introspection query passes.
    """

    class QueryLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.fragments = {
                d.name.value: d for d in context.document.definitions if isinstance(d, FragmentDefinitionNode)
            }
            self.measured: dict[str, tuple[int, int]] = {}
            self.measuring: set[str] = set()

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> VisitorAction:
            # Deep fragment chains are aborted by graphql-core (as "Validation aborted.") before or while this runs.
            depth, aliases = self.measure(node.selection_set)
            name = node.name.value if node.name else "anonymous"
            if depth > max_depth:
                self.report_error(GraphQLError(f"'{name}' exceeds maximum operation depth of {max_depth}", node))
            if aliases > max_aliases:
                self.report_error(GraphQLError(f"{aliases} aliases found. Allowed: {max_aliases}", node))
            return SKIP

        def measure(self, selection_set: SelectionSetNode | None) -> tuple[int, int]:
            """(depth, aliases) of a selection set, fragments expanded."""
            depth = aliases = 0
            for selection in selection_set.selections if selection_set is not None else ():
                if isinstance(selection, FieldNode):
                    inner_depth, inner_aliases = self.measure(selection.selection_set)
                    aliases += inner_aliases + (selection.alias is not None)
                    if selection.selection_set is not None and not selection.name.value.startswith("__"):
                        depth = max(depth, 1 + inner_depth)
                else:
                    if isinstance(selection, InlineFragmentNode):
                        inner_depth, inner_aliases = self.measure(selection.selection_set)
                    elif isinstance(selection, FragmentSpreadNode):
                        inner_depth, inner_aliases = self.fragment(selection.name.value)
                    else:  # pragma: no cover - the three kinds of selection
                        continue
                    aliases += inner_aliases
                    depth = max(depth, inner_depth)
            return depth, aliases

        def fragment(self, name: str) -> tuple[int, int]:
            if name in self.measured:
                return self.measured[name]
            definition = self.fragments.get(name)
            if definition is None or name in self.measuring:
                return 0, 0  # an unknown fragment or a cycle: graphql-core's own rules refuse the document
            self.measuring.add(name)
            self.measured[name] = self.measure(definition.selection_set)
            self.measuring.discard(name)
            return self.measured[name]

    return QueryLimits
