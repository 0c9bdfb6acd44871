"""Money: amounts in the currency unit as `Decimal` with 2 places; the solver works in integer cents.

The one place where amounts are converted and written out (reports, tables, JSON).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, cast, func

CENT = Decimal("0.01")


def cents(amount: Decimal) -> int:
    """An amount in whole cents (the solver's integer costs)."""
    return int((amount * 100).to_integral_value())


def cents_in_sql(amount: Any) -> Any:
    """`cents` of a money column in a query, exact on PostgreSQL (numeric) and SQLite (which stores a float)."""
    return cast(func.round(amount * 100), BigInteger)


def from_cents(amount_cents: int) -> Decimal:
    """Cents back to an amount in the currency unit, 2 places."""
    return (Decimal(amount_cents) / 100).quantize(CENT)


def text(amount: Decimal) -> str:
    """An amount as people and JSON documents read it: `12.30`."""
    return f"{amount:.2f}"
