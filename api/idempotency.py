"""`Idempotency-Key`: the first answer to a mutation request is stored with the key, per caller, in the same
transaction as the change; a retry gets that answer back unchanged, and nothing is applied twice."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import IdempotencyKey

MAX_KEY_LENGTH = 200


class KeyReused(Exception):
    """The same key came with a different request."""


def fingerprint(body: dict[str, Any]) -> str:
    """What makes two requests the same: the operation text, its name and its variables."""
    canonical = json.dumps(
        [body.get("query"), body.get("operationName"), body.get("variables")], sort_keys=True, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(session: Session, token_id: int, key: str, request_hash: str) -> str | None:
    """The stored answer for this key, or None when it is new; holds the key until the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        # Two concurrent sends of one key: the second waits here for the first to commit, then replays it.
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"{token_id}:{key}"})
    row = session.scalar(select(IdempotencyKey).where(IdempotencyKey.token_id == token_id, IdempotencyKey.key == key))
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise KeyReused(key)
    return row.response


def store(session: Session, token_id: int, key: str, request_hash: str, response: str) -> None:
    session.add(IdempotencyKey(token_id=token_id, key=key, request_hash=request_hash, response=response))
    session.flush()
