"""What one call may carry: free text (notes, reasons, references) the database can store, and how many records or
SKUs one call may name. Every entry point (the API, the CLI) asks these, so a limit is stated once."""

from __future__ import annotations

from collections.abc import Sized

from pooling.errors import ErrorCode, PoolingError

MAX_TEXT = 500  # a note or a reason (the columns are 500 characters long)
MAX_REFERENCE = 200  # an order's reference
MAX_IDS = 500  # records (or SKUs) one call may act on


def check_text(value: str | None, field: str, longest: int = MAX_TEXT) -> None:
    """Refuse free text longer than `longest` characters; `field` names it in the message too ("The reason ...")."""
    if value is not None and len(value) > longest:
        raise PoolingError(ErrorCode.INVALID, f"The {field} is longer than {longest} characters.", field)


def check_ids(ids: Sized, field: str, what: str = "ids") -> None:
    """Refuse a list naming more than MAX_IDS records (or SKUs, as `what` says), before anything is looked up."""
    if len(ids) > MAX_IDS:
        raise PoolingError(ErrorCode.INVALID, f"At most {MAX_IDS} {what} per call.", field)


def storable(text: str) -> bool:
    """Text the database can store: no NUL character (PostgreSQL refuses it in text) and no unpaired surrogate
    (it is not UTF-8)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
