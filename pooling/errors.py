"""Typed failures of the operations: a code, the input field it concerns, and a sentence a person understands.

An operation raises one of these before it commits, so the caller's transaction rolls back and nothing changes.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class ErrorCode(enum.StrEnum):
    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    INVALID_STATE = "INVALID_STATE"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    STALE_SUGGESTION = "STALE_SUGGESTION"
    LANE_CAPACITY_EXCEEDED = "LANE_CAPACITY_EXCEEDED"
    DUPLICATE = "DUPLICATE"
    FORBIDDEN = "FORBIDDEN"
    SOLVER_FAILED = "SOLVER_FAILED"


@dataclass(frozen=True)
class Ref:
    """A record named in a message, by kind (its model's name) and primary key. The shell that speaks to the user
    names it as that user knows it (the API by its opaque id); said plainly, it is its number."""

    kind: str
    id: int

    @classmethod
    def of(cls, row: Any) -> Ref:
        return cls(type(row).__name__, row.id)

    def __str__(self) -> str:
        return str(self.id)


@dataclass(frozen=True)
class Field:
    """An input field named in a message, by its domain name (snake_case). The shell that speaks to the user names
    it as that user knows it (the API in camelCase); said plainly, it is its domain name."""

    name: str

    def __str__(self) -> str:
        return self.name


class PoolingError(Exception):
    """`message` is said as written; with `values` it is a `str.format` template that they fill, a `Ref` or a
    `Field` among them named by whoever says it (`say`). The template is fixed text: what varies goes in `values`.
    `field`, the input field the error concerns, is a domain name too: each shell maps it to its own."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None, **values: object) -> None:
        self.code = code
        self.template = message
        self.field = field
        self.values = values
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return self.say(str)

    def say(self, name: Callable[[Ref], str], field: Callable[[str], str] = str) -> str:
        """The message, each record in it named by `name` and each input field by `field`."""
        if not self.values:
            return self.template
        return self.template.format(**{k: self._said(v, name, field) for k, v in self.values.items()})

    @staticmethod
    def _said(value: object, name: Callable[[Ref], str], field: Callable[[str], str]) -> object:
        if isinstance(value, Ref):
            return name(value)
        return field(value.name) if isinstance(value, Field) else value

    def __repr__(self) -> str:
        return f"PoolingError({self.code.value}, {self.message!r}, field={self.field!r})"


def not_found(what: str, key: object, field: str) -> PoolingError:
    return PoolingError(ErrorCode.NOT_FOUND, "No {what} {key}.", field, what=what, key=key)


def expect_status(record: Any, status: enum.StrEnum, doing: str, field: str) -> None:
    """INVALID_STATE unless the record (a transfer, a reorder) is in `status`: "Transfer 7 is shipped; only an
    approved transfer can be cancelled." """
    if record.status != status:
        kind = type(record).__name__
        raise PoolingError(
            ErrorCode.INVALID_STATE,
            "{kind} {record} is {now}; only {wanted} {what} can be {doing}.",
            field,
            kind=kind,
            record=Ref.of(record),
            now=record.status.lower(),
            wanted=indefinite(status.lower()),
            what=kind.lower(),
            doing=doing,
        )


def indefinite(word: str) -> str:
    """`word` with its indefinite article: "an approved", "a shipped"."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"
