"""Webhooks: register a URL for event kinds (the secret is shown once), disable, enable or delete one.

A target on a private, loopback or link-local address is refused unless `STOCKPOOL_WEBHOOK_ALLOW_PRIVATE` is set
(the delivery worker checks every address a name resolves to again, at each attempt)."""

from __future__ import annotations

import base64
import ipaddress
import os
import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from models import AlertKind, EventKind, Webhook, utcnow
from pooling import alerts
from pooling.errors import ErrorCode, PoolingError

MAX_URL = 2000
SECRET_PREFIX = "whsec_"


def private_allowed() -> bool:
    return os.environ.get("STOCKPOOL_WEBHOOK_ALLOW_PRIVATE", "").strip().lower() in ("1", "true", "yes", "on")


def is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not ip.is_global or ip.is_multicast


def check_url(url: str) -> str:
    """An http(s) URL with a host, at most MAX_URL characters, not on a private address (unless allowed)."""
    if len(url) > MAX_URL:
        raise PoolingError(ErrorCode.INVALID, f"The URL is longer than {MAX_URL} characters.", "url")
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018  (a port that does not parse raises here)
    except ValueError:
        raise PoolingError(ErrorCode.INVALID, "The URL does not parse.", "url") from None
    if parts.scheme not in ("http", "https") or not host:
        raise PoolingError(ErrorCode.INVALID, "The URL must be http:// or https:// with a host.", "url")
    if parts.username or parts.password:
        raise PoolingError(ErrorCode.INVALID, "The URL must not carry a user name or password.", "url")
    if not private_allowed():
        literal = host.strip("[]")
        try:
            private = is_private(literal)
        except ValueError:
            private = literal == "localhost" or literal.endswith((".localhost", ".local", ".internal"))
        if private:
            raise PoolingError(ErrorCode.FORBIDDEN, "The URL points to a private or loopback address.", "url")
    return url.strip()


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def create_webhook(
    session: Session,
    url: str,
    kinds: Sequence[EventKind],
    region: str | None,
    site_id: int | None,
    created_by: str,
) -> tuple[Webhook, str]:
    """The new hook and its secret (shown once). Its deliveries begin with the events after it was created."""
    from pooling.events import last_id

    clean = check_url(url)
    if not kinds:
        raise PoolingError(ErrorCode.INVALID, "Name at least one event kind.", "kinds")
    if len(set(kinds)) > len(EventKind):
        raise PoolingError(ErrorCode.INVALID, "Too many kinds.", "kinds")
    secret = new_secret()
    hook = Webhook(
        url=clean,
        kinds=sorted({EventKind(kind).value for kind in kinds}),
        region=region,
        site_id=site_id,
        secret=secret,
        active=True,
        created_by=str(created_by)[:200],
        created_at=utcnow(),
        last_event_id=last_id(session),
    )
    session.add(hook)
    session.flush()
    return hook, secret


def set_active(session: Session, hook: Webhook, active: bool, reason: str | None = None) -> Webhook:
    """Disable a hook (its deliveries wait) or enable it again: it resumes where it stopped, nothing skipped
    (within the events' retention window)."""
    hook.disabled_reason = None if active else (reason or "disabled")[:500]
    hook.active = active
    if active:
        alerts.close_alert(session, AlertKind.WEBHOOK_DISABLED, alert_subject(hook))
    return hook


def alert_subject(hook: Webhook) -> str:
    """What a WEBHOOK_DISABLED alert is about."""
    return f"webhook:{hook.id}"


def delete_webhook(session: Session, hook: Webhook) -> None:
    session.delete(hook)
