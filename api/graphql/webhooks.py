"""Webhooks: `createWebhook` (the secret shown once), `setWebhookActive`, `deleteWebhook`, `webhooks`, and each
hook's `deliveries` (through `node(id)`). Who may manage a hook: `api.graphql.scope.may_manage_webhook`."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Caller
from api.graphql.base import Connection, Node, UserError, global_id, paginate, pk_of
from api.graphql.events import EventKindEnum, event_id
from api.graphql.runner import mutate, read
from api.graphql.scope import may_manage_webhook, require_coordinator, site_in_scope
from models import Role
from models import Webhook as WebhookRow
from models import WebhookDelivery as DeliveryRow
from pooling import webhooks
from pooling.errors import ErrorCode, PoolingError


@strawberry.type(description="One event sent (or being sent) to one webhook.")
class WebhookDelivery:
    event_id: strawberry.ID
    event_kind: EventKindEnum
    status: str = strawberry.field(description="PENDING, DELIVERED or FAILED (retries ran out).")
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: DeliveryRow) -> WebhookDelivery:
        return cls(
            event_id=event_id(row.event_id),
            event_kind=row.event_kind,
            status=row.status,
            attempts=row.attempts,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            next_attempt_at=row.next_attempt_at,
            delivered_at=row.delivered_at,
            created_at=row.created_at,
        )


@strawberry.type(description="A URL that receives signed events (Standard Webhooks).")
class Webhook(Node):
    id: strawberry.ID
    url: str
    kinds: list[EventKindEnum]
    active: bool
    disabled_reason: str | None
    region: str | None
    created_at: datetime
    pk: strawberry.Private[int]

    @strawberry.field(description="Newest first.")
    async def deliveries(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[WebhookDelivery]:
        query = select(DeliveryRow).where(DeliveryRow.webhook_id == self.pk)
        return await read(
            info,
            lambda s, _: paginate(s, query, DeliveryRow.id, first, after, WebhookDelivery.of, descending=True),
        )

    @classmethod
    def of(cls, row: WebhookRow) -> Webhook:
        return cls(
            id=global_id("Webhook", row.id),
            url=row.url,
            kinds=list(row.kinds),  # type: ignore[arg-type]
            active=row.active,
            disabled_reason=row.disabled_reason,
            region=row.region,
            created_at=row.created_at,
            pk=row.id,
        )


def webhook_node(session: Session, caller: Caller, pk: int) -> Webhook | None:
    """`node(id)` for a webhook its caller may manage."""
    row = session.get(WebhookRow, pk)
    return Webhook.of(row) if row is not None and may_manage_webhook(caller, row.site_id, row.region) else None


def _hook_in_scope(session: Session, caller: Caller, value: str) -> WebhookRow:
    row = session.get(WebhookRow, pk_of(value, "Webhook"))
    if row is None or not may_manage_webhook(caller, row.site_id, row.region):
        raise PoolingError(ErrorCode.NOT_FOUND, f"No webhook with id {value!r}.", "id")
    return row


@strawberry.input
class CreateWebhookInput:
    url: str
    kinds: list[EventKindEnum]
    region: str | None = strawberry.field(default=None, description="A region's events (its coordinator or ADMIN).")
    site: str | None = strawberry.field(default=None, description="A site's events (the site itself or above).")


@strawberry.type
class CreateWebhookPayload:
    secret: str | None = strawberry.field(
        default=None, description="whsec_<base64>: signs every delivery. Shown this once."
    )
    webhook: Webhook | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class SetWebhookActiveInput:
    id: strawberry.ID
    active: bool


@strawberry.input
class DeleteWebhookInput:
    id: strawberry.ID


@strawberry.type
class WebhookPayload:
    webhook: Webhook | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _owner(session: Session, caller: Caller, region: str | None, site: str | None) -> tuple[int | None, str | None]:
    """(site id, region) the new hook reads for: as asked, within the caller's scope; by default the caller's."""
    if site is not None:
        row = site_in_scope(session, caller, site)
        return row.id, row.region
    if region is not None:
        require_coordinator(caller, region)
        return None, region
    if caller.role == Role.SITE:
        return caller.site_id, caller.region
    return None, caller.region if caller.role == Role.COORDINATOR else None


@strawberry.type
class WebhooksQuery:
    @strawberry.field(description="The webhooks the caller may manage.")
    async def webhooks(self, info: strawberry.Info) -> list[Webhook]:
        def work(session: Session, caller: Caller) -> list[Webhook]:
            rows = session.scalars(select(WebhookRow).order_by(WebhookRow.id))
            return [Webhook.of(r) for r in rows if may_manage_webhook(caller, r.site_id, r.region)]

        return await read(info, work)


@strawberry.type
class WebhooksMutation:
    @strawberry.mutation(description="Register a URL for event kinds; the secret is in the answer, this once.")
    async def create_webhook(self, info: strawberry.Info, input: CreateWebhookInput) -> CreateWebhookPayload:
        def work(session: Session, caller: Caller) -> CreateWebhookPayload:
            site_id, region = _owner(session, caller, input.region, input.site)
            row, secret = webhooks.create_webhook(session, input.url, input.kinds, region, site_id, caller.name)
            return CreateWebhookPayload(secret=secret, webhook=Webhook.of(row))

        return await mutate(info, CreateWebhookPayload, work)

    @strawberry.mutation(description="Disable a webhook (nothing is sent) or enable it (it resumes where it stopped).")
    async def set_webhook_active(self, info: strawberry.Info, input: SetWebhookActiveInput) -> WebhookPayload:
        def work(session: Session, caller: Caller) -> WebhookPayload:
            row = webhooks.set_active(session, _hook_in_scope(session, caller, input.id), input.active)
            return WebhookPayload(webhook=Webhook.of(row))

        return await mutate(info, WebhookPayload, work)

    @strawberry.mutation(description="Delete a webhook and its deliveries.")
    async def delete_webhook(self, info: strawberry.Info, input: DeleteWebhookInput) -> WebhookPayload:
        def work(session: Session, caller: Caller) -> WebhookPayload:
            row = _hook_in_scope(session, caller, input.id)
            gone = Webhook.of(row)
            webhooks.delete_webhook(session, row)
            return WebhookPayload(webhook=gone)

        return await mutate(info, WebhookPayload, work)
