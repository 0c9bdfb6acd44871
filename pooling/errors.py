"""Typed failures of the operations: a code, the input field it concerns, and a sentence a person understands.

An operation raises one of these before it commits, so the caller's transaction rolls back and nothing changes.
"""

from __future__ import annotations

import enum


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


class PoolingError(Exception):
    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"PoolingError({self.code.value}, {self.message!r}, field={self.field!r})"


def not_found(what: str, key: object, field: str) -> PoolingError:
    return PoolingError(ErrorCode.NOT_FOUND, f"No {what} {key!s}.", field)
