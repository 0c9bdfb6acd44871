"""Depth and alias limits, checked while the document is validated, before any resolver runs.

Fragments count as written out in full: a fragment spread ten times counts its aliases ten times. Strawberry's
`QueryDepthLimiter` and `MaxAliasesLimiter` count the same way but walk a fragment again at every spread, so a
fragment spreading another many times over (the "billion laughs" shape) costs them exponential time; here each
fragment is measured once and its measure reused, so the check is linear in the size of the document.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from graphql.language.visitor import SKIP, VisitorAction


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
